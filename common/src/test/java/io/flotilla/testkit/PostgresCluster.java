package io.flotilla.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A real PostgreSQL cluster for one test class: initdb into a fresh directory, started on a free
 * loopback port with trust authentication. As root, the server runs as the postgres OS user.
 */
public final class PostgresCluster implements AutoCloseable {
  private final Path baseDir;
  private final Path dataDir;
  private final Path socketDir;
  private final int port;
  private final Path bin;
  private boolean running;
  private java.util.Map<String, String> environment = java.util.Map.of();

  private PostgresCluster(Path baseDir, int port, Path bin) {
    this.baseDir = baseDir;
    this.dataDir = baseDir.resolve("data");
    this.socketDir = baseDir.resolve("sock");
    this.port = port;
    this.bin = bin;
  }

  /** The directory of PostgreSQL's server binaries: $PG_BIN, else pg_config --bindir. */
  public static Path binDir() {
    String env = System.getenv("PG_BIN");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    Processes.Result r = Processes.run(List.of("pg_config", "--bindir"), null, null);
    if (r.exitCode() == 0 && Files.isDirectory(Path.of(r.stdout().trim()))) {
      return Path.of(r.stdout().trim());
    }
    return Path.of("/usr/lib/postgresql/15/bin");
  }

  /** initdb and start a new cluster; extra lines are appended to postgresql.conf. */
  public static PostgresCluster start(String... extraConf) throws IOException {
    return start(java.util.Map.of(), extraConf);
  }

  /**
   * Like {@link #start(String...)}, with environment variables for the server (and so for its
   * archive_command), e.g. S3 credentials for flotilla wal-push.
   */
  public static PostgresCluster start(java.util.Map<String, String> environment, String... extraConf) throws IOException {
    Path base = Files.createTempDirectory("flotilla-pg-");
    PostgresCluster c = new PostgresCluster(base, Processes.freePort(), binDir());
    c.environment = environment;
    c.init(extraConf);
    c.startServer();
    return c;
  }

  private void init(String... extraConf) throws IOException {
    Files.createDirectories(socketDir);
    if (Processes.isRoot()) {
      Processes.run(List.of("chown", "-R", "postgres:postgres", baseDir.toString()), null, null).orThrow();
      Processes.run(List.of("chmod", "755", baseDir.toString()), null, null).orThrow();
    }
    Processes.run(Processes.asPostgres(List.of(bin.resolve("initdb").toString(), "-D", dataDir.toString(), "-U", "postgres",
        "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--data-checksums", "--no-sync")), null, baseDir).orThrow();
    List<String> conf = new ArrayList<>(List.of(
        "port = " + port,
        "listen_addresses = '127.0.0.1'",
        "unix_socket_directories = '" + socketDir + "'",
        "fsync = off",
        "max_connections = 40",
        "shared_buffers = 64MB"));
    conf.addAll(List.of(extraConf));
    Files.writeString(dataDir.resolve("postgresql.auto.conf"), String.join("\n", conf) + "\n",
        java.nio.file.StandardOpenOption.APPEND);
  }

  public void startServer() {
    Processes.run(Processes.asPostgres(List.of(bin.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-l",
        baseDir.resolve("server.log").toString(), "-w", "-t", "60", "start")), null, baseDir, environment).orThrow();
    running = true;
  }

  public void stopServer() {
    if (running) {
      Processes.run(Processes.asPostgres(List.of(bin.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "fast", "-w", "stop")), null, baseDir);
      running = false;
    }
  }

  public int port() {
    return port;
  }

  public Path dataDir() {
    return dataDir;
  }

  public Path bin() {
    return bin;
  }

  /** A libpq URL for {@code database} as the postgres superuser over TCP. */
  public String url(String database) {
    return "postgresql://postgres@127.0.0.1:" + port + "/" + java.net.URLEncoder.encode(database, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
  }

  public String url() {
    return url("postgres");
  }

  /** Runs SQL through psql (stops at the first error) and returns unaligned, tuples-only output. */
  public String psql(String database, String sql) {
    Processes.Result r = Processes.run(List.of(bin.resolve("psql").toString(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
        "-d", url(database), "-f", "-"), sql, null);
    if (r.exitCode() != 0) {
      throw new IllegalStateException("psql failed on " + database + ": " + r.stderr());
    }
    return r.stdout().strip();
  }

  public boolean databaseExists(String name) {
    return psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" + name.replace("'", "''") + "'").equals("1");
  }

  @Override
  public void close() throws IOException {
    stopServer();
    try (Stream<Path> walk = Files.walk(baseDir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
