package io.flotilla.agent.cli;

import io.flotilla.agent.wal.WalArchive;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "wal-push", description = {
    "archive_command: make one WAL file durable in the primary repository (exit 0 only then).",
    "  archive_command = '/path/to/flotilla wal-push --config F %p'",
    "When the agent daemon already pushed the file, this only confirms it."})
final class WalPushCommand extends AgentCommand {
  @Parameters(index = "0", paramLabel = "PATH", description = "The file to archive (%p: relative to PGDATA, the working directory).")
  Path path;

  @Override
  int execute(Session s) {
    Path file = path.isAbsolute() ? path : Path.of("").toAbsolutePath().resolve(path);
    WalArchive.PushOutcome outcome = s.await(() -> s.repository(null, true).compose(r ->
        new WalArchive(s.vertx, s.config, r).push(file).eventually(r::close)));
    if (common.verbose || common.json) {
      out().println(common.json ? "{\"file\":\"" + file.getFileName() + "\",\"outcome\":\"" + outcome + "\"}" : file.getFileName() + ": " + outcome);
    }
    return 0;
  }
}
