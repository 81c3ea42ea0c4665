package io.flotilla.repo;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.repo.impl.FileStorage;
import io.flotilla.stream.OutputStreamSource;
import io.flotilla.testkit.Producer;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The storage contract on a local directory. */
class FileStorageTest extends StorageContractTest {
  /** How FileStorage names an object while it is being written (its on-disk format). */
  private static final String TEMP_MARK = ".flotilla-tmp-";

  @TempDir
  Path root;

  @Override
  protected Storage createStorage(Vertx vertx, Context context) {
    return new FileStorage(vertx, root);
  }

  @Override
  protected void leaveIncompleteWrite(String key) throws Exception {
    Path target = root.resolve(key);
    Files.createDirectories(target.getParent());
    Files.write(target.resolveSibling(TEMP_MARK + target.getFileName() + "-" + UUID.randomUUID()), new byte[4096]);
  }

  @Test
  void shouldKeepObjectsAsPlainFilesUnderRoot() {
    putText("hosts/db1/backups/b1/manifest.json", "{\"ok\":true}");

    assertThat(root.resolve("hosts/db1/backups/b1/manifest.json")).hasContent("{\"ok\":true}");
    assertThat(storage.features()).contains(StorageFeature.LOCAL_PATH);
  }

  @Test
  void shouldRemoveEmptyDirectoriesWithDeletedPrefix() throws Exception {
    putText("hosts/db1/backups/b1/db/app.dump", "dump");
    putText("hosts/db1/backups/b2/manifest.json", "m");

    run(() -> storage.deletePrefix("hosts/db1/backups/b1/"));

    assertThat(root.resolve("hosts/db1/backups/b1")).doesNotExist();
    assertThat(root.resolve("hosts/db1/backups/b2/manifest.json")).exists();
  }

  @Test
  void shouldLeaveNoTemporaryFileAfterSuccessfulPuts() throws Exception {
    putText("a/b/c", "1");
    OutputStreamSource source = newSource();
    Producer.start(source, 300_000, 1, Producer.CLOSE);
    run(() -> storage.put("a/b/d", source));

    try (Stream<Path> files = Files.walk(root)) {
      assertThat(files.filter(Files::isRegularFile).map(p -> root.relativize(p).toString()))
          .containsExactlyInAnyOrder("a/b/c", "a/b/d");
    }
  }
}
