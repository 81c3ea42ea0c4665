package io.flotilla.config;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * @param cipher {@code aes-256} (OpenPGP symmetric, the default) or {@code none}
 * @param passphraseFile file holding the passphrase (first line); FLOTILLA_PASSPHRASE overrides
 */
public record EncryptionConfig(String cipher, Path passphraseFile) {
  public static final String PASSPHRASE_ENV = "FLOTILLA_PASSPHRASE";

  public boolean enabled() {
    return !"none".equals(cipher);
  }

  /** Reads the passphrase: the environment variable first, then the file. Never logged. */
  public char[] passphrase() {
    String env = System.getenv(PASSPHRASE_ENV);
    if (env != null && !env.isEmpty()) {
      return env.toCharArray();
    }
    if (passphraseFile == null) {
      throw new FlotillaException(ErrorCode.CRYPTO,
          "no passphrase: set " + PASSPHRASE_ENV + " or config key encryption.passphrase-file");
    }
    try {
      String text = Files.readString(passphraseFile, StandardCharsets.UTF_8);
      int nl = text.indexOf('\n');
      String first = (nl >= 0 ? text.substring(0, nl) : text).replace("\r", "");
      if (first.isEmpty()) {
        throw new FlotillaException(ErrorCode.CRYPTO, "passphrase file " + passphraseFile + " is empty");
      }
      return first.toCharArray();
    } catch (IOException e) {
      throw new FlotillaException(ErrorCode.CRYPTO,
          "cannot read passphrase file " + passphraseFile + " (config key encryption.passphrase-file): " + e.getMessage());
    }
  }
}
