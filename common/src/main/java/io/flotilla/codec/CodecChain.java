package io.flotilla.codec;

import io.flotilla.config.CompressionConfig;
import io.flotilla.config.EncryptionConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The codecs one stored object passes through: compression, then encryption. The manifest records
 * the chain so restore applies exactly the inverse.
 *
 * @param compression compression codec
 * @param level compression level
 * @param workers zstd worker threads
 * @param encryption {@code openpgp-aes256} or {@code none}
 */
public record CodecChain(Compression compression, int level, int workers, String encryption) {
  public static final String OPENPGP_AES256 = "openpgp-aes256";
  public static final String NONE = "none";

  public static CodecChain from(CompressionConfig compression, EncryptionConfig encryption) {
    return new CodecChain(Compression.of(compression.algorithm()), compression.level(), compression.workers(),
        encryption.enabled() ? OPENPGP_AES256 : NONE);
  }

  /** The chain an object's name says it went through ({@code x.zst.gpg}, {@code x.gz}, ...). */
  public static CodecChain fromKey(String key) {
    boolean encrypted = key.endsWith(".gpg");
    String base = encrypted ? key.substring(0, key.length() - 4) : key;
    Compression compression = base.endsWith(".zst") ? Compression.ZSTD : base.endsWith(".gz") ? Compression.GZIP : Compression.NONE;
    return new CodecChain(compression, 0, 0, encrypted ? OPENPGP_AES256 : NONE);
  }

  /** Every suffix a chain can give, longest first. */
  public static java.util.List<String> knownSuffixes() {
    return java.util.List.of(".zst.gpg", ".gz.gpg", ".gpg", ".zst", ".gz", "");
  }

  public boolean encrypted() {
    return OPENPGP_AES256.equals(encryption);
  }

  /** File-name suffix of objects written through this chain, e.g. {@code .zst.gpg}. */
  public String suffix() {
    return compression.suffix() + (encrypted() ? ".gpg" : "");
  }

  /** Plain bytes written to the result come out of {@code sink} compressed and encrypted. */
  public OutputStream encoder(OutputStream sink, char[] passphrase, String name) throws IOException {
    OutputStream afterCompression = encrypted() ? OpenPgpCipher.encrypt(sink, passphrase, name) : sink;
    return compression.encoder(afterCompression, level, workers);
  }

  /** Reading the result gives the plain bytes of {@code stored}. */
  public InputStream decoder(InputStream stored, char[] passphrase) throws IOException {
    InputStream decrypted = encrypted() ? OpenPgpCipher.decrypt(stored, passphrase) : stored;
    InputStream plain = compression.decoder(decrypted);
    // A decompressor may stop at the end of its frame; read the layers below to their end too, so
    // the OpenPGP integrity check and the caller's digest of the stored bytes see every byte.
    return new java.io.FilterInputStream(plain) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n < 0) {
          drain(decrypted);
          drain(stored);
        }
        return n;
      }

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
      }
    };
  }

  private static void drain(InputStream in) throws IOException {
    byte[] buf = new byte[8192];
    while (in.read(buf, 0, buf.length) >= 0) {
      // discard: only reaching the end matters
    }
  }
}
