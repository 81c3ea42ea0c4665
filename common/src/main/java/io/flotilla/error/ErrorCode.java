package io.flotilla.error;

/**
 * Stable error codes. Each maps to one process exit code (and, later, one HTTP status); the mapping
 * lives here and nowhere else.
 */
public enum ErrorCode {
  /** A bug or an unexpected failure. */
  INTERNAL(1),
  /** The command line itself is wrong (picocli reports these with the same code). */
  USAGE(2),
  /** The configuration file is missing, malformed or has a bad value. */
  CONFIG(3),
  /** PostgreSQL is unreachable, refused a command, or a PostgreSQL tool failed. */
  POSTGRES(4),
  /** The repository is unreachable, missing or refused an operation. */
  REPOSITORY(5),
  /** A backup, database or object that was asked for does not exist. */
  NOT_FOUND(6),
  /** The passphrase is missing or does not open the repository. */
  CRYPTO(7),
  /** Stored data failed an integrity check (size, SHA-256, decryption, decompression). */
  INTEGRITY(8),
  /** The operation would overwrite something or collides with another running operation. */
  CONFLICT(9),
  /** Local resources ran out or were refused (disk full, permissions). */
  LOCAL_IO(10);

  private final int exitCode;

  ErrorCode(int exitCode) {
    this.exitCode = exitCode;
  }

  public int exitCode() {
    return exitCode;
  }
}
