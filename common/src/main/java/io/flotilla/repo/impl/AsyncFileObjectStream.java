package io.flotilla.repo.impl;

import io.flotilla.repo.ObjectReadStream;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;

/** An open AsyncFile as an {@link ObjectReadStream}: the end and cancel close the file. */
final class AsyncFileObjectStream implements ObjectReadStream {
  private final AsyncFile file;
  private final long size;

  AsyncFileObjectStream(AsyncFile file, long size) {
    this.file = file;
    this.size = size;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public void cancel() {
    file.close();
  }

  @Override
  public AsyncFileObjectStream exceptionHandler(Handler<Throwable> handler) {
    file.exceptionHandler(handler);
    return this;
  }

  @Override
  public AsyncFileObjectStream handler(Handler<Buffer> handler) {
    file.handler(handler);
    return this;
  }

  @Override
  public AsyncFileObjectStream pause() {
    file.pause();
    return this;
  }

  @Override
  public AsyncFileObjectStream resume() {
    file.resume();
    return this;
  }

  @Override
  public AsyncFileObjectStream fetch(long amount) {
    file.fetch(amount);
    return this;
  }

  @Override
  public AsyncFileObjectStream endHandler(Handler<Void> endHandler) {
    file.endHandler(v -> {
      file.close();
      if (endHandler != null) {
        endHandler.handle(v);
      }
    });
    return this;
  }
}
