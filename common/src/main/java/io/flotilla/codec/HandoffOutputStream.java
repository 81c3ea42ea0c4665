package io.flotilla.codec;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Hands bytes to a thread of its own that writes them to {@code downstream}, so two codec stages
 * (compression on the caller's thread, encryption and hashing on this one) run in parallel, as the
 * processes of a shell pipeline do. At most {@code maxQueued} chunks of {@code chunkSize} bytes wait
 * between them: the writer blocks beyond that. A failure downstream is thrown by the next write or
 * by close. The hand-off thread ends on close, on failure, or once the thread that created the
 * stream has ended without closing it (a producer that failed).
 */
public final class HandoffOutputStream extends OutputStream {
  private static final byte[] END = new byte[0];
  private static final byte[] ABORT = new byte[0];

  private final BlockingQueue<byte[]> queue;
  private final int chunkSize;
  private final Thread thread;
  private volatile Throwable failure;
  private byte[] pending;
  private int pendingLength;
  private boolean closed;

  public HandoffOutputStream(OutputStream downstream, String threadName, int chunkSize, int maxQueued) {
    this.queue = new ArrayBlockingQueue<>(maxQueued + 1);
    this.chunkSize = chunkSize;
    this.pending = new byte[chunkSize];
    Thread producer = Thread.currentThread();
    this.thread = new Thread(() -> {
      try {
        while (true) {
          byte[] chunk = queue.poll(1, java.util.concurrent.TimeUnit.SECONDS);
          if (chunk == null) {
            if (!producer.isAlive()) {
              return; // abandoned by a producer that failed
            }
            continue;
          }
          if (chunk == ABORT) {
            return;
          }
          if (chunk == END) {
            if (failure == null) {
              downstream.close();
            }
            return;
          }
          if (failure == null) {
            downstream.write(chunk);
          }
        }
      } catch (Throwable t) {
        failure = t;
        queue.clear(); // the writer sees the failure at its next write or close
      }
    }, threadName);
    thread.setDaemon(true);
    thread.start();
  }

  public HandoffOutputStream(OutputStream downstream, String threadName) {
    this(downstream, threadName, 256 * 1024, 8);
  }

  private void check() throws IOException {
    Throwable t = failure;
    if (t instanceof IOException io) {
      throw io;
    }
    if (t instanceof RuntimeException re) {
      throw re;
    }
    if (t != null) {
      throw new IOException(t.getMessage(), t);
    }
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    check();
    while (len > 0) {
      int n = Math.min(len, chunkSize - pendingLength);
      System.arraycopy(b, off, pending, pendingLength, n);
      pendingLength += n;
      off += n;
      len -= n;
      if (pendingLength == chunkSize) {
        put(pending);
        pending = new byte[chunkSize];
        pendingLength = 0;
      }
    }
  }

  private void put(byte[] chunk) throws IOException {
    try {
      while (!queue.offer(chunk, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        check();
        if (!thread.isAlive()) {
          throw new IOException(thread.getName() + " stopped");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while handing data to " + thread.getName());
    }
    check();
  }

  /** Sends what is pending, closes downstream on the hand-off thread and waits for it. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    if (pendingLength > 0 && failure == null) {
      put(java.util.Arrays.copyOf(pending, pendingLength));
    }
    if (failure == null) {
      put(END);
    }
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while closing " + thread.getName());
    }
    check();
  }

  /** Stops the hand-off thread without closing downstream (the producer failed). */
  public void abort() {
    closed = true;
    queue.clear();
    queue.offer(ABORT);
  }
}
