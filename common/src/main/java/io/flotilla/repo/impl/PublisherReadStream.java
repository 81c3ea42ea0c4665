package io.flotilla.repo.impl;

import io.flotilla.repo.ObjectReadStream;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * A Reactive Streams publisher (the AWS SDK's response body) as a Vert.x read stream. Demand is
 * honoured: while paused, no more than {@link #WINDOW} items are requested from the publisher.
 */
final class PublisherReadStream implements ObjectReadStream, Subscriber<ByteBuffer> {
  private static final int WINDOW = 16;
  private final Context context;
  private final long size;
  private final Function<Throwable, Throwable> translate;
  private final ArrayDeque<Buffer> pending = new ArrayDeque<>();
  private Subscription subscription;
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;
  private long demand; // paused until resume()/fetch(), like the file backend's streams
  private int requested;
  private boolean completed;
  private Throwable failure;
  private boolean done;
  private boolean cancelled;

  PublisherReadStream(Context context, Publisher<ByteBuffer> publisher, long size, Function<Throwable, Throwable> translate) {
    this.context = context;
    this.size = size;
    this.translate = translate;
    publisher.subscribe(this);
  }

  @Override
  public long size() {
    return size;
  }

  // ---- Subscriber, called on SDK threads: hop to the context ----

  @Override
  public void onSubscribe(Subscription s) {
    context.runOnContext(v -> {
      subscription = s;
      if (cancelled) {
        s.cancel();
      } else {
        pump();
      }
    });
  }

  @Override
  public void onNext(ByteBuffer bb) {
    byte[] bytes = new byte[bb.remaining()];
    bb.get(bytes);
    context.runOnContext(v -> {
      requested--;
      pending.add(Buffer.buffer(bytes));
      pump();
    });
  }

  @Override
  public void onError(Throwable t) {
    context.runOnContext(v -> {
      failure = translate.apply(t);
      pump();
    });
  }

  @Override
  public void onComplete() {
    context.runOnContext(v -> {
      completed = true;
      pump();
    });
  }

  private void pump() {
    if (done || cancelled) {
      return;
    }
    if (failure != null) {
      done = true;
      if (exceptionHandler != null) {
        exceptionHandler.handle(failure);
      }
      return;
    }
    while (handler != null && demand > 0 && !pending.isEmpty()) {
      if (demand != Long.MAX_VALUE) {
        demand--;
      }
      handler.handle(pending.poll());
      if (done || cancelled) {
        return;
      }
    }
    if (pending.isEmpty() && completed) {
      if (handler != null) {
        done = true;
        if (endHandler != null) {
          endHandler.handle(null);
        }
      }
      return;
    }
    if (subscription != null && handler != null && demand > 0 && !completed) {
      int want = WINDOW - requested - pending.size();
      if (want > 0) {
        requested += want;
        subscription.request(want);
      }
    }
  }

  @Override
  public void cancel() {
    cancelled = true;
    if (subscription != null) {
      subscription.cancel();
    }
  }

  @Override
  public PublisherReadStream exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    return this;
  }

  @Override
  public PublisherReadStream handler(Handler<Buffer> handler) {
    this.handler = handler;
    context.runOnContext(v -> pump());
    return this;
  }

  @Override
  public PublisherReadStream pause() {
    demand = 0;
    return this;
  }

  @Override
  public PublisherReadStream resume() {
    return fetch(Long.MAX_VALUE);
  }

  @Override
  public PublisherReadStream fetch(long amount) {
    demand = demand + amount < 0 ? Long.MAX_VALUE : demand + amount;
    context.runOnContext(v -> pump());
    return this;
  }

  @Override
  public PublisherReadStream endHandler(Handler<Void> endHandler) {
    this.endHandler = endHandler;
    return this;
  }
}
