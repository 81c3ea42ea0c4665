package io.flotilla.codec;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.LongConsumer;

/** Counts bytes (and optionally takes their SHA-256) on their way to {@code out}. */
public final class MeasuringOutputStream extends FilterOutputStream {
  private final MessageDigest digest;
  private final LongConsumer onBytes;
  private long count;

  public MeasuringOutputStream(OutputStream out, boolean sha256, LongConsumer onBytes) {
    super(out);
    this.digest = sha256 ? sha256() : null;
    this.onBytes = onBytes;
  }

  /** A new SHA-256 digest (always available in the JDK). */
  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    out.write(b, off, len);
    if (digest != null) {
      digest.update(b, off, len);
    }
    count += len;
    if (onBytes != null) {
      onBytes.accept(len);
    }
  }

  public long count() {
    return count;
  }

  /** Hex SHA-256 of everything written; call once, after close. */
  public String sha256Hex() {
    return HexFormat.of().formatHex(digest.digest());
  }
}
