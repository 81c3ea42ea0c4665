package io.flotilla.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.flotilla.testkit.Producer;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The producer-thread-to-ReadStream bridge: bounded memory, order, failure and cancellation. */
@ExtendWith(VertxExtension.class)
@Timeout(60)
class OutputStreamSourceTest {
  private static final int CHUNK = 64 * 1024;
  private static final int MAX_CHUNKS = 16;
  private static final long HUNDRED_MIB = 100L * 1024 * 1024;

  private Context context;

  @BeforeEach
  void createContext(Vertx vertx) {
    context = vertx.getOrCreateContext();
  }

  /** A consumer on the context: digests and counts what arrives, completes on end. */
  private static final class Consumer {
    final MessageDigest digest;
    final AtomicLong received = new AtomicLong();
    final AtomicInteger chunks = new AtomicInteger();
    final Promise<String> ended = Promise.promise();
    final Promise<Throwable> failed = Promise.promise();

    Consumer() throws Exception {
      digest = MessageDigest.getInstance("SHA-256");
    }

    void attach(OutputStreamSource source) {
      source.exceptionHandler(failed::tryComplete);
      source.endHandler(v -> ended.tryComplete(HexFormat.of().formatHex(digest.digest())));
      source.handler(b -> {
        digest.update(b.getBytes());
        received.addAndGet(b.length());
        chunks.incrementAndGet();
      });
    }
  }

  private void onContext(Runnable action) {
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> {
      action.run();
      done.complete();
    });
    done.future().await();
  }

  @Test
  void shouldBlockProducerWhileConsumerIsPausedThenDeliverEverythingInOrder() throws Exception {
    // Given a paused consumer
    OutputStreamSource source = new OutputStreamSource(context, CHUNK, MAX_CHUNKS);
    Consumer consumer = new Consumer();
    onContext(() -> {
      source.pause();
      consumer.attach(source);
    });

    // When a producer thread tries to write 100 MiB
    Producer producer = Producer.start(source, HUNDRED_MIB, 100, Producer.CLOSE);
    producer.awaitBlocked();

    // Then it is held once the queue is full: about 1 MiB written, nothing delivered
    long writtenWhilePaused = producer.written();
    assertThat(writtenWhilePaused).isBetween((long) MAX_CHUNKS * CHUNK, 4L * 1024 * 1024);
    onContext(() -> {});
    assertThat(consumer.received.get()).isZero();
    assertThat(producer.thread().getState()).isEqualTo(Thread.State.WAITING);
    assertThat(producer.written()).isEqualTo(writtenWhilePaused);

    // When the consumer resumes, then all 100 MiB arrive, in order, and the stream ends
    onContext(source::resume);
    String received = consumer.ended.future().await();
    assertThat(consumer.received.get()).isEqualTo(HUNDRED_MIB);
    assertThat(received).isEqualTo(producer.sha256()).isEqualTo(Producer.expectedSha256(HUNDRED_MIB, 100));
    assertThat(consumer.failed.future().isComplete()).isFalse();
  }

  @Test
  void shouldDeliverOnlyTheChunksFetched() throws Exception {
    OutputStreamSource source = new OutputStreamSource(context, CHUNK, MAX_CHUNKS);
    Consumer consumer = new Consumer();
    onContext(() -> {
      source.pause();
      consumer.attach(source);
    });
    Producer producer = Producer.start(source, 8L * 1024 * 1024, 3, Producer.CLOSE);
    producer.awaitBlocked();

    onContext(() -> source.fetch(3));
    onContext(() -> {}); // the delivery scheduled by fetch has run

    assertThat(consumer.chunks.get()).isEqualTo(3);
    assertThat(consumer.received.get()).isEqualTo(3L * CHUNK);

    onContext(source::resume);
    assertThat(consumer.ended.future().await()).isEqualTo(producer.sha256());
  }

  @Test
  void shouldDeliverProducerFailureToConsumer() throws Exception {
    OutputStreamSource source = new OutputStreamSource(context, CHUNK, MAX_CHUNKS);
    Consumer consumer = new Consumer();
    onContext(() -> consumer.attach(source));
    IOException dumpFailed = new IOException("pg_dump: error: query failed: permission denied for table secrets");

    Producer producer = Producer.start(source, 5L * CHUNK + 10, 4, out -> source.fail(dumpFailed));

    assertThat(consumer.failed.future().await()).isSameAs(dumpFailed);
    assertThat(producer.failure()).isNull();
    assertThat(consumer.ended.future().isComplete()).isFalse();
  }

  @Test
  void shouldDeliverFailureToPausedConsumer() throws Exception {
    // Given a producer blocked on a paused consumer
    OutputStreamSource source = new OutputStreamSource(context, CHUNK, MAX_CHUNKS);
    Consumer consumer = new Consumer();
    onContext(() -> {
      source.pause();
      consumer.attach(source);
    });
    Producer producer = Producer.start(source, HUNDRED_MIB, 5, Producer.CLOSE);
    producer.awaitBlocked();

    // When another thread fails the stream (the pg_dump process exited non-zero)
    IOException died = new IOException("pg_dump exited with status 1");
    source.fail(died);

    // Then the consumer hears of it even though it is paused
    assertThat(consumer.failed.future().await()).isSameAs(died);
    assertThat(consumer.ended.future().isComplete()).isFalse();
    source.cancel(died); // the failed stream no longer drains: release the blocked producer
    assertThat(producer.failure()).isInstanceOf(IOException.class);
  }

  @Test
  void shouldMakeBlockedProducerWriteThrowWhenConsumerCancels() throws Exception {
    // Given a producer blocked on a paused consumer
    OutputStreamSource source = new OutputStreamSource(context, CHUNK, MAX_CHUNKS);
    onContext(() -> source.pause().handler(b -> {}));
    Producer producer = Producer.start(source, HUNDRED_MIB, 6, Producer.CLOSE);
    producer.awaitBlocked();

    // When the consumer cancels (the upload failed)
    IllegalStateException uploadFailed = new IllegalStateException("upload to s3://bucket failed");
    source.cancel(uploadFailed);

    // Then the producer's write throws an IOException carrying the reason, and it stops
    Throwable failure = producer.failure();
    assertThat(failure).isInstanceOf(IOException.class).hasMessageContaining("upload to s3://bucket failed").hasCause(uploadFailed);
    assertThat(producer.written()).isLessThan(4L * 1024 * 1024);
  }

  @Test
  void shouldMakeNextWriteThrowAfterConsumerCancels() throws Exception {
    // Given a consumer that has cancelled while the producer was not blocked
    OutputStreamSource source = new OutputStreamSource(context, CHUNK, MAX_CHUNKS);
    onContext(() -> source.handler(b -> {}));
    source.write(new byte[100]);
    source.cancel(new IllegalStateException("restore aborted"));

    // When the producer writes again, then that write throws
    Throwable failure = catchThrowable(() -> source.write(new byte[100]));

    assertThat(failure).isInstanceOf(IOException.class).hasMessageContaining("restore aborted");
  }

  @Test
  void shouldEndEmptyStreamOnClose() throws Exception {
    OutputStreamSource source = new OutputStreamSource(context);
    Consumer consumer = new Consumer();
    onContext(() -> consumer.attach(source));

    source.close();

    assertThat(consumer.ended.future().await()).isEqualTo(Producer.expectedSha256(0, 1));
    assertThat(consumer.chunks.get()).isZero();
  }

  @Test
  void shouldDeliverSmallWritesAsTheyWereWritten() throws Exception {
    OutputStreamSource source = new OutputStreamSource(context, 1000, 4);
    StringBuilder text = new StringBuilder();
    Promise<Void> ended = Promise.promise();
    onContext(() -> source.endHandler(ended::complete).handler(b -> text.append(b.toString())));

    for (int i = 0; i < 2000; i++) {
      source.write(("line " + i + "\n").getBytes());
      source.write('.');
    }
    source.close();

    ended.future().await();
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 2000; i++) {
      expected.append("line ").append(i).append("\n.");
    }
    assertThat(text.toString()).isEqualTo(expected.toString());
  }
}
