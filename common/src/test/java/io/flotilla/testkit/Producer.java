package io.flotilla.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A producer thread writing seeded pseudo-random bytes into an {@link OutputStream}, the way the
 * thread reading pg_dump's stdout writes into an {@code OutputStreamSource}. It records how many
 * bytes its writes have returned for and the SHA-256 of everything it wrote.
 */
public final class Producer {
  /** What the producer does once all bytes are written: close, fail the stream, or nothing. */
  @FunctionalInterface
  public interface Ending {
    void finish(OutputStream out) throws IOException;
  }

  public static final Ending CLOSE = OutputStream::close;
  public static final Ending LEAVE_OPEN = out -> {};

  private static final int WRITE_SIZE = 64 * 1024;

  private final Thread thread;
  private final AtomicLong written = new AtomicLong();
  private final CompletableFuture<String> sha256 = new CompletableFuture<>();

  private Producer(OutputStream out, long size, long seed, Ending ending) {
    this.thread = new Thread(() -> run(out, size, seed, ending), "test-producer");
    this.thread.setDaemon(true);
  }

  /** Starts writing {@code size} bytes generated from {@code seed}, then applies {@code ending}. */
  public static Producer start(OutputStream out, long size, long seed, Ending ending) {
    Producer p = new Producer(out, size, seed, ending);
    p.thread.start();
    return p;
  }

  private void run(OutputStream out, long size, long seed, Ending ending) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      Random random = new Random(seed);
      byte[] block = new byte[WRITE_SIZE];
      long left = size;
      while (left > 0) {
        int n = (int) Math.min(block.length, left);
        random.nextBytes(block);
        out.write(block, 0, n);
        digest.update(block, 0, n);
        written.addAndGet(n);
        left -= n;
      }
      ending.finish(out);
      sha256.complete(HexFormat.of().formatHex(digest.digest()));
    } catch (IOException | RuntimeException | NoSuchAlgorithmException e) {
      sha256.completeExceptionally(e);
    }
  }

  /** Bytes the producer's writes have returned for so far. */
  public long written() {
    return written.get();
  }

  public Thread thread() {
    return thread;
  }

  /** Blocks until the producer's thread parks inside a write, waiting for the consumer. */
  public void awaitBlocked() throws InterruptedException {
    while (thread.getState() != Thread.State.WAITING) {
      if (!thread.isAlive()) {
        throw new IllegalStateException("producer finished instead of blocking; wrote " + written() + " bytes");
      }
      Thread.sleep(5);
    }
  }

  /** Waits for the producer to finish and returns the hex SHA-256 of what it wrote. */
  public String sha256() throws IOException {
    try {
      return sha256.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw e;
    }
  }

  /** Waits for the producer to finish and returns the exception its writing threw, or null. */
  public Throwable failure() {
    try {
      sha256.join();
      return null;
    } catch (CompletionException e) {
      return e.getCause();
    }
  }

  /** Hex SHA-256 of {@code size} bytes generated from {@code seed}, as a producer writes them. */
  public static String expectedSha256(long size, long seed) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      Random random = new Random(seed);
      byte[] block = new byte[WRITE_SIZE];
      for (long left = size; left > 0; left -= block.length) {
        random.nextBytes(block);
        digest.update(block, 0, (int) Math.min(block.length, left));
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The first {@code size} bytes a producer with {@code seed} writes. */
  public static byte[] bytes(int size, long seed) {
    byte[] out = new byte[size];
    Random random = new Random(seed);
    byte[] block = new byte[WRITE_SIZE];
    for (int off = 0; off < size; off += block.length) {
      random.nextBytes(block);
      System.arraycopy(block, 0, out, off, Math.min(block.length, size - off));
    }
    return out;
  }
}
