package io.flotilla.retention;

/**
 * How many backups of a host to keep, in the grandfather-father-son manner: the newest backup of
 * each of the last {@code daily} days, {@code weekly} ISO weeks, {@code monthly} months and
 * {@code yearly} years, plus the newest {@code last} backups, plus every backup needed to restore to
 * any point of the last {@code windowDays} days. A backup kept by any rule is kept; the newest good
 * backup is always kept. All zero means "keep everything".
 */
public record RetentionPolicy(int last, int daily, int weekly, int monthly, int yearly, int windowDays) {
  public static final RetentionPolicy KEEP_ALL = new RetentionPolicy(0, 0, 0, 0, 0, 0);

  public boolean keepsEverything() {
    return last == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0 && windowDays == 0;
  }
}
