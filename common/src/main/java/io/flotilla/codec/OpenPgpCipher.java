package io.flotilla.codec;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.SecureRandom;
import java.util.Date;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.openpgp.PGPEncryptedData;
import org.bouncycastle.openpgp.PGPEncryptedDataGenerator;
import org.bouncycastle.openpgp.PGPEncryptedDataList;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPLiteralDataGenerator;
import org.bouncycastle.openpgp.PGPMarker;
import org.bouncycastle.openpgp.PGPPBEEncryptedData;
import org.bouncycastle.openpgp.jcajce.JcaPGPObjectFactory;
import org.bouncycastle.openpgp.operator.PGPDigestCalculatorProvider;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEDataDecryptorFactoryBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEKeyEncryptionMethodGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcePGPDataEncryptorBuilder;

/**
 * OpenPGP symmetric encryption (AES-256, iterated-salted SHA-256 S2K, integrity-protected with an
 * MDC), streamed with partial-length packets so nothing is buffered whole. {@code gpg --decrypt}
 * reads what this writes. Crypto runs through the JDK's own AES provider (no BC provider
 * registration), which uses AES-NI.
 */
public final class OpenPgpCipher {
  private static final int PACKET_BUFFER = 1 << 16;
  private static final SecureRandom RANDOM = new SecureRandom();

  private OpenPgpCipher() {}

  private static PGPDigestCalculatorProvider digests() throws PGPException {
    return new JcaPGPDigestCalculatorProviderBuilder().build();
  }

  /**
   * Wraps {@code sink}: bytes written are encrypted into it. Closing the result finishes the OpenPGP
   * message and closes {@code sink}.
   */
  public static OutputStream encrypt(OutputStream sink, char[] passphrase, String fileName) throws IOException {
    try {
      PGPEncryptedDataGenerator generator = new PGPEncryptedDataGenerator(
          new JcePGPDataEncryptorBuilder(SymmetricKeyAlgorithmTags.AES_256)
              .setWithIntegrityPacket(true)
              .setSecureRandom(RANDOM));
      generator.addMethod(new JcePBEKeyEncryptionMethodGenerator(passphrase,
          digests().get(HashAlgorithmTags.SHA256)).setSecureRandom(RANDOM));
      OutputStream encrypted = generator.open(sink, new byte[PACKET_BUFFER]);
      PGPLiteralDataGenerator literal = new PGPLiteralDataGenerator();
      OutputStream plain = literal.open(encrypted, PGPLiteralData.BINARY, fileName, new Date(), new byte[PACKET_BUFFER]);
      return new FilterOutputStream(plain) {
        private boolean closed;

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          plain.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
          if (closed) {
            return;
          }
          closed = true;
          literal.close();
          generator.close();
          sink.close();
        }
      };
    } catch (PGPException e) {
      throw new IOException("cannot set up OpenPGP encryption: " + e.getMessage(), e);
    }
  }

  /**
   * Wraps {@code in}: reading gives the plaintext. At the end of the data the integrity packet is
   * checked. Damaged or truncated data fails with a {@link FlotillaException} of code INTEGRITY; a
   * wrong passphrase with code CRYPTO. Failures of {@code in} itself (a repository read) pass
   * through unchanged, so they are not mistaken for damage.
   */
  public static InputStream decrypt(InputStream in, char[] passphrase) throws IOException {
    InputStream source = new UpstreamMarking(in);
    try {
      JcaPGPObjectFactory factory = new JcaPGPObjectFactory(source);
      Object o = factory.nextObject();
      while (o instanceof PGPMarker) {
        o = factory.nextObject();
      }
      if (!(o instanceof PGPEncryptedDataList list) || list.isEmpty()) {
        throw new FlotillaException(ErrorCode.INTEGRITY, "not an OpenPGP encrypted message");
      }
      PGPPBEEncryptedData data = null;
      for (PGPEncryptedData d : list) {
        if (d instanceof PGPPBEEncryptedData pbe) {
          data = pbe;
          break;
        }
      }
      if (data == null) {
        throw new FlotillaException(ErrorCode.INTEGRITY, "OpenPGP message is not passphrase-encrypted");
      }
      InputStream clear;
      try {
        clear = data.getDataStream(new JcePBEDataDecryptorFactoryBuilder(digests()).build(passphrase));
      } catch (PGPException e) {
        // With a wrong passphrase the session-key packet decrypts to garbage: BC reports a failed
        // quick check, an unknown cipher or a cipher it cannot create. All mean the same here.
        throw new FlotillaException(ErrorCode.CRYPTO, "wrong passphrase: it does not decrypt the repository's data");
      }
      Object inner = new JcaPGPObjectFactory(clear).nextObject();
      if (!(inner instanceof PGPLiteralData literal)) {
        throw new FlotillaException(ErrorCode.INTEGRITY, "OpenPGP message holds no literal data");
      }
      return new Checked(literal.getInputStream(), data);
    } catch (RuntimeException | IOException e) {
      throw damage(e);
    }
  }

  /**
   * Classifies a failure while parsing or decrypting: the source's own I/O failure is returned to
   * be rethrown as is; anything else means damaged data and is thrown as INTEGRITY.
   */
  private static IOException damage(Exception e) {
    if (e instanceof FlotillaException fe) {
      throw fe;
    }
    if (e instanceof UpstreamException up) {
      return (IOException) up.getCause();
    }
    String what = e instanceof java.io.EOFException ? "the data ends too early (truncated)" : String.valueOf(e.getMessage());
    throw new FlotillaException(ErrorCode.INTEGRITY, "OpenPGP data is damaged: " + what, e);
  }

  /** Marks IOExceptions of the underlying source, so they are told apart from damaged data. */
  private static final class UpstreamException extends IOException {
    UpstreamException(IOException cause) {
      super(cause.getMessage(), cause);
    }
  }

  private static final class UpstreamMarking extends FilterInputStream {
    UpstreamMarking(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      try {
        return super.read();
      } catch (IOException e) {
        throw new UpstreamException(e);
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return super.read(b, off, len);
      } catch (IOException e) {
        throw new UpstreamException(e);
      }
    }
  }

  /** The plaintext stream: damage becomes INTEGRITY, and the MDC is checked at the end. */
  private static final class Checked extends FilterInputStream {
    private final PGPPBEEncryptedData encrypted;
    private boolean checked;

    Checked(InputStream in, PGPPBEEncryptedData encrypted) {
      super(in);
      this.encrypted = encrypted;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n;
      try {
        n = super.read(b, off, len);
      } catch (IOException | RuntimeException e) {
        throw damage(e);
      }
      if (n < 0) {
        check();
      }
      return n;
    }

    private void check() throws IOException {
      if (checked) {
        return;
      }
      checked = true;
      try {
        if (!encrypted.isIntegrityProtected() || !encrypted.verify()) {
          throw new FlotillaException(ErrorCode.INTEGRITY, "OpenPGP integrity check (MDC) failed: the data was altered");
        }
      } catch (PGPException | IOException | RuntimeException e) {
        throw damage(e);
      }
    }
  }
}
