package io.flotilla.agent.transfer;

import io.flotilla.agent.postgres.PgSession;
import io.flotilla.agent.progress.Progress;
import io.flotilla.codec.CodecChain;
import io.flotilla.codec.MeasuringInputStream;
import io.flotilla.codec.MeasuringOutputStream;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifest;
import io.flotilla.repo.PutOptions;
import io.flotilla.repo.Repository;
import io.flotilla.repo.StoredObject;
import io.flotilla.stream.OutputStreamSource;
import io.flotilla.stream.ReadStreamInputStream;
import io.vertx.core.Future;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Moving one object between a process and the repository, through the codecs, on a thread the
 * application owns (the event loop only moves buffers). Nothing is staged on disk.
 */
public final class ObjectTransfers {
  private static final int COPY_BUFFER = 128 * 1024;

  private ObjectTransfers() {}

  /** What a producer measured: bytes before codecs, bytes stored and their SHA-256. */
  private record Produced(long plainBytes, long storedBytes, String sha256) {}

  /** Writes the plain bytes of an object on an application thread; throwing fails the upload. */
  public interface PlainProducer {
    void produce(OutputStream plain) throws Exception;
  }

  /**
   * Runs {@code command} and streams its stdout, compressed and encrypted, into {@code key}. The
   * object becomes visible only if the command exits 0 and the store succeeds.
   *
   * @param relativeKey the key relative to the backup folder, as the manifest records it
   */
  public static Future<Manifest.ObjectEntry> uploadCommandOutput(Repository repo, CodecChain codecs, String key, String relativeKey,
      String type, String format, List<String> command, String what, Progress progress) {
    return uploadCommandOutput(repo, codecs, key, relativeKey, type, format, command, what, progress, PutOptions.NONE);
  }

  /** {@link #uploadCommandOutput} with write hints (the backup's label, for the storage class). */
  public static Future<Manifest.ObjectEntry> uploadCommandOutput(Repository repo, CodecChain codecs, String key, String relativeKey,
      String type, String format, List<String> command, String what, Progress progress, PutOptions options) {
    return upload(repo, codecs, key, relativeKey, type, format, what, progress, options, plain -> {
      Process process;
      try {
        process = new ProcessBuilder(command).start();
      } catch (IOException e) {
        throw new FlotillaException(ErrorCode.POSTGRES, "cannot run " + command.get(0) + ": " + e.getMessage()
            + " (set postgres.bin or put the PostgreSQL client tools on PATH)");
      }
      StderrTail stderr = StderrTail.start(process.getErrorStream(), what);
      try {
        process.getOutputStream().close();
        try (InputStream in = process.getInputStream()) {
          in.transferTo(plain);
        }
        int exit = process.waitFor();
        if (exit != 0) {
          throw new FlotillaException(ErrorCode.POSTGRES, command.get(0).replaceAll(".*/", "") + " failed for " + what + " (exit " + exit + "): "
              + PgSession.firstErrorLine(stderr.text()));
        }
      } finally {
        process.destroyForcibly();
      }
    });
  }

  /**
   * Streams what {@code producer} writes, compressed and encrypted, into {@code key}, measuring the
   * plain and stored bytes and the SHA-256 of the stored bytes. The object becomes visible only if
   * the producer returns normally and the store succeeds.
   */
  public static Future<Manifest.ObjectEntry> upload(Repository repo, CodecChain codecs, String key, String relativeKey,
      String type, String format, String what, Progress progress, PlainProducer producer) {
    return upload(repo, codecs, key, relativeKey, type, format, what, progress, PutOptions.NONE, producer);
  }

  /** {@link #upload} with write hints (the backup's label, for the storage class). */
  public static Future<Manifest.ObjectEntry> upload(Repository repo, CodecChain codecs, String key, String relativeKey,
      String type, String format, String what, Progress progress, PutOptions options, PlainProducer producer) {
    OutputStreamSource source = new OutputStreamSource(repo.context());
    Future<StoredObject> stored = repo.storage().put(key, source, options);
    CompletableFuture<Produced> produced = new CompletableFuture<>();
    Thread thread = new Thread(() -> produce(repo, codecs, source, relativeKey, what, progress, producer, produced),
        "flotilla-" + what.replaceAll("[^A-Za-z0-9_.-]", "_"));
    thread.setDaemon(true);
    thread.start();
    stored.onFailure(source::cancel);
    Future<Produced> producedFuture = Future.fromCompletionStage(produced, repo.context());
    return Future.all(stored, producedFuture).recover(t -> {
      // Report the producer's failure first: a failed pg_dump explains a failed upload.
      if (producedFuture.failed()) {
        return Future.failedFuture(producedFuture.cause());
      }
      return Future.failedFuture(stored.failed() ? stored.cause() : t);
    }).map(v -> {
      Produced p = producedFuture.result();
      if (stored.result().size() != p.storedBytes()) {
        throw new FlotillaException(ErrorCode.REPOSITORY, "repository " + repo.describe() + " stored " + stored.result().size()
            + " bytes of " + key + " but " + p.storedBytes() + " were sent");
      }
      return new Manifest.ObjectEntry(relativeKey, type, format, p.storedBytes(), p.plainBytes(), p.sha256());
    });
  }

  private static void produce(Repository repo, CodecChain codecs, OutputStreamSource source, String name, String what, Progress progress,
      PlainProducer producer, CompletableFuture<Produced> result) {
    try {
      MeasuringOutputStream storedBytes = new MeasuringOutputStream(source, true, progress == null ? null : progress::stored);
      OutputStream encoder = codecs.encoder(storedBytes, repo.passphrase(), name);
      MeasuringOutputStream plainBytes = new MeasuringOutputStream(encoder, false, progress == null ? null : progress::plain);
      producer.produce(new java.io.FilterOutputStream(plainBytes) {
        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          plainBytes.write(b, off, len);
        }

        @Override
        public void close() {
          // the chain is closed below, once the producer is known to have succeeded
        }
      });
      plainBytes.close(); // finishes the zstd frame and the OpenPGP message, then ends the source
      result.complete(new Produced(plainBytes.count(), storedBytes.count(), storedBytes.sha256Hex()));
    } catch (Throwable t) {
      FlotillaException fe = t instanceof FlotillaException f ? f
          : t instanceof IOException && t.getMessage() != null && t.getMessage().startsWith("stream cancelled")
              ? new FlotillaException(ErrorCode.REPOSITORY, "upload of " + what + " to " + repo.describe() + " failed", t)
              : FlotillaException.of(t);
      source.fail(fe);
      result.completeExceptionally(fe);
    }
  }

  /** Consumes the plain bytes of an object on an application thread. */
  public interface PlainConsumer {
    void accept(InputStream plain) throws Exception;
  }

  /**
   * Reads {@code key}, decrypts and decompresses it, and hands the plain bytes to {@code consumer}
   * on a new thread. With {@code verify}, the object is read to its end and its size and SHA-256
   * are checked against {@code entry}: a mismatch fails with INTEGRITY naming the object.
   */
  public static Future<Void> download(Repository repo, CodecChain codecs, String key, Manifest.ObjectEntry entry, boolean verify,
      String what, Progress progress, PlainConsumer consumer) {
    return repo.storage().get(key).compose(stream -> {
      CompletableFuture<Void> done = new CompletableFuture<>();
      Thread t = new Thread(() -> {
        ReadStreamInputStream raw = new ReadStreamInputStream(repo.context(), stream, stream::cancel);
        MeasuringInputStream stored = new MeasuringInputStream(raw, progress == null ? null : progress::stored);
        try {
          try {
            InputStream plain = codecs.decoder(stored, repo.passphrase());
            consumer.accept(new MeasuringInputStream(plain, progress == null ? null : progress::plain));
            if (verify) {
              plain.transferTo(OutputStream.nullOutputStream());
            }
          } catch (Exception e) {
            // A digest mismatch names the damage more precisely than the codec error it caused.
            FlotillaException digest = verify ? digestMismatch(key, entry, stored) : null;
            throw digest != null ? digest : e;
          }
          if (verify) {
            FlotillaException digest = digestMismatch(key, entry, stored);
            if (digest != null) {
              throw digest;
            }
          }
          done.complete(null);
        } catch (Throwable e) {
          done.completeExceptionally(e);
        } finally {
          raw.close();
        }
      }, "flotilla-read-" + what.replaceAll("[^A-Za-z0-9_.-]", "_"));
      t.setDaemon(true);
      t.start();
      return Future.fromCompletionStage(done, repo.context());
    });
  }

  private static FlotillaException digestMismatch(String key, Manifest.ObjectEntry entry, MeasuringInputStream stored) {
    try {
      stored.drain();
    } catch (IOException e) {
      return new FlotillaException(ErrorCode.INTEGRITY, key + ": cannot be read to its end: " + e.getMessage(), e);
    }
    if (stored.count() != entry.storedBytes()) {
      return new FlotillaException(ErrorCode.INTEGRITY, key + ": size is " + stored.count() + " bytes, the manifest says " + entry.storedBytes());
    }
    String sha = stored.sha256Hex();
    if (!sha.equals(entry.sha256())) {
      return new FlotillaException(ErrorCode.INTEGRITY, key + ": SHA-256 is " + sha + ", the manifest says " + entry.sha256());
    }
    return null;
  }

  /** Keeps the last 16 KiB a process wrote to stderr, for error messages. */
  public static final class StderrTail {
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private final Thread thread;

    private StderrTail(InputStream in, String what) {
      thread = new Thread(() -> {
        byte[] b = new byte[4096];
        try {
          int n;
          while ((n = in.read(b)) >= 0) {
            synchronized (buffer) {
              buffer.write(b, 0, n);
              if (buffer.size() > 32 * 1024) {
                byte[] all = buffer.toByteArray();
                buffer.reset();
                buffer.write(all, all.length - 16 * 1024, 16 * 1024);
              }
            }
          }
        } catch (IOException e) {
          // process gone
        }
      }, "flotilla-stderr-" + what.replaceAll("[^A-Za-z0-9_.-]", "_"));
      thread.setDaemon(true);
      thread.start();
    }

    public static StderrTail start(InputStream in, String what) {
      return new StderrTail(in, what);
    }

    public String text() {
      try {
        thread.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      synchronized (buffer) {
        return buffer.toString(java.nio.charset.StandardCharsets.UTF_8);
      }
    }
  }
}
