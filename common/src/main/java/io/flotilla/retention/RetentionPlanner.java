package io.flotilla.retention;

import io.flotilla.manifest.Manifest;
import io.flotilla.wal.WalFile;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Decides which backups of one host a {@link RetentionPolicy} keeps, and which WAL may go. Pure:
 * it sees manifests and a clock value, never a repository.
 *
 * <p>Rules, applied to each backup kind (logical, physical) on its own, a backup kept by any rule
 * being kept:
 * <ul>
 *   <li>the newest backup is always kept ("newest");</li>
 *   <li>{@code last N}: the N newest;</li>
 *   <li>{@code daily/weekly/monthly/yearly N}: as restic's {@code forget --keep-daily}: going from
 *       the newest backup back, the newest backup of each of the last N distinct days (ISO weeks,
 *       months, years) that have backups. Periods are those of the backup's start time in UTC;</li>
 *   <li>a recovery window of D days: every backup finished at or after now − D, plus the newest one
 *       finished before it, so that any point of the window has a backup to start from;</li>
 *   <li>backups a running restore reads are kept ("in use by a restore");</li>
 *   <li>a backup whose volume archives a kept incremental backup reads unchanged files from is kept
 *       ("needed by incremental ID"), whatever the other rules say: expiring it would make the
 *       incremental unrestorable.</li>
 * </ul>
 * Volume-only backups are planned per set of volumes (a backup of volume A does not count as the
 * newest backup of volume B).
 * A policy that keeps everything keeps everything.
 *
 * <p>WAL: of the physical backups kept, the one whose {@code startWal} is oldest (by log/segment
 * position, whatever its timeline) sets the boundary. Segments, partial segments and backup
 * history files of that timeline or an older one, positioned before the boundary, can go; timeline
 * history files always stay. Without a kept physical backup no WAL goes.
 */
public final class RetentionPlanner {
  public static final String NEWEST = "newest";
  public static final String RECOVERY_WINDOW = "recovery window";
  public static final String IN_USE = "in use by a restore";
  public static final String KEEP_ALL = "policy keeps everything";
  /** Prefix of the reason a backup stays because a kept incremental backup reads files from it. */
  public static final String NEEDED_BY = "needed by incremental ";

  private final RetentionPolicy policy;

  public RetentionPlanner(RetentionPolicy policy) {
    this.policy = Objects.requireNonNull(policy, "policy");
  }

  /**
   * What happens to one backup.
   *
   * @param backup its manifest
   * @param keep whether it stays
   * @param reasons why it stays (empty when it goes)
   */
  public record Decision(Manifest backup, boolean keep, List<String> reasons) {
    public String backupId() {
      return backup.backupId();
    }
  }

  /**
   * The WAL a plan keeps: everything from {@code segment} on, on timeline {@code timeline} and
   * older ones, and everything of newer timelines.
   *
   * @param timeline timeline of the boundary backup
   * @param segment the boundary backup's {@code startWal}
   * @param backupId the oldest kept physical backup, which needs WAL from {@code segment}
   */
  public record WalBoundary(int timeline, String segment, String backupId) {
    /** Whether {@code file} is older than every kept physical backup needs. */
    public boolean expires(WalFile file) {
      if (file.kind() == WalFile.Kind.HISTORY || file.timeline() > timeline) {
        return false;
      }
      return position(file.name()).compareTo(position(segment)) < 0;
    }

    /** The log and segment part of a name (hex digits 9..24): same width and case, so they compare as text. */
    private static String position(String name) {
      return name.substring(8, 24).toUpperCase(Locale.ROOT);
    }
  }

  /**
   * A whole plan.
   *
   * @param decisions one per backup, newest first
   * @param wal the WAL boundary, empty when no WAL may be deleted
   */
  public record Plan(List<Decision> decisions, Optional<WalBoundary> wal) {
    public List<Decision> kept() {
      return decisions.stream().filter(Decision::keep).toList();
    }

    public List<Decision> expired() {
      return decisions.stream().filter(d -> !d.keep()).toList();
    }
  }

  /**
   * Plans retention for one host.
   *
   * @param backups the host's complete backups, any order
   * @param now the time the window is measured from
   * @param inUse ids of backups a running restore reads
   */
  public Plan plan(List<Manifest> backups, Instant now, Set<String> inUse) {
    Map<String, List<String>> reasons = new LinkedHashMap<>();
    List<Manifest> newestFirst = new ArrayList<>(backups);
    newestFirst.sort(Comparator.comparing(Manifest::started).thenComparing(Manifest::backupId).reversed());
    newestFirst.forEach(m -> reasons.put(m.backupId(), new ArrayList<>()));

    Map<String, List<Manifest>> byKind = new TreeMap<>();
    for (Manifest m : newestFirst) {
      byKind.computeIfAbsent(group(m), k -> new ArrayList<>()).add(m);
    }
    for (List<Manifest> ofKind : byKind.values()) {
      planKind(ofKind, now, reasons);
    }
    for (Manifest m : newestFirst) {
      if (inUse.contains(m.backupId())) {
        reasons.get(m.backupId()).add(IN_USE);
      }
    }

    // Kept incrementals keep what they read from; references point straight at the backup holding
    // each file, but repeat until nothing changes in case an older writer chained them.
    boolean more = true;
    while (more) {
      more = false;
      for (Manifest m : newestFirst) {
        if (reasons.get(m.backupId()).isEmpty()) {
          continue;
        }
        for (String id : m.referencedBackups()) {
          List<String> r = reasons.get(id);
          if (r != null && r.stream().noneMatch(x -> x.startsWith(NEEDED_BY))) {
            more |= r.isEmpty();
            r.add(NEEDED_BY + m.backupId());
          }
        }
      }
    }

    List<Decision> decisions = newestFirst.stream()
        .map(m -> new Decision(m, !reasons.get(m.backupId()).isEmpty(), List.copyOf(reasons.get(m.backupId()))))
        .toList();
    List<Manifest> keptPhysical = decisions.stream().filter(Decision::keep).map(Decision::backup)
        .filter(m -> "physical".equals(m.kind()) && m.physical() != null && m.physical().startWal() != null).toList();
    return new Plan(decisions, walBoundary(keptPhysical));
  }

  /** Which backups count against each other: one kind, and for volume-only backups one set of volumes. */
  private static String group(Manifest m) {
    String kind = m.kind() == null ? "logical" : m.kind();
    if ("volume".equals(kind)) {
      return kind + " " + String.join(",", m.volumes().stream().map(Manifest.Volume::name).sorted().toList());
    }
    return kind;
  }

  /** Applies the rules to the backups of one kind, newest first. */
  private void planKind(List<Manifest> newestFirst, Instant now, Map<String, List<String>> reasons) {
    if (policy.keepsEverything()) {
      newestFirst.forEach(m -> reasons.get(m.backupId()).add(KEEP_ALL));
      return;
    }
    if (newestFirst.isEmpty()) {
      return;
    }
    reasons.get(newestFirst.get(0).backupId()).add(NEWEST);
    for (int i = 0; i < Math.min(policy.last(), newestFirst.size()); i++) {
      reasons.get(newestFirst.get(i).backupId()).add("last " + policy.last());
    }
    bucket(newestFirst, policy.daily(), "daily", t -> t.toLocalDate().toString(), reasons);
    bucket(newestFirst, policy.weekly(), "weekly",
        t -> String.format(Locale.ROOT, "%d-W%02d", t.get(IsoFields.WEEK_BASED_YEAR), t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR)), reasons);
    bucket(newestFirst, policy.monthly(), "monthly", t -> String.format(Locale.ROOT, "%d-%02d", t.getYear(), t.getMonthValue()), reasons);
    bucket(newestFirst, policy.yearly(), "yearly", t -> Integer.toString(t.getYear()), reasons);
    if (policy.windowDays() > 0) {
      Instant windowStart = now.minus(Duration.ofDays(policy.windowDays()));
      // The newest backup finished before the window is the base for its first moments.
      Manifest base = newestFirst.stream().filter(m -> m.finished().isBefore(windowStart)).max(Comparator.comparing(Manifest::finished)).orElse(null);
      for (Manifest m : newestFirst) {
        if (!m.finished().isBefore(windowStart) || m == base) {
          reasons.get(m.backupId()).add(RECOVERY_WINDOW);
        }
      }
    }
  }

  /** The newest backup of each of the {@code count} newest periods that have backups. */
  private static void bucket(List<Manifest> newestFirst, int count, String rule, Function<ZonedDateTime, String> period,
      Map<String, List<String>> reasons) {
    String last = null;
    int left = count;
    for (Manifest m : newestFirst) {
      if (left <= 0) {
        return;
      }
      String p = period.apply(m.started().atZone(ZoneOffset.UTC));
      if (!p.equals(last)) {
        reasons.get(m.backupId()).add(rule + " " + p);
        last = p;
        left--;
      }
    }
  }

  /** The boundary the oldest of {@code keptPhysical} sets, or empty when there is none. */
  public static Optional<WalBoundary> walBoundary(List<Manifest> keptPhysical) {
    return keptPhysical.stream()
        .filter(m -> m.physical() != null && m.physical().startWal() != null)
        .min(Comparator.comparing((Manifest m) -> m.physical().startWal().substring(8, 24).toUpperCase(Locale.ROOT))
            .thenComparing(m -> m.physical().timeline()))
        .map(m -> new WalBoundary(WalFile.parse(m.physical().startWal()).map(WalFile::timeline).orElse(m.physical().timeline()),
            m.physical().startWal(), m.backupId()));
  }
}
