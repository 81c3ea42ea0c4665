package io.flotilla.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.stream.OutputStreamSource;
import io.flotilla.testkit.Producer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The behaviour every {@link Storage} backend must have. Each backend's test extends this class
 * and says only how to create the backend and how an interrupted write looks on it.
 */
@ExtendWith(VertxExtension.class)
@Timeout(60)
public abstract class StorageContractTest {
  /** Above S3Storage's 8 MiB part size, so a streamed put goes multipart there. */
  protected static final int LARGE = 20 * 1024 * 1024;
  protected static final int MIB = 1024 * 1024;

  protected Vertx vertx;
  protected Context context;
  protected Storage storage;

  /** Creates the backend under test, empty. */
  protected abstract Storage createStorage(Vertx vertx, Context context) throws Exception;

  /** Leaves on the backend what a writer that died while writing {@code key} would leave. */
  protected abstract void leaveIncompleteWrite(String key) throws Exception;

  @BeforeEach
  void createBackend(Vertx vertx) throws Exception {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.storage = createStorage(vertx, context);
  }

  @AfterEach
  void closeBackend() {
    if (storage != null) {
      run(() -> storage.close());
    }
  }

  // ---- helpers ----

  /** Runs an operation on the test's context, as production code would, and waits for it here. */
  protected <T> T run(Supplier<Future<T>> operation) {
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> {
      try {
        operation.get().onComplete(promise);
      } catch (RuntimeException e) {
        promise.fail(e);
      }
    });
    return promise.future().await();
  }

  /** The failure of an operation that must fail. */
  protected Throwable failureOf(Supplier<Future<?>> operation) {
    Promise<Object> promise = Promise.promise();
    context.runOnContext(v -> {
      try {
        operation.get().onComplete(promise);
      } catch (RuntimeException e) {
        promise.fail(e);
      }
    });
    Future<Object> f = promise.future();
    assertThatThrownBy(f::await).as("operation should fail").isNotNull();
    return f.cause();
  }

  protected static FlotillaException assertFlotilla(Throwable t, ErrorCode code) {
    assertThat(t).isInstanceOf(FlotillaException.class);
    FlotillaException fe = (FlotillaException) t;
    assertThat(fe.code()).as("error code of: %s", fe.getMessage()).isEqualTo(code);
    return fe;
  }

  protected OutputStreamSource newSource() {
    return new OutputStreamSource(context);
  }

  /** Reads a stored object through {@link Storage#get} and returns the SHA-256 of its bytes. */
  protected String sha256Of(String key) {
    return run(() -> storage.get(key).compose(stream -> {
      Promise<String> done = Promise.promise();
      MessageDigest digest = sha256();
      stream.exceptionHandler(done::tryFail);
      stream.endHandler(v -> done.tryComplete(HexFormat.of().formatHex(digest.digest())));
      stream.handler(b -> digest.update(b.getBytes()));
      stream.resume();
      return done.future();
    }));
  }

  protected static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  protected static String sha256Hex(byte[] bytes) {
    return HexFormat.of().formatHex(sha256().digest(bytes));
  }

  protected List<String> keys(String prefix) {
    return run(() -> storage.list(prefix)).stream().map(StoredObject::key).toList();
  }

  protected void putText(String key, String text) {
    run(() -> storage.putBytes(key, Buffer.buffer(text, "UTF-8")));
  }

  // ---- the contract ----

  @Test
  void shouldStoreStreamOfManyMebibytesAndReadItBackUnchanged() throws IOException {
    // Given a producer thread writing 20 MiB into a stream, as pg_dump's reader does
    OutputStreamSource source = newSource();
    Producer producer = Producer.start(source, LARGE, 42, Producer.CLOSE);

    // When the stream is stored
    StoredObject stored = run(() -> storage.put("hosts/db1/backups/b1/app.dump", source));

    // Then the object has every byte, in order
    assertThat(stored).isEqualTo(new StoredObject("hosts/db1/backups/b1/app.dump", LARGE));
    assertThat(run(() -> storage.stat("hosts/db1/backups/b1/app.dump")).size()).isEqualTo(LARGE);
    String written = producer.sha256();
    assertThat(sha256Of("hosts/db1/backups/b1/app.dump")).isEqualTo(written);
  }

  @Test
  void shouldStoreSmallStreamInOnePiece() throws IOException {
    OutputStreamSource source = newSource();
    Producer producer = Producer.start(source, MIB + 17, 7, Producer.CLOSE);

    StoredObject stored = run(() -> storage.put("small/object", source));

    assertThat(stored.size()).isEqualTo(MIB + 17);
    assertThat(sha256Of("small/object")).isEqualTo(producer.sha256());
  }

  @Test
  void shouldStoreEmptyStreamAsEmptyObject() throws IOException {
    OutputStreamSource source = newSource();
    source.close();

    StoredObject stored = run(() -> storage.put("empty/object", source));

    assertThat(stored.size()).isZero();
    assertThat(run(() -> storage.stat("empty/object")).size()).isZero();
    assertThat(run(() -> storage.getBytes("empty/object")).length()).isZero();
    assertThat(sha256Of("empty/object")).isEqualTo(sha256Hex(new byte[0]));
  }

  @Test
  void shouldPutBytesAndGetTheSameBytesBack() {
    byte[] data = Producer.bytes(300_000, 3);

    StoredObject stored = run(() -> storage.putBytes("hosts/db1/backups/b1/manifest.json", Buffer.buffer(data)));

    assertThat(stored).isEqualTo(new StoredObject("hosts/db1/backups/b1/manifest.json", data.length));
    assertThat(run(() -> storage.getBytes("hosts/db1/backups/b1/manifest.json")).getBytes()).isEqualTo(data);
  }

  @Test
  void shouldReplaceObjectWhenKeyIsWrittenAgain() {
    putText("flotilla.repo.json", "first version, longer than the second");

    putText("flotilla.repo.json", "second");

    assertThat(run(() -> storage.getBytes("flotilla.repo.json")).toString(StandardCharsets.UTF_8)).isEqualTo("second");
    assertThat(run(() -> storage.stat("flotilla.repo.json")).size()).isEqualTo(6);
    assertThat(keys("")).containsExactly("flotilla.repo.json");
  }

  @Test
  void shouldStatSizeOfStoredObject() {
    putText("dir/sub/object.bin", "12345678901");

    StoredObject stat = run(() -> storage.stat("dir/sub/object.bin"));

    assertThat(stat).isEqualTo(new StoredObject("dir/sub/object.bin", 11));
  }

  @Test
  void shouldListCompleteObjectsUnderPrefixWithRelativeKeysInOrder() {
    // Given objects written out of order, some sharing a prefix only as a string
    putText("hosts/db2/backups/b2/manifest.json", "m2");
    putText("hosts/db1/backups/b1/manifest.json", "m1");
    putText("hosts/db1/backups/b1/globals.sql", "globals");
    putText("hosts/db1/backups/b0/app.dump", "dump");
    putText("hosts/db10/backups/b9/manifest.json", "m9");
    putText("flotilla.repo.json", "{}");

    // When listing by prefix
    List<StoredObject> db1 = run(() -> storage.list("hosts/db1/"));

    // Then keys are relative to the repository, sorted, with sizes, and only under the prefix
    assertThat(db1).containsExactly(
        new StoredObject("hosts/db1/backups/b0/app.dump", 4),
        new StoredObject("hosts/db1/backups/b1/globals.sql", 7),
        new StoredObject("hosts/db1/backups/b1/manifest.json", 2));
    assertThat(keys("hosts/db1")).containsExactly(
        "hosts/db1/backups/b0/app.dump",
        "hosts/db1/backups/b1/globals.sql",
        "hosts/db1/backups/b1/manifest.json",
        "hosts/db10/backups/b9/manifest.json");
    assertThat(keys("hosts/db1/backups/b1/")).containsExactly(
        "hosts/db1/backups/b1/globals.sql", "hosts/db1/backups/b1/manifest.json");
    assertThat(keys("")).hasSize(6).isSorted();
    assertThat(keys("hosts/db3/")).isEmpty();
  }

  @Test
  void shouldNotListObjectWhosePutIsStillInProgress() throws Exception {
    // Given a put that has received 20 MiB but whose stream has not ended
    OutputStreamSource source = newSource();
    Producer producer = Producer.start(source, LARGE, 11, Producer.LEAVE_OPEN);
    Promise<StoredObject> put = Promise.promise();
    context.runOnContext(v -> storage.put("hosts/db1/backups/b1/app.dump", source).onComplete(put));
    String written = producer.sha256();

    // When listing meanwhile
    List<String> during = keys("hosts/db1/");

    // Then the unfinished object is neither listed nor found
    assertThat(during).isEmpty();
    assertFlotilla(failureOf(() -> storage.stat("hosts/db1/backups/b1/app.dump")), ErrorCode.NOT_FOUND);

    // and once the stream ends it is complete
    source.close();
    assertThat(put.future().await().size()).isEqualTo(LARGE);
    assertThat(keys("hosts/db1/")).containsExactly("hosts/db1/backups/b1/app.dump");
    assertThat(sha256Of("hosts/db1/backups/b1/app.dump")).isEqualTo(written);
  }

  @Test
  void shouldDeleteOneObjectAndAcceptDeletingMissingOne() {
    putText("a/one", "1");
    putText("a/two", "2");

    run(() -> storage.delete("a/one"));
    run(() -> storage.delete("a/never-written"));

    assertThat(keys("a/")).containsExactly("a/two");
    assertFlotilla(failureOf(() -> storage.getBytes("a/one")), ErrorCode.NOT_FOUND);
  }

  @Test
  void shouldDeleteEverythingUnderPrefixAndNothingElse() {
    putText("hosts/db1/backups/b1/manifest.json", "m1");
    putText("hosts/db1/backups/b1/db/app.dump", "dump");
    putText("hosts/db1/backups/b10/manifest.json", "m10");
    putText("hosts/db1/backups/b2/manifest.json", "m2");

    run(() -> storage.deletePrefix("hosts/db1/backups/b1/"));

    assertThat(keys("")).containsExactly("hosts/db1/backups/b10/manifest.json", "hosts/db1/backups/b2/manifest.json");
  }

  @Test
  void shouldDeleteIncompleteWritesUnderPrefixToo() throws Exception {
    putText("hosts/db1/backups/b1/globals.sql", "g");
    leaveIncompleteWrite("hosts/db1/backups/b1/app.dump");

    run(() -> storage.deletePrefix("hosts/db1/backups/b1/"));

    assertThat(keys("")).isEmpty();
    assertThat(run(() -> storage.cleanupIncomplete(""))).isZero();
  }

  @Test
  void shouldFailWithNotFoundForMissingKey() {
    putText("present", "x");

    FlotillaException get = assertFlotilla(failureOf(() -> storage.get("hosts/db1/backups/nope/app.dump")), ErrorCode.NOT_FOUND);
    assertFlotilla(failureOf(() -> storage.getBytes("hosts/db1/backups/nope/app.dump")), ErrorCode.NOT_FOUND);
    assertFlotilla(failureOf(() -> storage.stat("hosts/db1/backups/nope/app.dump")), ErrorCode.NOT_FOUND);
    assertFlotilla(failureOf(() -> storage.getBytes("absent")), ErrorCode.NOT_FOUND);

    assertThat(get.getMessage()).contains("hosts/db1/backups/nope/app.dump");
  }

  @Test
  void shouldLeaveNothingUnderKeyWhenSourceFailsMidway() throws Exception {
    // Given a stream whose producer dies after 12 MiB (past S3's first part)
    OutputStreamSource source = newSource();
    IOException dumpFailed = new IOException("pg_dump exited with status 1");
    Producer.start(source, 12L * MIB, 5, out -> source.fail(dumpFailed));

    // When it is stored
    Throwable failure = failureOf(() -> storage.put("hosts/db1/backups/b1/app.dump", source));

    // Then the put fails saying why, and nothing is visible under the key
    assertThat(failure).isInstanceOf(FlotillaException.class);
    assertThat(messages(failure)).contains("pg_dump exited with status 1");
    assertFlotilla(failureOf(() -> storage.stat("hosts/db1/backups/b1/app.dump")), ErrorCode.NOT_FOUND);
    assertFlotilla(failureOf(() -> storage.get("hosts/db1/backups/b1/app.dump")), ErrorCode.NOT_FOUND);
    assertThat(keys("")).isEmpty();

    // and whatever the failed write may have left is cleaned up once, leaving nothing
    run(() -> storage.cleanupIncomplete(""));
    assertThat(run(() -> storage.cleanupIncomplete(""))).isZero();
    assertThat(keys("")).isEmpty();
  }

  @Test
  void shouldCleanUpWhatInterruptedWritesLeftUnderPrefix() throws Exception {
    // Given two writes that died midway, one under the prefix cleaned and one elsewhere, and a complete object
    putText("hosts/db1/backups/b1/globals.sql", "g");
    leaveIncompleteWrite("hosts/db1/backups/b1/app.dump");
    leaveIncompleteWrite("hosts/db2/backups/b7/app.dump");

    // Then the leftovers are not objects
    assertThat(keys("")).containsExactly("hosts/db1/backups/b1/globals.sql");
    assertFlotilla(failureOf(() -> storage.stat("hosts/db1/backups/b1/app.dump")), ErrorCode.NOT_FOUND);

    // When cleaning up under one host's prefix
    int removed = run(() -> storage.cleanupIncomplete("hosts/db1/"));

    // Then that leftover is gone, complete objects and the other prefix are untouched
    assertThat(removed).isEqualTo(1);
    assertThat(run(() -> storage.cleanupIncomplete("hosts/db1/"))).isZero();
    assertThat(keys("")).containsExactly("hosts/db1/backups/b1/globals.sql");
    assertThat(run(() -> storage.getBytes("hosts/db1/backups/b1/globals.sql")).toString()).isEqualTo("g");
    assertThat(run(() -> storage.cleanupIncomplete("hosts/db2/"))).isEqualTo(1);
    assertThat(run(() -> storage.cleanupIncomplete(""))).isZero();
  }

  @Test
  void shouldStoreAgainUnderKeyAfterFailedPut() throws Exception {
    OutputStreamSource failing = newSource();
    Producer.start(failing, 9L * MIB, 8, out -> failing.fail(new IOException("disk read error")));
    failureOf(() -> storage.put("k/object", failing));

    OutputStreamSource source = newSource();
    Producer producer = Producer.start(source, 9L * MIB, 9, Producer.CLOSE);
    run(() -> storage.put("k/object", source));

    assertThat(sha256Of("k/object")).isEqualTo(producer.sha256());
    assertThat(keys("k/")).containsExactly("k/object");
  }

  protected static String messages(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      sb.append(c.getMessage()).append(" | ");
    }
    return sb.toString();
  }
}
