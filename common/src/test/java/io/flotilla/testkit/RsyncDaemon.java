package io.flotilla.testkit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real rsync daemon for tests: {@code rsync --daemon --no-detach} on a free loopback port with
 * its own rsyncd.conf. Module {@code repo} is writable, {@code readonly} is read only; both demand
 * user {@link #USER} with password {@link #PASSWORD} from a secrets file. As root the daemon keeps
 * root's uid and gid for the modules (rsyncd would otherwise switch to nobody).
 */
public final class RsyncDaemon implements AutoCloseable {
  public static final String USER = "flotilla";
  public static final String PASSWORD = "rsync-test-secret";

  private final Path dir;
  private final int port;
  private final Process process;

  private RsyncDaemon(Path dir, int port, Process process) {
    this.dir = dir;
    this.port = port;
    this.process = process;
  }

  public static RsyncDaemon start() throws IOException {
    Path dir = Files.createTempDirectory("flotilla-rsyncd-");
    Files.createDirectories(dir.resolve("repo"));
    Files.createDirectories(dir.resolve("readonly"));
    Path secrets = dir.resolve("rsyncd.secrets");
    writePrivate(secrets, USER + ":" + PASSWORD + "\n");
    writePrivate(dir.resolve("password"), PASSWORD + "\n");
    String owner = Processes.isRoot() ? "uid = root\ngid = root\n" : "";
    String conf = "pid file = " + dir.resolve("rsyncd.pid") + "\n"
        + "use chroot = no\n"
        + owner
        + "[repo]\n  path = " + dir.resolve("repo") + "\n  read only = no\n  auth users = " + USER + "\n  secrets file = " + secrets + "\n"
        + "[readonly]\n  path = " + dir.resolve("readonly") + "\n  read only = yes\n  auth users = " + USER + "\n  secrets file = " + secrets + "\n";
    Files.writeString(dir.resolve("rsyncd.conf"), conf);
    IOException last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      int port = Processes.freePort();
      Process p = new ProcessBuilder(List.of("rsync", "--daemon", "--no-detach", "--config=" + dir.resolve("rsyncd.conf"),
          "--port=" + port, "--address=127.0.0.1", "--log-file=" + dir.resolve("rsyncd.log")))
          .redirectErrorStream(true).redirectOutput(dir.resolve("rsyncd.out").toFile()).start();
      if (awaitPort(p, port)) {
        return new RsyncDaemon(dir, port, p);
      }
      p.destroyForcibly();
      last = new IOException("rsync daemon did not listen on port " + port + ": " + Files.readString(dir.resolve("rsyncd.out")));
    }
    throw last;
  }

  static boolean awaitPort(Process p, int port) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline && p.isAlive()) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return true;
      } catch (IOException e) {
        try {
          Thread.sleep(50);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return false;
  }

  static void writePrivate(Path file, String content) throws IOException {
    Files.writeString(file, content);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
  }

  public int port() {
    return port;
  }

  /** {@code rsync://flotilla@127.0.0.1:port/module/path}. */
  public String url(String module, String path) {
    return "rsync://" + USER + "@127.0.0.1:" + port + "/" + module + (path.isEmpty() ? "" : "/" + path);
  }

  /** A file holding the right password, private to this user as rsync demands. */
  public Path passwordFile() {
    return dir.resolve("password");
  }

  /** The folder module {@code name} serves. */
  public Path module(String name) {
    return dir.resolve(name);
  }

  /** A private scratch folder next to the modules. */
  public Path scratch(String name) throws IOException {
    return Files.createDirectories(dir.resolve("scratch").resolve(name));
  }

  @Override
  public void close() throws IOException {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
