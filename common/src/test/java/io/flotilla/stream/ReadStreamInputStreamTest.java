package io.flotilla.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.testkit.Producer;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.junit5.VertxExtension;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The ReadStream-to-InputStream bridge: a slow reader pauses the stream; nothing is lost. */
@ExtendWith(VertxExtension.class)
@Timeout(60)
class ReadStreamInputStreamTest {
  private static final int BUFFER = 16 * 1024;
  private static final long MAX_QUEUED = 256 * 1024;

  private Context context;

  @BeforeEach
  void createContext(Vertx vertx) {
    context = vertx.getOrCreateContext();
  }

  /**
   * A read stream of {@code data} cut into buffers, in the spirit of Vert.x's FakeStream: it emits
   * on the context whenever it has demand, counts pause() calls, and records the most bytes it was
   * ever ahead of the reader.
   */
  private static final class FakeStream implements ReadStream<Buffer> {
    private final byte[] data;
    private final AtomicLong read;
    private int offset;
    private long demand; // paused until the bridge resumes it
    private boolean emitting;
    private Handler<Buffer> handler;
    private Handler<Void> endHandler;
    private Handler<Throwable> exceptionHandler;
    private Throwable failAt;
    private int failOffset = -1;
    int pauses;
    long mostAhead;
    boolean ended;

    FakeStream(byte[] data, AtomicLong read) {
      this.data = data;
      this.read = read;
    }

    FakeStream failingAt(int offset, Throwable failure) {
      this.failOffset = offset;
      this.failAt = failure;
      return this;
    }

    private void emit() {
      if (emitting) {
        return;
      }
      emitting = true;
      try {
        while (demand > 0 && handler != null && offset < data.length) {
          if (offset == failOffset) {
            exceptionHandler.handle(failAt);
            return;
          }
          int n = Math.min(BUFFER, data.length - offset);
          Buffer b = Buffer.buffer().appendBytes(data, offset, n);
          offset += n;
          mostAhead = Math.max(mostAhead, offset - read.get());
          if (demand != Long.MAX_VALUE) {
            demand--;
          }
          handler.handle(b);
        }
        if (offset == data.length && !ended && demand > 0 && endHandler != null) {
          ended = true;
          endHandler.handle(null);
        }
      } finally {
        emitting = false;
      }
    }

    @Override
    public FakeStream exceptionHandler(Handler<Throwable> handler) {
      this.exceptionHandler = handler;
      return this;
    }

    @Override
    public FakeStream handler(Handler<Buffer> handler) {
      this.handler = handler;
      return this;
    }

    @Override
    public FakeStream pause() {
      pauses++;
      demand = 0;
      return this;
    }

    @Override
    public FakeStream resume() {
      return fetch(Long.MAX_VALUE);
    }

    @Override
    public FakeStream fetch(long amount) {
      demand = demand + amount < 0 ? Long.MAX_VALUE : demand + amount;
      emit();
      return this;
    }

    @Override
    public FakeStream endHandler(Handler<Void> endHandler) {
      this.endHandler = endHandler;
      return this;
    }
  }

  private <T> T onContext(Supplier<T> action) {
    Promise<T> done = Promise.promise();
    context.runOnContext(v -> done.complete(action.get()));
    return done.future().await();
  }

  @Test
  void shouldPauseStreamForSlowReaderAndReadEverythingSent() throws IOException {
    // Given a stream of 8 MiB and a bridge holding at most 256 KiB
    byte[] data = Producer.bytes(8 * 1024 * 1024, 77);
    AtomicLong read = new AtomicLong();
    FakeStream stream = new FakeStream(data, read);
    ByteArrayOutputStream got = new ByteArrayOutputStream();

    // When a reader that has not kept up then takes small bites
    try (InputStream in = new ReadStreamInputStream(context, stream, MAX_QUEUED, null)) {
      assertThat(onContext(() -> stream.pauses)).as("paused before the reader read anything").isEqualTo(1);
      assertThat(onContext(() -> stream.offset)).isEqualTo((int) MAX_QUEUED);
      byte[] bite = new byte[3000];
      for (int n; (n = in.read(bite)) >= 0; ) {
        got.write(bite, 0, n);
        read.addAndGet(n);
      }
    }

    // Then the stream was paused again and again, never ran far ahead, and every byte came through in order
    int pauses = onContext(() -> stream.pauses);
    long mostAhead = onContext(() -> stream.mostAhead);
    assertThat(pauses).isGreaterThanOrEqualTo(1);
    assertThat(mostAhead).isLessThanOrEqualTo(MAX_QUEUED + 2L * BUFFER);
    assertThat(got.toByteArray()).isEqualTo(data);
  }

  @Test
  void shouldNotPauseWhenReaderKeepsUp() throws IOException {
    byte[] data = Producer.bytes(100 * 1024, 78);
    FakeStream stream = new FakeStream(data, new AtomicLong());

    byte[] got;
    try (InputStream in = new ReadStreamInputStream(context, stream, 1024 * 1024, null)) {
      got = in.readAllBytes();
    }

    assertThat(got).isEqualTo(data);
    assertThat(onContext(() -> stream.pauses)).isZero();
  }

  @Test
  void shouldThrowStreamFailureToReaderAfterDataBeforeIt() {
    byte[] data = Producer.bytes(10 * BUFFER, 79);
    FlotillaException lost = new FlotillaException(ErrorCode.REPOSITORY, "cannot reach s3://bucket/: connection reset");
    FakeStream stream = new FakeStream(data, new AtomicLong()).failingAt(4 * BUFFER, lost);
    ByteArrayOutputStream got = new ByteArrayOutputStream();

    Throwable failure = catchThrowable(() -> {
      try (InputStream in = new ReadStreamInputStream(context, stream, MAX_QUEUED, null)) {
        byte[] bite = new byte[1000];
        for (int n; (n = in.read(bite)) >= 0; ) {
          got.write(bite, 0, n);
        }
      }
    });

    assertThat(failure).isInstanceOf(IOException.class).hasMessageContaining("connection reset").hasCause(lost);
    assertThat(got.size()).isLessThanOrEqualTo(4 * BUFFER);
  }

  @Test
  void shouldStopStreamAndRunEarlyCloseActionWhenReaderClosesEarly() throws IOException {
    // Given a bridge that has filled its queue from a 4 MiB stream
    byte[] data = Producer.bytes(4 * 1024 * 1024, 80);
    FakeStream stream = new FakeStream(data, new AtomicLong());
    AtomicBoolean cancelled = new AtomicBoolean();
    InputStream in = new ReadStreamInputStream(context, stream, MAX_QUEUED, () -> cancelled.set(true));
    assertThat(onContext(() -> stream.offset)).isEqualTo((int) MAX_QUEUED);

    // When the reader stops after a few bytes and closes
    byte[] first = in.readNBytes(1000);
    in.close();

    // Then the stream is stopped where it was, and the early-close action (cancel the request) ran
    assertThat(first).isEqualTo(Arrays.copyOf(data, 1000));
    assertThat(onContext(cancelled::get)).isTrue();
    assertThat(onContext(() -> stream.handler)).isNull();
    assertThat(onContext(() -> stream.demand)).isZero();
    assertThat(onContext(() -> stream.offset)).isEqualTo((int) MAX_QUEUED);
    assertThat(onContext(() -> stream.ended)).isFalse();
  }
}
