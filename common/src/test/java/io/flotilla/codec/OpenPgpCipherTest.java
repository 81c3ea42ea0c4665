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
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** OpenPGP encryption of stored objects: round trip, passphrase and integrity checks, gpg interop. */
@Timeout(60)
class OpenPgpCipherTest {
  private static final char[] PASSPHRASE = "correct horse battery staple".toCharArray();

  @TempDir
  Path tmp;

  private Path gnupgHome;

  @BeforeEach
  void createGnupgHome() throws IOException {
    gnupgHome = tmp.resolve("gnupg");
    Files.createDirectory(gnupgHome, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
  }

  @AfterEach
  void stopGpgAgent() throws Exception {
    // gpg starts an agent for this home directory; stop it so no process outlives the test.
    run(List.of(new ProcessBuilder("gpgconf", "--kill", "gpg-agent")));
  }

  private static byte[] encrypt(byte[] plain, char[] passphrase) throws IOException {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    try (OutputStream out = OpenPgpCipher.encrypt(sink, passphrase, "app.dump")) {
      out.write(plain);
    }
    return sink.toByteArray();
  }

  private static byte[] decrypt(byte[] sealed, char[] passphrase) throws IOException {
    try (InputStream in = OpenPgpCipher.decrypt(new ByteArrayInputStream(sealed), passphrase)) {
      return in.readAllBytes();
    }
  }

  @Test
  void shouldDecryptWhatItEncrypted() throws IOException {
    byte[] plain = Producer.bytes(1024 * 1024 + 3, 1);

    byte[] sealed = encrypt(plain, PASSPHRASE);

    assertThat(sealed.length).isGreaterThan(plain.length);
    assertThat(indexOf(sealed, Arrays.copyOfRange(plain, 1000, 1032))).as("plaintext visible in ciphertext").isEqualTo(-1);
    assertThat(decrypt(sealed, PASSPHRASE)).isEqualTo(plain);
  }

  @Test
  void shouldDecryptEmptyPlaintext() throws IOException {
    assertThat(decrypt(encrypt(new byte[0], PASSPHRASE), PASSPHRASE)).isEmpty();
  }

  @Test
  void shouldRejectWrongPassphraseWithCryptoError() throws IOException {
    byte[] sealed = encrypt(Producer.bytes(10_000, 2), PASSPHRASE);

    Throwable failure = catchThrowable(() -> decrypt(sealed, "correct horse battery stapler".toCharArray()));

    assertCode(failure, ErrorCode.CRYPTO);
    assertThat(failure.getMessage()).contains("wrong passphrase");
  }

  /** Offsets counted back from the end: the middle of the body, inside the last data, inside the MDC packet. */
  @ParameterizedTest
  @ValueSource(ints = {500_000, 5_000, 40, 1})
  void shouldRejectFlippedCiphertextByteWithIntegrityError(int fromEnd) throws IOException {
    byte[] plain = Producer.bytes(1024 * 1024, 3);
    byte[] sealed = encrypt(plain, PASSPHRASE);
    sealed[sealed.length - fromEnd] ^= 0x10;

    Throwable failure = catchThrowable(() -> decrypt(sealed, PASSPHRASE));

    assertCode(failure, ErrorCode.INTEGRITY);
  }

  @Test
  void shouldRejectTruncatedCiphertextWithIntegrityError() throws IOException {
    byte[] sealed = encrypt(Producer.bytes(1024 * 1024, 4), PASSPHRASE);
    byte[] truncated = Arrays.copyOf(sealed, sealed.length / 2);

    Throwable failure = catchThrowable(() -> decrypt(truncated, PASSPHRASE));

    assertCode(failure, ErrorCode.INTEGRITY);
  }

  @Test
  void shouldWriteZstdThenOpenPgpThatGpgAndZstdDecode() throws Exception {
    assertToolsDecode(Compression.ZSTD, 3, "zstd", PASSPHRASE);
  }

  @Test
  void shouldWriteGzipThenOpenPgpThatGpgAndGzipDecode() throws Exception {
    assertToolsDecode(Compression.GZIP, 6, "gzip", PASSPHRASE);
  }

  @Test
  void shouldUseUtf8PassphraseTheWayGpgDoes() throws Exception {
    assertToolsDecode(Compression.GZIP, 1, "gzip", "pässwörd – ñandú ☃".toCharArray());
  }

  /**
   * Encodes through the codec chain the agent uses, then decodes with the stock tools an operator
   * would reach for: {@code gpg --decrypt file | <tool> -d}.
   */
  private void assertToolsDecode(Compression compression, int level, String tool, char[] passphrase) throws Exception {
    // Given an object encoded by the chain, and the passphrase in a file as an operator keeps it
    Path encoded = tmp.resolve("object" + compression.suffix() + ".gpg");
    CodecChain chain = new CodecChain(compression, level, 2, CodecChain.OPENPGP_AES256);
    assertThat(chain.suffix()).isEqualTo(compression.suffix() + ".gpg");
    MeasuringOutputStream plain;
    try (OutputStream file = Files.newOutputStream(encoded)) {
      plain = new MeasuringOutputStream(chain.encoder(file, passphrase, "object" + compression.suffix()), true, null);
      try (plain) {
        writeDumpLikeData(plain);
      }
    }
    Path passphraseFile = tmp.resolve("passphrase");
    Files.writeString(passphraseFile, new String(passphrase) + "\n", StandardCharsets.UTF_8);

    // When gpg decrypts it into the decompressor
    Path decoded = tmp.resolve("decoded");
    Path gpgErr = tmp.resolve("gpg.err");
    List<Process> pipeline = run(List.of(
        new ProcessBuilder("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase-file", passphraseFile.toString(),
            "--decrypt", encoded.toString()).redirectError(gpgErr.toFile()),
        new ProcessBuilder(tool, "-d", "-c").redirectOutput(decoded.toFile()).redirectError(tmp.resolve(tool + ".err").toFile())));

    // Then both tools succeed and give back the original bytes
    assertThat(pipeline.get(0).exitValue()).as("gpg: " + Files.readString(gpgErr)).isZero();
    assertThat(pipeline.get(1).exitValue()).as(tool + ": " + Files.readString(tmp.resolve(tool + ".err"))).isZero();
    assertThat(Files.size(decoded)).isEqualTo(plain.count());
    assertThat(sha256(decoded)).isEqualTo(plain.sha256Hex());

    // and the chain's own decoder agrees
    try (MeasuringInputStream in = new MeasuringInputStream(chain.decoder(Files.newInputStream(encoded), passphrase), null)) {
      in.drain();
      assertThat(in.count()).isEqualTo(plain.count());
      assertThat(sha256(decoded)).isEqualTo(in.sha256Hex());
    }
  }

  /** Roughly what pg_dump writes: repetitive text with incompressible stretches. */
  private static void writeDumpLikeData(OutputStream out) throws IOException {
    byte[] noise = Producer.bytes(256 * 1024, 9);
    for (int i = 0; i < 40_000; i++) {
      out.write(("INSERT INTO accounts VALUES (" + i + ", 'customer-" + (i * 7919 % 10007) + "', " + (i % 97) + ".50);\n")
          .getBytes(StandardCharsets.UTF_8));
      if (i % 10_000 == 0) {
        out.write(noise);
      }
    }
  }

  /** Starts the commands as a pipeline with GNUPGHOME set and waits for all of them. */
  private List<Process> run(List<ProcessBuilder> commands) throws Exception {
    for (ProcessBuilder pb : commands) {
      pb.environment().put("GNUPGHOME", gnupgHome.toString());
    }
    List<Process> processes = ProcessBuilder.startPipeline(commands);
    for (Process p : processes) {
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("timed out: " + p.info().commandLine().orElse("?"));
      }
    }
    return processes;
  }

  private static String sha256(Path file) throws Exception {
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) >= 0; ) {
        digest.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  private static void assertCode(Throwable failure, ErrorCode code) {
    assertThat(failure).as("expected a FlotillaException with code %s", code).isInstanceOf(FlotillaException.class);
    assertThat(((FlotillaException) failure).code()).as("code of: %s", failure.getMessage()).isEqualTo(code);
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
