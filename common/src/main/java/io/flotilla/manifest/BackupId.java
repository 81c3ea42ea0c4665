package io.flotilla.manifest;

import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** Backup ids: {@code 20261122T020000Z-1a2b}, UTC start time then 4 random hex digits; sort by time. */
public final class BackupId {
  private static final DateTimeFormatter FORMAT = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final Pattern PATTERN = Pattern.compile("\\d{8}T\\d{6}Z-[0-9a-f]{4}");
  private static final SecureRandom RANDOM = new SecureRandom();

  private BackupId() {}

  public static String next(Instant start) {
    byte[] b = new byte[2];
    RANDOM.nextBytes(b);
    return FORMAT.format(start.truncatedTo(ChronoUnit.SECONDS)) + "-" + HexFormat.of().formatHex(b);
  }

  public static boolean isValid(String id) {
    return id != null && PATTERN.matcher(id).matches();
  }
}
