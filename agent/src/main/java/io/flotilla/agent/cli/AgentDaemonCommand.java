package io.flotilla.agent.cli;

import io.flotilla.agent.wal.WalArchive;
import io.flotilla.agent.wal.WalArchiver;
import io.flotilla.repo.Repository;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "agent", description = {
    "The long-running agent daemon. For now it runs the WAL service: it pushes WAL files PostgreSQL has",
    "marked ready ahead of archive_command, several in parallel, so each wal-push call mostly just confirms."})
final class AgentDaemonCommand extends AgentCommand {
  @Option(names = "--wal-parallel", paramLabel = "N", defaultValue = "4", description = "WAL files pushed at once (default: ${DEFAULT-VALUE}).")
  int parallel;

  /** Tells the launcher's wal-push fast path that a daemon is pushing: it then waits for the daemon's marker. */
  static java.nio.file.Path pidFile(Session s) {
    return s.config.spoolDirectory().resolve("agent.pid");
  }

  private static Future<Void> writePid(Session s) {
    return s.vertx.executeBlocking(() -> {
      java.nio.file.Files.createDirectories(s.config.spoolDirectory());
      java.nio.file.Files.writeString(pidFile(s), ProcessHandle.current().pid() + "\n");
      return null;
    }, false);
  }

  @Override
  int execute(Session s) {
    Promise<Void> stopped = Promise.promise();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> s.context.runOnContext(v -> stopped.tryComplete())));
    s.await(() -> s.repository(null, true).compose((Repository r) -> {
      WalArchiver archiver = new WalArchiver(s.config, new WalArchive(s.vertx, s.config, r), parallel);
      return s.vertx.deployVerticle(archiver)
          .compose(id -> writePid(s).map(id))
          .compose(id -> {
            err().println("flotilla agent: host " + s.config.host() + ": WAL service running (Ctrl-C to stop)");
            return stopped.future().compose(v -> s.vertx.undeploy(id)).eventually(() -> s.vertx.executeBlocking(() ->
                java.nio.file.Files.deleteIfExists(pidFile(s)), false));
          })
          .eventually(r::close);
    }).map((Void) null).recover(Future::failedFuture));
    return 0;
  }
}
