package io.flotilla.config;

import java.net.URI;
import java.nio.file.Path;

/**
 * How the agent daemon reaches the coordinator.
 *
 * @param urls WebSocket URLs of coordinator members ({@code ws://host:port}); the agent connects to one
 *     and moves to the next when it cannot
 * @param tokenFile file holding the agent's API token (never logged)
 * @param heartbeatSeconds seconds between heartbeats
 */
public record AgentCoordinatorConfig(java.util.List<URI> urls, Path tokenFile, int heartbeatSeconds) {
  public URI url() {
    return urls.get(0);
  }
}
