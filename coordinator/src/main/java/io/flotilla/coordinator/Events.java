package io.flotilla.coordinator;

import io.vertx.core.json.JsonObject;

/** Where the coordinator announces what a person should hear about (notifications). */
@FunctionalInterface
public interface Events {
  /**
   * @param event job-failed, rpo-missed, rto-missed or recovered
   * @param host the host concerned
   * @param jobId the job (job-failed only)
   * @param policy the policy (when known)
   * @param message one human line
   * @param details structured facts
   */
  void publish(String event, String host, String jobId, String policy, String message, JsonObject details);
}
