package io.flotilla.agent.cli;

import io.flotilla.agent.wal.WalArchive;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "wal-fetch", description = {
    "restore_command: fetch one WAL file from the repository. Exits 1 quietly when the archive does not have it",
    "(PostgreSQL asks past the end of the archive). Fetches the following segments ahead into the spool.",
    "  restore_command = '/path/to/flotilla wal-fetch --config F %f %p'"})
final class WalFetchCommand extends AgentCommand {
  @Parameters(index = "0", paramLabel = "NAME", description = "The file PostgreSQL wants (%f).")
  String name;

  @Parameters(index = "1", paramLabel = "PATH", description = "Where to put it (%p: relative to PGDATA, the working directory).")
  Path path;

  @Option(names = "--repo", paramLabel = "NAME", description = "Repository to read (default: the first configured).")
  String repo;

  @Option(names = "--prefetch", paramLabel = "N", defaultValue = "8", description = "Segments to fetch ahead (default: ${DEFAULT-VALUE}).")
  int prefetch;

  @Override
  int execute(Session s) {
    Path dest = path.isAbsolute() ? path : Path.of("").toAbsolutePath().resolve(path);
    boolean found = s.await(() -> s.repository(repo, false).compose(r ->
        new WalArchive(s.vertx, s.config, r).fetch(name, dest, prefetch).eventually(r::close)));
    return found ? 0 : 1;
  }
}
