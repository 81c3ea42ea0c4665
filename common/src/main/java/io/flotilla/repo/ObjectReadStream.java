package io.flotilla.repo;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/** A stored object being read; {@link #cancel()} stops the transfer early and frees it. */
public interface ObjectReadStream extends ReadStream<Buffer> {
  long size();

  void cancel();
}
