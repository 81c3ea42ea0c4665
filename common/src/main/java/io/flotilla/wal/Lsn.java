package io.flotilla.wal;

/** PostgreSQL log sequence numbers, written as two hex halves: {@code 16/B374D848}. */
public final class Lsn {
  private Lsn() {}

  public static long parse(String text) {
    int slash = text.indexOf('/');
    if (slash <= 0) {
      throw new IllegalArgumentException("not an LSN: " + text);
    }
    return (Long.parseLong(text.substring(0, slash), 16) << 32) | Long.parseLong(text.substring(slash + 1), 16);
  }

  public static String format(long lsn) {
    return Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xffffffffL).toUpperCase();
  }

  public static boolean isValid(String text) {
    return text != null && text.matches("[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}");
  }
}
