package io.flotilla.repo;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * {@code flotilla.repo.json}: the repository's format version and cipher parameters, never a key.
 *
 * @param format repository format version
 * @param createdAt when the repository was initialised
 * @param cipher openpgp-aes256 or none
 * @param passphraseCheck a short random token encrypted with the passphrase (base64), so a wrong
 *     passphrase is caught before any work rather than at restore time
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record RepositoryDescriptor(int format, String createdAt, String cipher, String passphraseCheck) {
  public static final int FORMAT = 1;
  public static final String KEY = "flotilla.repo.json";
}
