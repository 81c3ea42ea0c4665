package io.flotilla.agent.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options every command takes. */
public final class CommonOptions {
  @Option(names = "--config", paramLabel = "FILE",
      description = "Host configuration (default: $FLOTILLA_CONFIG, then /etc/flotilla/agent.yaml).")
  Path config;

  @Option(names = "--json", description = "Machine-readable JSON on stdout.")
  boolean json;

  @Option(names = {"-v", "--verbose"}, description = "Log each step to stderr (and stack traces of failures).")
  boolean verbose;

  @Option(names = "--progress", description = "Report progress even when stderr is not a terminal (a line every 10 s).")
  boolean progress;
}
