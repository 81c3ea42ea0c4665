package io.flotilla.testkit;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Running the real tools from tests: commands with captured output, free ports, root handling. */
public final class Processes {
  private Processes() {}

  public static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Result of a finished command. */
  public record Result(int exitCode, String stdout, String stderr) {
    public Result orThrow() {
      if (exitCode != 0) {
        throw new IllegalStateException("command failed (exit " + exitCode + "): " + stderr + stdout);
      }
      return this;
    }
  }

  /** Runs {@code command}, feeding {@code stdin} (may be null), waiting up to 10 minutes. */
  public static Result run(List<String> command, String stdin, Path dir) {
    return run(command, stdin, dir, java.util.Map.of());
  }

  /** Runs {@code command} with extra environment variables. */
  public static Result run(List<String> command, String stdin, Path dir, java.util.Map<String, String> env) {
    try {
      ProcessBuilder pb = new ProcessBuilder(command);
      pb.environment().putAll(env);
      if (dir != null) {
        pb.directory(dir.toFile());
      }
      Process p = pb.start();
      if (stdin != null) {
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
      }
      p.getOutputStream().close();
      var out = new java.util.concurrent.CompletableFuture<String>();
      var err = new java.util.concurrent.CompletableFuture<String>();
      daemon(() -> out.complete(readAll(p.getInputStream())));
      daemon(() -> err.complete(readAll(p.getErrorStream())));
      if (!p.waitFor(10, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IllegalStateException("command timed out: " + command);
      }
      return new Result(p.exitValue(), out.get(), err.get());
    } catch (Exception e) {
      throw new IllegalStateException("cannot run " + command + ": " + e.getMessage(), e);
    }
  }

  private static void daemon(Runnable r) {
    Thread t = new Thread(r, "test-process-reader");
    t.setDaemon(true);
    t.start();
  }

  private static String readAll(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** Prefixes {@code command} so it runs as the postgres OS user when the tests run as root. */
  public static List<String> asPostgres(List<String> command) {
    if (!isRoot()) {
      return command;
    }
    List<String> out = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
    out.addAll(command);
    return out;
  }
}
