package io.flotilla.repo;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.util.List;
import java.util.Set;

/**
 * One interface over every place a repository can live. Keys are relative, '/'-separated paths.
 * Backends differ by {@link StorageFeature}, never by type checks in callers.
 *
 * <p>Every write is atomic: an object is either absent or complete (written under a temporary name
 * and renamed, or a multipart upload that is completed only at the end and aborted on failure).
 */
public interface Storage {

  /** Where this storage lives, for messages (never holds a secret). */
  String describe();

  Set<StorageFeature> features();

  /**
   * Streams {@code data} into {@code key}. The returned future completes once the object is
   * durable; it fails (and leaves nothing visible under {@code key}) if {@code data} fails or the
   * backend does. The caller must create no other handlers on {@code data}.
   */
  Future<StoredObject> put(String key, ReadStream<Buffer> data);

  /** Writes a small object whole. Atomic like {@link #put}. */
  Future<StoredObject> putBytes(String key, Buffer data);

  /** {@link #put} with hints (see {@link PutOptions}); backends without a use for them ignore them. */
  default Future<StoredObject> put(String key, ReadStream<Buffer> data, PutOptions options) {
    return put(key, data);
  }

  /** {@link #putBytes} with hints (see {@link PutOptions}). */
  default Future<StoredObject> putBytes(String key, Buffer data, PutOptions options) {
    return putBytes(key, data);
  }

  /**
   * Opens {@code key} for reading. The stream starts paused: set the handlers, then call
   * {@code resume()} or {@code fetch(n)}. Fails with NOT_FOUND when the object does not exist.
   */
  Future<ObjectReadStream> get(String key);

  /** Reads a small object whole. Fails with NOT_FOUND when the object does not exist. */
  Future<Buffer> getBytes(String key);

  /** Size of {@code key}, or a failed future with NOT_FOUND. */
  Future<StoredObject> stat(String key);

  /** Every complete object whose key starts with {@code prefix}, in key order. */
  Future<List<StoredObject>> list(String prefix);

  /** Deletes one object; deleting a missing object succeeds. */
  Future<Void> delete(String key);

  /** Deletes every object under {@code prefix}, complete or not. */
  Future<Void> deletePrefix(String prefix);

  /**
   * Removes what interrupted writes left under {@code prefix}: temporary files, unfinished
   * multipart uploads. Returns how many were removed.
   */
  Future<Integer> cleanupIncomplete(String prefix);

  Future<Void> close();
}
