package io.flotilla.coordinator;

import io.flotilla.agent.Cli;
import io.flotilla.agent.Fixtures;
import io.flotilla.testkit.PostgresCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real agent daemon process (the shipped launcher) connected to a coordinator. */
public final class Agents implements AutoCloseable {
  private final Path config;
  private final Path log;
  private Process process;

  private Agents(Path config, Path log) {
    this.config = config;
    this.log = log;
  }

  /** Writes an agent config for {@code pg} with a file repository and the coordinator block. */
  public static Path config(Path dir, PostgresCluster pg, Path repo, String coordinatorUrl, String extraYaml) throws IOException {
    Path config = Fixtures.config(dir, pg, repo.toUri().toString(), null);
    Files.writeString(dir.resolve("agent.token"), Members.AGENT + "\n");
    String yaml = Files.readString(config).replace("  bin: " + pg.bin() + "\n", "  bin: " + pg.bin() + "\n  data-directory: " + pg.dataDir() + "\n");
    Files.writeString(config, yaml
        + "coordinator:\n  url: " + coordinatorUrl + "\n  token-file: " + dir.resolve("agent.token") + "\n  heartbeat-seconds: 1\n"
        + extraYaml);
    return config;
  }

  private boolean asPostgres;

  public static Agents start(Path config) throws IOException {
    return start(config, false);
  }

  /** With {@code asPostgres}, the daemon runs as the server's OS user (when the tests run as root), as it does beside archive_command. */
  public static Agents start(Path config, boolean asPostgres) throws IOException {
    Path log = config.resolveSibling("agent.log");
    Agents a = new Agents(config, log);
    a.asPostgres = asPostgres;
    a.launch();
    return a;
  }

  public void launch() throws IOException {
    List<String> cmd = List.of(Cli.launcher().toString(), "agent", "--config", config.toString());
    ProcessBuilder pb = new ProcessBuilder(asPostgres ? io.flotilla.testkit.Processes.asPostgres(cmd) : cmd)
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    process = pb.start();
  }

  public boolean alive() {
    return process != null && process.isAlive();
  }

  /** The last lines of the agent's log and whether it still runs, for failure messages. */
  public String diagnosis() {
    try {
      List<String> lines = log().lines().toList();
      return "agent " + (alive() ? "running" : "exited with " + process.exitValue()) + "; last log lines:\n"
          + String.join("\n", lines.subList(Math.max(0, lines.size() - 25), lines.size()));
    } catch (IOException e) {
      return "agent log unreadable: " + e;
    }
  }

  public String log() throws IOException {
    return Files.exists(log) ? Files.readString(log) : "";
  }

  public void kill() throws InterruptedException {
    if (process != null && process.isAlive()) {
      // runuser passes SIGTERM on to the daemon it started.
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Override
  public void close() throws InterruptedException {
    kill();
  }
}
