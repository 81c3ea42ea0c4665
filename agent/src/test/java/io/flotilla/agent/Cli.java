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

  /** The launcher users run: deploy/bin/flotilla (needs the packaged jar; failsafe runs after package). */
  public static Path launcher() {
    return Path.of(System.getProperty("flotilla.home", "..")).resolve("deploy/bin/flotilla").toAbsolutePath().normalize();
  }
}
