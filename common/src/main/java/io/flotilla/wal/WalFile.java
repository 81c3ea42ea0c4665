package io.flotilla.wal;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A file PostgreSQL archives: a WAL segment ({@code 000000010000000A000000FF}), a partial segment
 * left by a promotion ({@code ....partial}), a timeline history file ({@code 00000002.history}) or
 * a backup history file ({@code ....00000028.backup}).
 *
 * @param name the file name as PostgreSQL knows it
 * @param timeline the timeline it belongs to
 * @param kind what it is
 */
public record WalFile(String name, int timeline, Kind kind) {
  private static final Pattern SEGMENT = Pattern.compile("([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})");
  private static final Pattern PARTIAL = Pattern.compile("([0-9A-F]{8})[0-9A-F]{16}\\.partial");
  private static final Pattern HISTORY = Pattern.compile("([0-9A-F]{8})\\.history");
  private static final Pattern BACKUP = Pattern.compile("([0-9A-F]{8})[0-9A-F]{16}\\.[0-9A-F]{8}\\.backup");

  /** Kinds of archived files. */
  public enum Kind { SEGMENT, PARTIAL, HISTORY, BACKUP_HISTORY }

  public static Optional<WalFile> parse(String name) {
    Matcher m;
    if ((m = SEGMENT.matcher(name)).matches()) {
      return Optional.of(new WalFile(name, Integer.parseUnsignedInt(m.group(1), 16), Kind.SEGMENT));
    }
    if ((m = PARTIAL.matcher(name)).matches()) {
      return Optional.of(new WalFile(name, Integer.parseUnsignedInt(m.group(1), 16), Kind.PARTIAL));
    }
    if ((m = HISTORY.matcher(name)).matches()) {
      return Optional.of(new WalFile(name, Integer.parseUnsignedInt(m.group(1), 16), Kind.HISTORY));
    }
    if ((m = BACKUP.matcher(name)).matches()) {
      return Optional.of(new WalFile(name, Integer.parseUnsignedInt(m.group(1), 16), Kind.BACKUP_HISTORY));
    }
    return Optional.empty();
  }

  /** Timeline as the 8 hex digits PostgreSQL uses. */
  public static String timelineHex(int timeline) {
    return String.format(Locale.ROOT, "%08X", timeline);
  }

  /** Folder of this file in a host's WAL archive: {@code hosts/<host>/wal/<timeline>/}. */
  public static String folder(String host, int timeline) {
    return "hosts/" + host + "/wal/" + timelineHex(timeline) + "/";
  }

  public String keyPrefix(String host) {
    return folder(host, timeline) + name;
  }

  /** The segment number counted from the start of WAL, for segments of {@code segmentSize} bytes. */
  public static long segmentNumber(String segmentName, long segmentSize) {
    long log = Long.parseLong(segmentName.substring(8, 16), 16);
    long seg = Long.parseLong(segmentName.substring(16, 24), 16);
    return log * (0x100000000L / segmentSize) + seg;
  }

  /** The name of segment number {@code number} on {@code timeline}. */
  public static String segmentName(int timeline, long number, long segmentSize) {
    long perLog = 0x100000000L / segmentSize;
    return String.format(Locale.ROOT, "%08X%08X%08X", timeline, number / perLog, number % perLog);
  }

  /** The segment holding {@code lsn} (as text, e.g. 0/3000028) on {@code timeline}. */
  public static String segmentOf(int timeline, String lsn, long segmentSize) {
    return segmentName(timeline, Lsn.parse(lsn) / segmentSize, segmentSize);
  }
}
