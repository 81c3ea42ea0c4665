package io.flotilla.stream;

import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Bridges a producer thread writing an {@link OutputStream} (a pg_dump reader, a compressor, an
 * encryptor) to a Vert.x {@link ReadStream} consumed on one context.
 *
 * <p>Backpressure is real: at most {@code maxQueuedChunks} chunks of {@code chunkSize} bytes wait
 * between the two sides; past that, {@link #write} blocks the producer thread (never an event
 * loop) until the consumer asks for more. Memory is therefore bounded whatever the data size.
 *
 * <p>The producer ends the stream with {@link #close()} or fails it with {@link #fail(Throwable)};
 * the consumer may {@link #cancel(Throwable)}, after which the producer's next write throws.
 */
public final class OutputStreamSource extends OutputStream implements ReadStream<Buffer> {
  private final Context context;
  private final int chunkSize;
  private final int maxQueuedChunks;
  private final Object lock = new Object();
  private final ArrayDeque<Buffer> queue = new ArrayDeque<>();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();

  private byte[] pending;
  private int pendingLength;

  // Guarded by lock.
  private long demand = Long.MAX_VALUE;
  private boolean ended;
  private Throwable failure;
  private Throwable cancelled;
  private boolean terminated;

  // Touched only on the context.
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;

  public OutputStreamSource(Context context, int chunkSize, int maxQueuedChunks) {
    this.context = context;
    this.chunkSize = chunkSize;
    this.maxQueuedChunks = maxQueuedChunks;
    this.pending = new byte[chunkSize];
  }

  /** 128 KiB chunks, at most 16 queued: 2 MiB in flight between the threads. */
  public OutputStreamSource(Context context) {
    this(context, 128 * 1024, 16);
  }

  // ---- producer side (any thread but the context's) ----

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    synchronized (lock) {
      if (cancelled != null) {
        throw new IOException("stream cancelled by its consumer: " + cancelled.getMessage(), cancelled);
      }
    }
    while (len > 0) {
      int n = Math.min(len, chunkSize - pendingLength);
      System.arraycopy(b, off, pending, pendingLength, n);
      pendingLength += n;
      off += n;
      len -= n;
      if (pendingLength == chunkSize) {
        emit();
      }
    }
  }

  @Override
  public void flush() throws IOException {
    // Chunks are emitted when full or on close; flushing small writes would only add overhead.
  }

  private void emit() throws IOException {
    synchronized (lock) {
      if (cancelled != null) {
        throw new IOException("stream cancelled by its consumer: " + cancelled.getMessage(), cancelled);
      }
      if (failure != null) {
        throw new IOException("stream already failed: " + failure.getMessage(), failure);
      }
    }
    if (pendingLength == 0) {
      return;
    }
    Buffer chunk = Buffer.buffer(pendingLength == chunkSize ? pending : java.util.Arrays.copyOf(pending, pendingLength));
    pending = new byte[chunkSize];
    pendingLength = 0;
    synchronized (lock) {
      while (queue.size() >= maxQueuedChunks && cancelled == null) {
        try {
          lock.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while waiting for the consumer");
        }
      }
      if (cancelled != null) {
        throw new IOException("stream cancelled by its consumer: " + cancelled.getMessage(), cancelled);
      }
      queue.add(chunk);
    }
    scheduleDrain();
  }

  /** Ends the stream normally once everything written is delivered. */
  @Override
  public void close() throws IOException {
    synchronized (lock) {
      if (ended || failure != null) {
        return;
      }
    }
    emit();
    synchronized (lock) {
      ended = true;
    }
    scheduleDrain();
  }

  /** Fails the stream: the consumer's exception handler gets {@code cause}; queued data is dropped. */
  public void fail(Throwable cause) {
    synchronized (lock) {
      if (failure == null && !ended) {
        failure = cause;
      }
      queue.clear();
      lock.notifyAll();
    }
    scheduleDrain();
  }

  // ---- consumer side ----

  /** Stops the producer: its next write throws. Safe from any thread. */
  public void cancel(Throwable cause) {
    synchronized (lock) {
      if (cancelled == null) {
        cancelled = cause;
      }
      queue.clear();
      lock.notifyAll();
    }
  }

  @Override
  public OutputStreamSource exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    return this;
  }

  @Override
  public OutputStreamSource handler(Handler<Buffer> handler) {
    this.handler = handler;
    if (handler != null) {
      scheduleDrain();
    }
    return this;
  }

  @Override
  public OutputStreamSource pause() {
    synchronized (lock) {
      demand = 0;
    }
    return this;
  }

  @Override
  public OutputStreamSource resume() {
    return fetch(Long.MAX_VALUE);
  }

  @Override
  public OutputStreamSource fetch(long amount) {
    synchronized (lock) {
      demand = demand + amount < 0 ? Long.MAX_VALUE : demand + amount;
    }
    scheduleDrain();
    return this;
  }

  @Override
  public OutputStreamSource endHandler(Handler<Void> endHandler) {
    this.endHandler = endHandler;
    return this;
  }

  private void scheduleDrain() {
    if (drainScheduled.compareAndSet(false, true)) {
      context.runOnContext(v -> {
        drainScheduled.set(false);
        drain();
      });
    }
  }

  private void drain() {
    while (true) {
      Buffer next;
      Throwable failed = null;
      boolean end = false;
      synchronized (lock) {
        if (terminated) {
          return;
        }
        if (failure != null) {
          failed = failure;
          terminated = true;
          next = null;
        } else if (handler == null || demand == 0 || queue.isEmpty()) {
          next = null;
          if (queue.isEmpty() && ended && handler != null) {
            end = true;
            terminated = true;
          }
        } else {
          next = queue.poll();
          if (demand != Long.MAX_VALUE) {
            demand--;
          }
          lock.notifyAll();
        }
      }
      if (failed != null) {
        if (exceptionHandler != null) {
          exceptionHandler.handle(failed);
        }
        return;
      }
      if (end) {
        if (endHandler != null) {
          endHandler.handle(null);
        }
        return;
      }
      if (next == null) {
        return;
      }
      Handler<Buffer> h = handler;
      if (h != null) {
        h.handle(next);
      }
    }
  }
}
