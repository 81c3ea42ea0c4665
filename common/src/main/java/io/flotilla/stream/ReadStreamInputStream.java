package io.flotilla.stream;

import io.flotilla.error.FlotillaException;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;

/**
 * Bridges a Vert.x {@link ReadStream} (an object being read from the repository) to a consumer
 * thread reading an {@link InputStream} (a decryptor feeding pg_restore). The stream is paused
 * while more than {@code maxQueuedBytes} wait unread, so memory stays bounded.
 */
public final class ReadStreamInputStream extends InputStream {
  private final Context context;
  private final ReadStream<Buffer> stream;
  private final long maxQueuedBytes;
  private final Runnable onEarlyClose;
  private final Object lock = new Object();
  private final ArrayDeque<Buffer> queue = new ArrayDeque<>();

  // Guarded by lock.
  private long queuedBytes;
  private boolean paused;
  private boolean ended;
  private Throwable failure;
  private boolean closed;

  private Buffer current;
  private int position;

  /**
   * @param onEarlyClose run on the context when the reader closes before the end (cancels the
   *     underlying request); may be null
   */
  public ReadStreamInputStream(Context context, ReadStream<Buffer> stream, long maxQueuedBytes, Runnable onEarlyClose) {
    this.context = context;
    this.stream = stream;
    this.maxQueuedBytes = maxQueuedBytes;
    this.onEarlyClose = onEarlyClose;
    context.runOnContext(v -> {
      stream.exceptionHandler(t -> {
        synchronized (lock) {
          failure = t;
          lock.notifyAll();
        }
      });
      stream.endHandler(e -> {
        synchronized (lock) {
          ended = true;
          lock.notifyAll();
        }
      });
      stream.handler(buffer -> {
        synchronized (lock) {
          if (closed) {
            return;
          }
          queue.add(buffer);
          queuedBytes += buffer.length();
          if (queuedBytes >= maxQueuedBytes && !paused) {
            paused = true;
            stream.pause();
          }
          lock.notifyAll();
        }
      });
      stream.resume();
    });
  }

  public ReadStreamInputStream(Context context, ReadStream<Buffer> stream, Runnable onEarlyClose) {
    this(context, stream, 4L * 1024 * 1024, onEarlyClose);
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    if (current == null || position >= current.length()) {
      if (!nextBuffer()) {
        return -1;
      }
    }
    int n = Math.min(len, current.length() - position);
    current.getBytes(position, position + n, b, off);
    position += n;
    return n;
  }

  private boolean nextBuffer() throws IOException {
    synchronized (lock) {
      while (queue.isEmpty()) {
        if (failure != null) {
          throw asIOException(failure);
        }
        if (ended || closed) {
          return false;
        }
        try {
          lock.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while reading from the repository");
        }
      }
      current = queue.poll();
      position = 0;
      queuedBytes -= current.length();
      if (paused && queuedBytes < maxQueuedBytes / 2) {
        paused = false;
        context.runOnContext(v -> stream.resume());
      }
      return true;
    }
  }

  private static IOException asIOException(Throwable t) {
    if (t instanceof IOException io) {
      return io;
    }
    if (t instanceof FlotillaException fe) {
      return new IOException(fe.getMessage(), fe);
    }
    return new IOException(t.getMessage() == null ? t.toString() : t.getMessage(), t);
  }

  @Override
  public void close() {
    boolean early;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      early = !ended && failure == null;
      queue.clear();
      lock.notifyAll();
    }
    if (early) {
      context.runOnContext(v -> {
        stream.handler(null);
        stream.pause();
        if (onEarlyClose != null) {
          onEarlyClose.run();
        }
      });
    }
  }
}
