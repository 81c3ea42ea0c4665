package io.flotilla.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.testkit.Producer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Compression then encryption, and back: what restore reads through. */
@Timeout(60)
class CodecChainTest {
  private static final char[] PASSPHRASE = "s3cret-passphrase".toCharArray();

  private static byte[] plain() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < 20_000; i++) {
      out.writeBytes(("COPY public.orders (" + i + ", 'sku-" + (i % 313) + "')\n").getBytes(StandardCharsets.UTF_8));
    }
    out.writeBytes(Producer.bytes(100_000, 12));
    return out.toByteArray();
  }

  private static byte[] encode(CodecChain chain, byte[] plain) throws IOException {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    try (OutputStream out = chain.encoder(sink, PASSPHRASE, "app.dump" + chain.suffix())) {
      out.write(plain);
    }
    return sink.toByteArray();
  }

  private static byte[] decode(CodecChain chain, byte[] stored) throws IOException {
    try (InputStream in = chain.decoder(new ByteArrayInputStream(stored), PASSPHRASE)) {
      return in.readAllBytes();
    }
  }

  @ParameterizedTest
  @EnumSource(Compression.class)
  void shouldDecodeWhatItEncoded(Compression compression) throws IOException {
    CodecChain chain = new CodecChain(compression, compression == Compression.GZIP ? 6 : 3, 2, CodecChain.OPENPGP_AES256);
    byte[] plain = plain();

    byte[] stored = encode(chain, plain);

    assertThat(decode(chain, stored)).isEqualTo(plain);
    if (compression != Compression.NONE) {
      assertThat(stored.length).isLessThan(plain.length / 2);
    }
  }

  @ParameterizedTest
  @EnumSource(Compression.class)
  void shouldDecodeUnencryptedChain(Compression compression) throws IOException {
    CodecChain chain = new CodecChain(compression, 1, 0, CodecChain.NONE);
    byte[] plain = plain();

    assertThat(chain.suffix()).isEqualTo(compression.suffix());
    assertThat(decode(chain, encode(chain, plain))).isEqualTo(plain);
  }

  /** The last bytes of an OpenPGP message are its MDC: only reading to the very end checks them. */
  @ParameterizedTest
  @EnumSource(Compression.class)
  void shouldDetectAlteredIntegrityPacketWhenReadingThroughTheChain(Compression compression) throws IOException {
    CodecChain chain = new CodecChain(compression, 3, 0, CodecChain.OPENPGP_AES256);
    byte[] stored = encode(chain, plain());
    stored[stored.length - 1] ^= 0x01;

    Throwable failure = catchThrowable(() -> decode(chain, stored));

    assertThat(failure).as("reading an object whose MDC was altered must fail").isInstanceOf(FlotillaException.class);
    assertThat(((FlotillaException) failure).code()).isEqualTo(ErrorCode.INTEGRITY);
  }
}
