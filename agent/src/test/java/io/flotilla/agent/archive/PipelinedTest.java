package io.flotilla.agent.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The two-thread hand-off between a tar producer and the codecs: every byte, in order; failures from either side surface. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PipelinedTest {
  @Test
  void shouldDeliverEveryByteInOrder() throws Exception {
    byte[] data = new byte[5 * 1024 * 1024 + 123];
    new Random(1).nextBytes(data);
    ByteArrayOutputStream sink = new ByteArrayOutputStream();

    Pipelined.run("test", out -> {
      for (int off = 0; off < data.length; off += 7_001) {
        out.write(data, off, Math.min(7_001, data.length - off));
      }
      out.write(42);
    }, sink);

    byte[] got = sink.toByteArray();
    assertThat(got).hasSize(data.length + 1);
    assertThat(java.util.Arrays.copyOf(got, data.length)).isEqualTo(data);
    assertThat(got[data.length]).isEqualTo((byte) 42);
  }

  @Test
  void shouldReportTheProducersFailure() {
    assertThatThrownBy(() -> Pipelined.run("test", out -> {
      out.write(new byte[1024 * 1024]);
      throw new IOException("disk read failed");
    }, OutputStream.nullOutputStream())).hasMessage("disk read failed");
  }

  @Test
  void shouldStopTheProducerWhenTheSinkFails() {
    boolean[] producerStopped = new boolean[1];
    assertThatThrownBy(() -> Pipelined.run("test", out -> {
      try {
        while (true) {
          out.write(new byte[64 * 1024]);
        }
      } catch (IOException e) {
        producerStopped[0] = true;
        throw e;
      }
    }, new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        throw new IOException("upload failed");
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        throw new IOException("upload failed");
      }
    })).hasMessage("upload failed");
    assertThat(producerStopped[0]).isTrue();
  }
}
