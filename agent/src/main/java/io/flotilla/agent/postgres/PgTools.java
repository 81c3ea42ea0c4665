package io.flotilla.agent.postgres;

import io.flotilla.config.PostgresConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Finds PostgreSQL's client tools: postgres.bin, else pg_config --bindir, else PATH. */
public final class PgTools {
  private final Path bin;

  private PgTools(Path bin) {
    this.bin = bin;
  }

  /** Resolves the tool directory. Blocking (may run pg_config): call on a worker thread or in main. */
  public static PgTools locate(PostgresConfig config) {
    if (config.bin() != null) {
      return new PgTools(config.bin());
    }
    try {
      Process p = new ProcessBuilder("pg_config", "--bindir").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && Files.isDirectory(Path.of(out))) {
        return new PgTools(Path.of(out));
      }
    } catch (IOException e) {
      // no pg_config on PATH: fall back to PATH lookup
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return new PgTools(null);
  }

  /** The command to run {@code name} (pg_dump, pg_restore, psql, pg_dumpall). */
  public String tool(String name) {
    if (bin == null) {
      return name;
    }
    Path p = bin.resolve(name);
    if (!Files.isExecutable(p)) {
      throw new FlotillaException(ErrorCode.CONFIG, "config key postgres.bin: " + p + " is not an executable " + name);
    }
    return p.toString();
  }
}
