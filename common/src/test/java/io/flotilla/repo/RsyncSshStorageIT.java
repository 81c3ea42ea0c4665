package io.flotilla.repo;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.config.RepositoryConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.testkit.Processes;
import io.flotilla.testkit.SshServer;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The storage contract over rsync-over-SSH against a real OpenSSH server on loopback (key login,
 * pinned host key), plus the SSH failures: nothing listening, a key the server refuses, an unknown
 * host key.
 */
class RsyncSshStorageIT extends StorageContractTest {
  private static SshServer server;

  private Path folder;
  private Path spool;

  @BeforeAll
  static void startServer() throws IOException {
    server = SshServer.start();
  }

  @AfterAll
  static void stopServer() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  @Override
  protected Storage createStorage(Vertx vertx, Context context) throws IOException {
    // A folder that does not exist yet, two levels deep: the first put creates it.
    folder = server.scratch("repos").resolve(UUID.randomUUID() + "/fleet");
    spool = server.scratch("spool-" + UUID.randomUUID());
    return ssh(server.url(folder), server.clientKey(), server.knownHosts());
  }

  private Storage ssh(String url, Path key, Path knownHosts) {
    RepositoryConfig config = new RepositoryConfig("far", URI.create(url), null, "us-east-1", false,
        new RepositoryConfig.RsyncOptions(null, key, knownHosts, spool, 0));
    return Repository.storage(vertx, context, config);
  }

  @Override
  protected void leaveIncompleteWrite(String key) throws IOException {
    Path target = folder.resolve(key);
    Files.createDirectories(target.getParent());
    Files.write(target.resolveSibling("." + target.getFileName() + ".Zx98Yw"), new byte[4096]);
  }

  @AfterEach
  void spoolIsEmpty() throws IOException {
    try (Stream<Path> left = Files.list(spool)) {
      assertThat(left.toList()).as("spool directory after the test").isEmpty();
    }
  }

  private static void assertOneLineRepositoryError(Throwable t, String peer, String reason) {
    FlotillaException e = assertFlotilla(t, ErrorCode.REPOSITORY);
    assertThat(e.getMessage()).contains(peer).contains(reason).doesNotContain("\n");
  }

  @Test
  void shouldKeepObjectsAsPlainFilesInTheFolder() {
    putText("hosts/db1/backups/b1/manifest.json", "{\"ok\":true}");

    assertThat(folder.resolve("hosts/db1/backups/b1/manifest.json")).hasContent("{\"ok\":true}");
    assertThat(storage.describe()).isEqualTo(server.url(folder));
  }

  @Test
  void shouldFailClearlyWhenNothingListensOnThePeer() {
    String url = "ssh://" + server.user() + "@127.0.0.1:" + Processes.freePort() + folder;
    Storage down = ssh(url, server.clientKey(), server.knownHosts());

    assertOneLineRepositoryError(failureOf(() -> down.list("")), url, "Connection refused");
    assertOneLineRepositoryError(failureOf(() -> down.putBytes("flotilla.repo.json", Buffer.buffer("{}"))), url, "Connection refused");
  }

  @Test
  void shouldFailClearlyWhenTheServerRefusesTheKey() throws IOException {
    String url = server.url(folder);
    Storage refused = ssh(url, server.strangerKey(), server.knownHosts());

    assertOneLineRepositoryError(failureOf(() -> refused.putBytes("flotilla.repo.json", Buffer.buffer("{}"))), url, "Permission denied");
    assertThat(keys("")).isEmpty();
  }

  @Test
  void shouldRefuseAPeerWhoseHostKeyIsNotKnown() throws IOException {
    Path empty = spool.resolveSibling("known_hosts-" + UUID.randomUUID());
    Files.writeString(empty, "");
    try {
      String url = server.url(folder);
      Storage unknown = ssh(url, server.clientKey(), empty);

      assertOneLineRepositoryError(failureOf(() -> unknown.stat("flotilla.repo.json")), url, "host key is known");
    } finally {
      Files.deleteIfExists(empty);
    }
  }
}
