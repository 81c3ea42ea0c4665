package io.flotilla.repo;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.config.RepositoryConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.repo.impl.RsyncStorage;
import io.flotilla.stream.OutputStreamSource;
import io.flotilla.testkit.Processes;
import io.flotilla.testkit.Producer;
import io.flotilla.testkit.RsyncDaemon;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The storage contract on a real rsync daemon (password-protected module on loopback), plus what
 * goes wrong with peers: nothing listening, a wrong module, a wrong password, a read-only module, a
 * transfer killed midway.
 */
class RsyncStorageIT extends StorageContractTest {
  private static RsyncDaemon daemon;

  /** Each test's repository: its own folder in the shared module. */
  private String base;
  private Path spool;

  @BeforeAll
  static void startDaemon() throws IOException {
    daemon = RsyncDaemon.start();
  }

  @AfterAll
  static void stopDaemon() throws IOException {
    if (daemon != null) {
      daemon.close();
    }
  }

  @Override
  protected Storage createStorage(Vertx vertx, Context context) throws IOException {
    base = "repo-" + UUID.randomUUID() + "/fleet";
    spool = daemon.scratch("spool-" + UUID.randomUUID());
    return rsync(daemon.url("repo", base), daemon.passwordFile(), 0);
  }

  private Storage rsync(String url, Path passwordFile, int bandwidthLimit) {
    RepositoryConfig config = new RepositoryConfig("peer", URI.create(url), null, "us-east-1", false,
        new RepositoryConfig.RsyncOptions(passwordFile, null, null, spool, bandwidthLimit));
    return Repository.storage(vertx, context, config);
  }

  private Path folder() {
    return daemon.module("repo").resolve(base);
  }

  @Override
  protected void leaveIncompleteWrite(String key) throws IOException {
    // What rsync's receiver leaves when it dies hard mid-transfer: ".name.XXXXXX" beside the target.
    Path target = folder().resolve(key);
    Files.createDirectories(target.getParent());
    Files.write(target.resolveSibling("." + target.getFileName() + ".Ab12Cd"), new byte[4096]);
  }

  @AfterEach
  void spoolIsEmpty() throws IOException {
    try (Stream<Path> left = Files.list(spool)) {
      assertThat(left.toList()).as("spool directory after the test").isEmpty();
    }
  }

  private static void assertOneLineRepositoryError(Throwable t, String peer, String reason) {
    FlotillaException e = assertFlotilla(t, ErrorCode.REPOSITORY);
    assertThat(e.getMessage()).contains(peer).contains(reason).doesNotContain("\n").doesNotContain(RsyncDaemon.PASSWORD);
    assertThat(e.code().exitCode()).isEqualTo(5);
  }

  @Test
  void shouldKeepObjectsAsPlainFilesInTheModule() throws IOException {
    putText("hosts/db1/backups/b1/manifest.json", "{\"ok\":true}");

    assertThat(folder().resolve("hosts/db1/backups/b1/manifest.json")).hasContent("{\"ok\":true}");
    try (Stream<Path> files = Files.walk(folder())) {
      assertThat(files.filter(Files::isRegularFile).map(p -> folder().relativize(p).toString())).containsExactly("hosts/db1/backups/b1/manifest.json");
    }
    assertThat(storage.describe()).isEqualTo(daemon.url("repo", base)).doesNotContain(RsyncDaemon.PASSWORD);
  }

  @Test
  void shouldFailClearlyWhenNothingListensOnThePeer() {
    String url = "rsync://" + RsyncDaemon.USER + "@127.0.0.1:" + Processes.freePort() + "/repo/x";
    Storage down = rsync(url, daemon.passwordFile(), 0);

    assertOneLineRepositoryError(failureOf(() -> down.stat("flotilla.repo.json")), url, "Connection refused");
    assertOneLineRepositoryError(failureOf(() -> down.putBytes("flotilla.repo.json", Buffer.buffer("{}"))), url, "Connection refused");
    assertOneLineRepositoryError(failureOf(() -> down.list("hosts/")), url, "Connection refused");
  }

  @Test
  void shouldFailClearlyForUnknownModule() {
    String url = daemon.url("nope", "x");
    Storage wrong = rsync(url, daemon.passwordFile(), 0);

    assertOneLineRepositoryError(failureOf(() -> wrong.list("")), url, "Unknown module 'nope'");
    assertOneLineRepositoryError(failureOf(() -> wrong.getBytes("flotilla.repo.json")), url, "Unknown module 'nope'");
  }

  @Test
  void shouldFailClearlyForWrongPasswordWithoutShowingIt() throws IOException {
    Path wrongPassword = spool.resolveSibling("wrong-password-" + UUID.randomUUID());
    Files.writeString(wrongPassword, "not-the-password\n");
    Files.setPosixFilePermissions(wrongPassword, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    try {
      String url = daemon.url("repo", base);
      Storage denied = rsync(url, wrongPassword, 0);

      Throwable failure = failureOf(() -> denied.putBytes("flotilla.repo.json", Buffer.buffer("{}")));

      assertOneLineRepositoryError(failure, url, "auth failed on module repo");
      assertThat(failure.getMessage()).doesNotContain("not-the-password");
      assertThat(keys("")).isEmpty();
    } finally {
      Files.deleteIfExists(wrongPassword);
    }
  }

  @Test
  void shouldReadButRefuseWritesOnReadOnlyModule() throws IOException {
    // Given a read-only module holding a repository
    String path = "ro-" + UUID.randomUUID();
    Files.createDirectories(daemon.module("readonly").resolve(path));
    Files.writeString(daemon.module("readonly").resolve(path).resolve("flotilla.repo.json"), "{\"format\":1}");
    String url = daemon.url("readonly", path);
    Storage readOnly = rsync(url, daemon.passwordFile(), 0);

    // Then reading works, and writing or deleting fails as a repository error that says why
    assertThat(run(() -> readOnly.getBytes("flotilla.repo.json")).toString()).isEqualTo("{\"format\":1}");
    assertOneLineRepositoryError(failureOf(() -> readOnly.putBytes("hosts/db1/x", Buffer.buffer("x"))), url, "module is read only");
    assertOneLineRepositoryError(failureOf(() -> readOnly.delete("flotilla.repo.json")), url, "module is read only");

    // and nothing was lost
    assertThat(daemon.module("readonly").resolve(path).resolve("flotilla.repo.json")).hasContent("{\"format\":1}");
  }

  @Test
  void shouldLeaveNothingUnderKeyWhenTransferIsKilledMidway() throws Exception {
    // Given a put whose rsync transfer runs slowly (1 MiB/s for 20 MiB)
    Storage slow = rsync(daemon.url("repo", base), daemon.passwordFile(), 1024);
    OutputStreamSource source = newSource();
    Producer.start(source, LARGE, 31, Producer.CLOSE);
    Promise<StoredObject> put = Promise.promise();
    context.runOnContext(v -> slow.put("hosts/db1/backups/b1/app.dump", source).onComplete(put));

    // When the rsync client is killed once the peer is receiving
    Path target = folder().resolve("hosts/db1/backups/b1");
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (hiddenFiles(target).isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(hiddenFiles(target)).as("rsync's temporary file on the peer").isNotEmpty();
    List<ProcessHandle> clients = ProcessHandle.current().descendants()
        .filter(h -> h.info().arguments().map(a -> List.of(a).contains("--relative") && !List.of(a).contains("--daemon")).orElse(false))
        .toList();
    assertThat(clients).isNotEmpty();
    clients.forEach(ProcessHandle::destroyForcibly);

    // Then the put fails as a repository error, and nothing is visible under the key
    Throwable failure = failureOf(() -> put.future());
    assertFlotilla(failure, ErrorCode.REPOSITORY);
    assertThat(failure.getMessage()).contains("hosts/db1/backups/b1/app.dump").contains(daemon.url("repo", base));
    assertFlotilla(failureOf(() -> storage.stat("hosts/db1/backups/b1/app.dump")), ErrorCode.NOT_FOUND);
    assertThat(keys("")).isEmpty();

    // and whatever the peer kept is removed by the clean-up, leaving no file at all
    run(() -> storage.cleanupIncomplete(""));
    deadline = System.nanoTime() + 10_000_000_000L;
    while (!regularFiles(folder()).isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(50);
      run(() -> storage.cleanupIncomplete(""));
    }
    assertThat(regularFiles(folder())).isEmpty();
    run(slow::close);
  }

  private static List<Path> hiddenFiles(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().startsWith(".app.dump.")).toList();
    }
  }

  private static List<Path> regularFiles(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).toList();
    }
  }
}
