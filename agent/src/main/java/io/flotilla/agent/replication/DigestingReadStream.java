package io.flotilla.agent.replication;

import io.flotilla.codec.MeasuringOutputStream;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Passes a stream through unchanged while counting its bytes and hashing them with SHA-256, so a
 * copy learns what it sent without a second read of the source. Hashing one buffer is a few tens of
 * microseconds, cheap enough for the event loop that moves it anyway.
 */
final class DigestingReadStream implements ReadStream<Buffer> {
  private final ReadStream<Buffer> source;
  private final MessageDigest digest = MeasuringOutputStream.sha256();
  private long count;

  DigestingReadStream(ReadStream<Buffer> source) {
    this.source = source;
  }

  long count() {
    return count;
  }

  /** The SHA-256 of everything passed so far; call once, after the end. */
  String sha256Hex() {
    return HexFormat.of().formatHex(digest.digest());
  }

  @Override
  public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
    source.exceptionHandler(handler);
    return this;
  }

  @Override
  public ReadStream<Buffer> handler(Handler<Buffer> handler) {
    if (handler == null) {
      source.handler(null);
    } else {
      source.handler(b -> {
        digest.update(b.getBytes());
        count += b.length();
        handler.handle(b);
      });
    }
    return this;
  }

  @Override
  public ReadStream<Buffer> pause() {
    source.pause();
    return this;
  }

  @Override
  public ReadStream<Buffer> resume() {
    source.resume();
    return this;
  }

  @Override
  public ReadStream<Buffer> fetch(long amount) {
    source.fetch(amount);
    return this;
  }

  @Override
  public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
    source.endHandler(endHandler);
    return this;
  }
}
