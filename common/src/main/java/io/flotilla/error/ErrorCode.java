package io.flotilla.error;

/**
 * Stable error codes. Each maps to one process exit code and one HTTP status; the mapping lives here
 * and nowhere else.
 */
public enum ErrorCode {
  /** A bug or an unexpected failure. */
  INTERNAL(1, 500),
  /** The command line itself is wrong (picocli reports these with the same code). */
  USAGE(2, 400),
  /** The configuration file is missing, malformed or has a bad value. */
  CONFIG(3, 400),
  /** PostgreSQL is unreachable, refused a command, or a PostgreSQL tool failed. */
  POSTGRES(4, 502),
  /** The repository is unreachable, missing or refused an operation. */
  REPOSITORY(5, 502),
  /** A backup, database or object that was asked for does not exist. */
  NOT_FOUND(6, 404),
  /** The passphrase is missing or does not open the repository. */
  CRYPTO(7, 500),
  /** Stored data failed an integrity check (size, SHA-256, decryption, decompression). */
  INTEGRITY(8, 500),
  /** The operation would overwrite something or collides with another running operation. */
  CONFLICT(9, 409),
  /** Local resources ran out or were refused (disk full, permissions). */
  LOCAL_IO(10, 500),
  /** No credentials, or credentials that are not valid (an API token nobody issued). */
  UNAUTHENTICATED(11, 401),
  /** Valid credentials whose role does not allow the operation. */
  FORBIDDEN(12, 403),
  /** A peer (the coordinator, a member) did not answer in time or is not there. */
  UNAVAILABLE(13, 503);

  private final int exitCode;
  private final int httpStatus;

  ErrorCode(int exitCode, int httpStatus) {
    this.exitCode = exitCode;
    this.httpStatus = httpStatus;
  }

  public int httpStatus() {
    return httpStatus;
  }

  public int exitCode() {
    return exitCode;
  }
}
