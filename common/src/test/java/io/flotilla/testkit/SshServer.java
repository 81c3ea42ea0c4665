package io.flotilla.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real OpenSSH server for tests: {@code sshd -D} on a free loopback port with a generated host
 * key, accepting one generated client key for the current user. {@link #knownHosts()} pins its
 * host key, so clients verify it like a production peer.
 */
public final class SshServer implements AutoCloseable {
  private static final Path SSHD = Path.of("/usr/sbin/sshd");

  private final Path dir;
  private final int port;
  private final Process process;

  private SshServer(Path dir, int port, Process process) {
    this.dir = dir;
    this.port = port;
    this.process = process;
  }

  /** Whether sshd and ssh-keygen are installed (Debian: openssh-server). */
  public static boolean available() {
    return Files.isExecutable(SSHD) && Files.isExecutable(Path.of("/usr/bin/ssh-keygen"));
  }

  public static SshServer start() throws IOException {
    if (!available()) {
      throw new IllegalStateException("sshd is not installed (Debian: openssh-server; .ci/run installs it)");
    }
    Path dir = Files.createTempDirectory("flotilla-sshd-");
    for (String key : List.of("host_key", "client_key")) {
      Processes.run(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "flotilla-test", "-f", dir.resolve(key).toString()), null, dir)
          .orThrow();
    }
    Files.copy(dir.resolve("client_key.pub"), dir.resolve("authorized_keys"));
    if (Processes.isRoot()) {
      // sshd's privilege separation directory; a package install would have made it.
      Files.createDirectories(Path.of("/run/sshd"));
    }
    String conf = "ListenAddress 127.0.0.1\n"
        + "HostKey " + dir.resolve("host_key") + "\n"
        + "AuthorizedKeysFile " + dir.resolve("authorized_keys") + "\n"
        + "PidFile " + dir.resolve("sshd.pid") + "\n"
        // The temporary folder is under /tmp (world-writable), which strict modes refuse.
        + "StrictModes no\n"
        + "UsePAM no\n"
        + "PasswordAuthentication no\n"
        + "KbdInteractiveAuthentication no\n"
        + "PubkeyAuthentication yes\n"
        + "PermitRootLogin prohibit-password\n"
        + "LogLevel ERROR\n";
    Files.writeString(dir.resolve("sshd_config"), conf);
    IOException last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      int port = Processes.freePort();
      Process p = new ProcessBuilder(List.of(SSHD.toString(), "-D", "-e", "-f", dir.resolve("sshd_config").toString(), "-p", String.valueOf(port)))
          .redirectErrorStream(true).redirectOutput(dir.resolve("sshd.log").toFile()).start();
      if (RsyncDaemon.awaitPort(p, port)) {
        String hostKey = Files.readString(dir.resolve("host_key.pub")).strip();
        Files.writeString(dir.resolve("known_hosts"), "[127.0.0.1]:" + port + " " + hostKey + "\n");
        return new SshServer(dir, port, p);
      }
      p.destroyForcibly();
      last = new IOException("sshd did not listen on port " + port + ": " + Files.readString(dir.resolve("sshd.log")));
    }
    throw last;
  }

  public int port() {
    return port;
  }

  public String user() {
    return System.getProperty("user.name");
  }

  /** {@code ssh://user@127.0.0.1:port/absolute/path}. */
  public String url(Path path) {
    return "ssh://" + user() + "@127.0.0.1:" + port + path.toAbsolutePath();
  }

  public Path clientKey() {
    return dir.resolve("client_key");
  }

  public Path knownHosts() {
    return dir.resolve("known_hosts");
  }

  /** A folder the tests may use as repositories (the server runs on this machine). */
  public Path scratch(String name) throws IOException {
    return Files.createDirectories(dir.resolve("scratch").resolve(name));
  }

  /** A key pair the server does not accept. */
  public Path strangerKey() throws IOException {
    Path key = dir.resolve("stranger_key");
    if (!Files.exists(key)) {
      Processes.run(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString()), null, dir).orThrow();
    }
    return key;
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
