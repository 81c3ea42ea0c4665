package io.flotilla.codec;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/** The compression codecs. Each writes a standard format that the stock command-line tool reads. */
public enum Compression {
  ZSTD("zstd", ".zst"),
  GZIP("gzip", ".gz"),
  NONE("none", "");

  private final String id;
  private final String suffix;

  Compression(String id, String suffix) {
    this.id = id;
    this.suffix = suffix;
  }

  public String id() {
    return id;
  }

  public String suffix() {
    return suffix;
  }

  public static Compression of(String id) {
    for (Compression c : values()) {
      if (c.id.equals(id)) {
        return c;
      }
    }
    throw new IllegalArgumentException("unknown compression '" + id + "'");
  }

  /** Wraps {@code out}; closing the result finishes the frame and closes {@code out}. */
  public OutputStream encoder(OutputStream out, int level, int workers) throws IOException {
    switch (this) {
      case ZSTD -> {
        ZstdOutputStreamNoFinalizer z = new ZstdOutputStreamNoFinalizer(out, level);
        if (workers > 0) {
          z.setWorkers(workers);
        }
        z.setChecksum(true);
        return z;
      }
      case GZIP -> {
        return new GZIPOutputStream(out, 1 << 16) {
          {
            def.setLevel(level);
          }
        };
      }
      default -> {
        return out;
      }
    }
  }

  public InputStream decoder(InputStream in) throws IOException {
    return switch (this) {
      case ZSTD -> new ZstdInputStreamNoFinalizer(in);
      case GZIP -> new GZIPInputStream(in, 1 << 16);
      case NONE -> in;
    };
  }
}
