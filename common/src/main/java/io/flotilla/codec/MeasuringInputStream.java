package io.flotilla.codec;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.function.LongConsumer;

/** Counts bytes and takes their SHA-256 as they are read from {@code in}. */
public final class MeasuringInputStream extends FilterInputStream {
  private final MessageDigest digest = MeasuringOutputStream.sha256();
  private final LongConsumer onBytes;
  private long count;

  public MeasuringInputStream(InputStream in, LongConsumer onBytes) {
    super(in);
    this.onBytes = onBytes;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = in.read(b, off, len);
    if (n > 0) {
      digest.update(b, off, n);
      count += n;
      if (onBytes != null) {
        onBytes.accept(n);
      }
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    byte[] buf = new byte[8192];
    long skipped = 0;
    while (skipped < n) {
      int r = read(buf, 0, (int) Math.min(buf.length, n - skipped));
      if (r < 0) {
        break;
      }
      skipped += r;
    }
    return skipped;
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  /** Reads to the end, so count and digest cover the whole stream. */
  public void drain() throws IOException {
    byte[] buf = new byte[1 << 16];
    while (read(buf, 0, buf.length) >= 0) {
      // counting and digesting happen in read
    }
  }

  public long count() {
    return count;
  }

  public String sha256Hex() {
    return HexFormat.of().formatHex(digest.digest());
  }
}
