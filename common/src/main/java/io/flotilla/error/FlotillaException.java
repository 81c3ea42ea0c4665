package io.flotilla.error;

/**
 * A failure the user can act on: the message is one line that says what failed and what to do, and
 * the code says which kind of failure it is.
 */
public class FlotillaException extends RuntimeException {
  private final ErrorCode code;

  public FlotillaException(ErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  public FlotillaException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }

  /**
   * Finds the FlotillaException in a cause chain, or wraps the throwable as INTERNAL with its most
   * telling message.
   */
  public static FlotillaException of(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof FlotillaException fe) {
        return fe;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String msg = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    if (root instanceof java.io.IOException && msg.contains("No space left on device")) {
      return new FlotillaException(ErrorCode.LOCAL_IO, "no space left on device: " + msg, t);
    }
    return new FlotillaException(ErrorCode.INTERNAL, "unexpected failure: " + msg, t);
  }
}
