package io.flotilla.agent.archive;

import io.flotilla.error.FlotillaException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs a producer of plain bytes on a second thread and copies what it writes into a sink on the
 * calling thread, through a small bounded queue of 256 KiB chunks (2 MiB at most in flight). On two
 * cores, reading and framing files on one thread while the other compresses and encrypts keeps
 * both busy, as the processes of {@code tar | zstd | gpg} do.
 */
public final class Pipelined {
  private static final int CHUNK = 256 * 1024;
  private static final byte[] END = new byte[0];

  /** Writes plain bytes; throwing fails the whole transfer. */
  public interface Producer {
    void produce(OutputStream out) throws Exception;
  }

  private Pipelined() {}

  public static void run(String name, Producer producer, OutputStream sink) throws Exception {
    BlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(8);
    Throwable[] failure = new Throwable[1];
    boolean[] abandoned = new boolean[1];
    Thread thread = new Thread(() -> {
      ChunkOutput out = new ChunkOutput(queue, abandoned);
      try {
        producer.produce(out);
        out.flushChunk();
        out.put(END);
      } catch (Throwable t) {
        synchronized (failure) {
          failure[0] = t;
        }
        queue.clear();
        queue.offer(END); // wake the consumer; the failure is reported from there
      }
    }, name);
    thread.setDaemon(true);
    thread.start();
    try {
      while (true) {
        byte[] chunk = queue.take();
        if (chunk == END) {
          break;
        }
        sink.write(chunk);
      }
    } catch (Throwable t) {
      synchronized (abandoned) {
        abandoned[0] = true;
      }
      queue.clear();
      thread.join(TimeUnit.SECONDS.toMillis(30));
      throw t;
    }
    thread.join();
    synchronized (failure) {
      if (failure[0] != null) {
        throw failure[0] instanceof Exception e ? e : FlotillaException.of(failure[0]);
      }
    }
  }

  private static final class ChunkOutput extends OutputStream {
    private final BlockingQueue<byte[]> queue;
    private final boolean[] abandoned;
    private byte[] buf = new byte[CHUNK];
    private int n;

    ChunkOutput(BlockingQueue<byte[]> queue, boolean[] abandoned) {
      this.queue = queue;
      this.abandoned = abandoned;
    }

    @Override
    public void write(int b) throws IOException {
      if (n == buf.length) {
        flushChunk();
      }
      buf[n++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      while (len > 0) {
        if (n == buf.length) {
          flushChunk();
        }
        int k = Math.min(len, buf.length - n);
        System.arraycopy(b, off, buf, n, k);
        n += k;
        off += k;
        len -= k;
      }
    }

    void flushChunk() throws IOException {
      if (n > 0) {
        byte[] full = n == buf.length ? buf : java.util.Arrays.copyOf(buf, n);
        put(full);
        buf = new byte[CHUNK];
        n = 0;
      }
    }

    void put(byte[] chunk) throws IOException {
      try {
        while (!queue.offer(chunk, 200, TimeUnit.MILLISECONDS)) {
          synchronized (abandoned) {
            if (abandoned[0]) {
              throw new IOException("stream cancelled: the consumer stopped");
            }
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted");
      }
    }
  }
}
