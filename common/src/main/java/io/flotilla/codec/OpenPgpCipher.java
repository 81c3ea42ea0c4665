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
import org.bouncycastle.openpgp.PGPDataValidationException;
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
   * checked; a mismatch fails the read with a {@link FlotillaException} of code INTEGRITY. A wrong
   * passphrase fails here with code CRYPTO.
   */
  public static InputStream decrypt(InputStream in, char[] passphrase) throws IOException {
    try {
      JcaPGPObjectFactory factory = new JcaPGPObjectFactory(in);
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
      } catch (PGPDataValidationException e) {
        throw new FlotillaException(ErrorCode.CRYPTO, "wrong passphrase: it does not decrypt the repository's data");
      }
      Object inner = new JcaPGPObjectFactory(clear).nextObject();
      if (!(inner instanceof PGPLiteralData literal)) {
        throw new FlotillaException(ErrorCode.INTEGRITY, "OpenPGP message holds no literal data");
      }
      PGPPBEEncryptedData encrypted = data;
      return new FilterInputStream(literal.getInputStream()) {
        private boolean checked;

        @Override
        public int read() throws IOException {
          int b = super.read();
          if (b < 0) {
            check();
          }
          return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          int n = super.read(b, off, len);
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
          } catch (PGPException e) {
            throw new FlotillaException(ErrorCode.INTEGRITY, "OpenPGP integrity check failed: " + e.getMessage());
          }
        }
      };
    } catch (PGPException e) {
      throw new FlotillaException(ErrorCode.INTEGRITY, "cannot decrypt: " + e.getMessage());
    }
  }
}
