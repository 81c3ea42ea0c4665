package io.flotilla.coordinator;

import io.flotilla.config.CoordinatorConfigLoader;
import io.flotilla.testkit.Processes;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Several real coordinator members (each its own clustered Vert.x and Hazelcast instance) on
 * loopback in the test JVM, configured through real YAML files, plus an HTTP client for their API.
 */
public final class Members implements AutoCloseable {
  public static final String VIEWER = "viewer-token-1";
  public static final String OPERATOR = "operator-token-1";
  public static final String ADMIN = "admin-token-1";
  public static final String AGENT = "agent-token-1";
  public static final Coordinator.Tuning FAST = new Coordinator.Tuning(Duration.ofMillis(250), Duration.ofMillis(500),
      Duration.ofSeconds(2));

  private final Path dir;
  private final int[] clusterPorts;
  private final int[] apiPorts;
  private final String extraYaml;
  private final Coordinator[] members;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public Members(Path dir, int count, String extraYaml) throws IOException {
    this.dir = dir;
    this.clusterPorts = new int[count];
    this.apiPorts = new int[count];
    this.extraYaml = extraYaml;
    this.members = new Coordinator[count];
    for (int i = 0; i < count; i++) {
      clusterPorts[i] = Processes.freePort();
      apiPorts[i] = Processes.freePort();
    }
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("viewer.token"), VIEWER + "\n");
    Files.writeString(dir.resolve("operator.token"), OPERATOR + "\n");
    Files.writeString(dir.resolve("admin.token"), ADMIN + "\n");
    Files.writeString(dir.resolve("agent.token"), AGENT + "\n");
  }

  public Path config(int i) throws IOException {
    StringBuilder members = new StringBuilder();
    for (int p : clusterPorts) {
      members.append(members.length() == 0 ? "" : ", ").append("\"127.0.0.1:").append(p).append('"');
    }
    String yaml = "cluster:\n"
        + "  member-name: member-" + i + "\n"
        + "  host: 127.0.0.1\n"
        + "  port: " + clusterPorts[i] + "\n"
        + "  members: [" + members + "]\n"
        + "  name: test-" + dir.getFileName() + "\n"
        + "  lease: 3s\n"
        + "api:\n"
        + "  host: 127.0.0.1\n"
        + "  port: " + apiPorts[i] + "\n"
        + "tokens:\n"
        + "  - {name: grafana, role: viewer, token-file: viewer.token}\n"
        + "  - {name: oncall, role: operator, token-file: operator.token}\n"
        + "  - {name: dba, role: admin, token-file: admin.token}\n"
        + "  - {name: agents, role: agent, token-file: agent.token, hosts: [\"db*\"]}\n"
        + extraYaml;
    Path file = dir.resolve("member-" + i + ".yaml");
    Files.writeString(file, yaml);
    return file;
  }

  public Coordinator start(int i) throws Exception {
    members[i] = Coordinator.start(CoordinatorConfigLoader.load(config(i)), FAST, null).await();
    return members[i];
  }

  public Coordinator member(int i) {
    return members[i];
  }

  public int apiPort(int i) {
    return apiPorts[i];
  }

  /** The WebSocket URL agents use for member {@code i}. */
  public String agentUrl(int i) {
    return "ws://127.0.0.1:" + apiPorts[i];
  }

  public int leaderIndex() {
    for (int i = 0; i < members.length; i++) {
      if (members[i] != null && members[i].isLeader()) {
        return i;
      }
    }
    return -1;
  }

  public void crash(int i) throws Exception {
    members[i].crash().await();
    members[i] = null;
  }

  public void stop(int i) throws Exception {
    if (members[i] != null) {
      members[i].stop().await();
      members[i] = null;
    }
  }

  public record Response(int status, String body) {
    public JsonObject json() {
      return new JsonObject(body);
    }

    public JsonArray array() {
      return new JsonArray(body);
    }
  }

  public Response get(int member, String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPorts[member] + path)).timeout(Duration.ofSeconds(10));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> r = http.send(b.GET().build(), HttpResponse.BodyHandlers.ofString());
    return new Response(r.statusCode(), r.body());
  }

  public Response send(int member, String method, String path, String token, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPorts[member] + path)).timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json");
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> r = http.send(b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    return new Response(r.statusCode(), r.body());
  }

  /** Polls {@code condition} every 200 ms until it holds or {@code timeout} passes. */
  /** A condition that may throw while it is not yet true (a member still starting, say). */
  @FunctionalInterface
  public interface Check {
    boolean holds() throws Exception;
  }

  public static void await(Duration timeout, String what, Check condition) throws InterruptedException {
    await(timeout, () -> what, condition);
  }

  /** Like {@link #await(Duration, String, Check)}, describing the wait (with diagnostics) only when it fails. */
  public static void await(Duration timeout, java.util.function.Supplier<String> what, Check condition) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      try {
        if (condition.holds()) {
          return;
        }
      } catch (Exception e) {
        // not yet
      }
      Thread.sleep(200);
    }
    throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for: " + what.get());
  }

  @Override
  public void close() {
    List<Throwable> errors = new ArrayList<>();
    for (int i = 0; i < members.length; i++) {
      try {
        stop(i);
      } catch (Throwable t) {
        errors.add(t);
      }
    }
  }
}
