package io.flotilla.agent;

import io.flotilla.agent.cli.Flotilla;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Runs the real flotilla command line, in-process (fast) or as the shipped launcher script. */
public final class Cli {
  private Cli() {}

  /** What a command printed and its exit code. */
  public record Result(int exitCode, String stdout, String stderr) {
    public String lastLine() {
      String[] lines = stdout.strip().split("\n");
      return lines[lines.length - 1].strip();
    }

    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
  }

  public static Result run(Path config, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--config");
    all.add(config.toString());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Flotilla.run(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
        all.toArray(String[]::new));
    return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static Path staged;

  /**
   * The launcher users run: deploy/bin/flotilla (needs the packaged jar; failsafe runs after
   * package). PostgreSQL runs it as the postgres OS user (archive_command, restore_command); when the
   * checkout is not reachable by that user (a clone under /root, say), a copy of the launcher, jar
   * and libraries in a world-readable temporary directory is used instead.
   */
  public static synchronized Path launcher() {
    Path home = Path.of(System.getProperty("flotilla.home", "..")).toAbsolutePath().normalize();
    Path inPlace = home.resolve("deploy/bin/flotilla");
    if (!io.flotilla.testkit.Processes.isRoot()) {
      return inPlace;
    }
    if (staged != null) {
      return staged;
    }
    io.flotilla.testkit.Processes.Result probe = io.flotilla.testkit.Processes.run(
        List.of("runuser", "-u", "postgres", "--", "test", "-x", inPlace.toString()), null, null);
    if (probe.exitCode() == 0) {
      staged = inPlace;
      return staged;
    }
    try {
      Path copy = java.nio.file.Files.createTempDirectory("flotilla-launcher-");
      java.nio.file.Files.createDirectories(copy.resolve("deploy/bin"));
      java.nio.file.Files.createDirectories(copy.resolve("agent/target"));
      io.flotilla.testkit.Processes.run(List.of("cp", "-a", inPlace.toString(), copy.resolve("deploy/bin/").toString()), null, null).orThrow();
      io.flotilla.testkit.Processes.run(List.of("cp", "-a", home.resolve("agent/target/flotilla-agent.jar").toString(),
          home.resolve("agent/target/lib").toString(), copy.resolve("agent/target/").toString()), null, null).orThrow();
      io.flotilla.testkit.Processes.run(List.of("chmod", "-R", "a+rX", copy.toString()), null, null).orThrow();
      staged = copy.resolve("deploy/bin/flotilla");
      return staged;
    } catch (java.io.IOException e) {
      throw new IllegalStateException("cannot stage the launcher for the postgres user: " + e.getMessage(), e);
    }
  }
}
