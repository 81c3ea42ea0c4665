package io.flotilla.retention;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.manifest.Manifest;
import io.flotilla.retention.RetentionPlanner.Decision;
import io.flotilla.retention.RetentionPlanner.Plan;
import io.flotilla.retention.RetentionPlanner.WalBoundary;
import io.flotilla.wal.WalFile;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which backups a retention policy keeps, why, and which WAL may go. */
class RetentionPlannerTest {
  private static final Instant NOW = Instant.parse("2026-11-22T12:00:00Z");

  private static int counter;

  private static Manifest logical(String started) {
    return backup(started, "logical", null);
  }

  private static Manifest physical(String started, int timeline, String startWal) {
    return backup(started, "physical", new Manifest.Physical(timeline, "0/0", "0/0", startWal, startWal, 16 * 1024 * 1024, false, "", "",
        List.of(), List.of(), List.of()));
  }

  private static Manifest backup(String started, String kind, Manifest.Physical physical) {
    Instant start = Instant.parse(started);
    String id = started.replaceAll("[-:]", "").replaceAll("\\.\\d+", "") .substring(0, 16) + String.format("-%04x", counter++ & 0xffff);
    return new Manifest(Manifest.FORMAT, "test", id, "db1", kind, "daily", "15.4", 150004, start.toString(),
        start.plus(Duration.ofMinutes(10)).toString(), new Manifest.Codecs("zstd", 3, "none"), List.of(), List.of(), physical, List.of());
  }

  /** One logical backup at {@code hour}:00 UTC each day from {@code first} for {@code days} days. */
  private static List<Manifest> daily(String first, int days, int hour) {
    List<Manifest> out = new ArrayList<>();
    Instant day = Instant.parse(first + "T00:00:00Z");
    for (int i = 0; i < days; i++) {
      out.add(logical(day.plus(Duration.ofDays(i)).plus(Duration.ofHours(hour)).toString()));
    }
    return out;
  }

  private static Plan plan(RetentionPolicy policy, List<Manifest> backups) {
    return new RetentionPlanner(policy).plan(backups, NOW, Set.of());
  }

  private static List<String> keptStarts(Plan plan) {
    return plan.kept().stream().map(d -> d.backup().startedAt()).toList();
  }

  private static RetentionPolicy policy(int last, int daily, int weekly, int monthly, int yearly, int windowDays) {
    return new RetentionPolicy(last, daily, weekly, monthly, yearly, windowDays);
  }

  @Test
  void shouldKeepEverythingWhenPolicyIsAllZero() {
    Plan plan = plan(RetentionPolicy.KEEP_ALL, daily("2026-01-01", 300, 2));

    assertThat(plan.expired()).isEmpty();
    assertThat(plan.kept()).hasSize(300).allSatisfy(d -> assertThat(d.reasons()).containsExactly(RetentionPlanner.KEEP_ALL));
  }

  @Test
  void shouldKeepLastNNewest() {
    // given five backups
    List<Manifest> backups = daily("2026-11-15", 5, 2);

    // when
    Plan plan = plan(policy(2, 0, 0, 0, 0, 0), backups);

    // then the two newest stay, newest first
    assertThat(keptStarts(plan)).containsExactly("2026-11-19T02:00:00Z", "2026-11-18T02:00:00Z");
    assertThat(plan.kept().get(0).reasons()).containsExactly("newest", "last 2");
    assertThat(plan.kept().get(1).reasons()).containsExactly("last 2");
    assertThat(plan.expired()).hasSize(3).allSatisfy(d -> assertThat(d.reasons()).isEmpty());
  }

  @Test
  void shouldListDecisionsNewestFirstWhateverTheInputOrder() {
    List<Manifest> backups = new ArrayList<>(daily("2026-11-15", 5, 2));
    java.util.Collections.shuffle(backups, new java.util.Random(7));

    Plan plan = plan(policy(1, 0, 0, 0, 0, 0), backups);

    assertThat(plan.decisions()).extracting(d -> d.backup().startedAt()).isSortedAccordingTo(java.util.Comparator.reverseOrder());
  }

  @Test
  void shouldNeverExpireNewestBackup() {
    // given every backup is older than a one-day window and no count rule applies
    List<Manifest> backups = daily("2026-10-01", 10, 2);

    Plan plan = plan(policy(0, 0, 0, 0, 0, 1), backups);

    assertThat(keptStarts(plan)).containsExactly("2026-10-10T02:00:00Z");
    assertThat(plan.kept().get(0).reasons()).contains("newest");
  }

  @Test
  void shouldKeepNewestBackupOfEachOfLastNDays() {
    // given four backups a day (00, 06, 12, 18 UTC) for ten days
    List<Manifest> backups = new ArrayList<>();
    for (int h = 0; h < 24; h += 6) {
      backups.addAll(daily("2026-11-10", 10, h));
    }

    // when
    Plan plan = plan(policy(0, 3, 0, 0, 0, 0), backups);

    // then the last backup of each of the three newest days
    assertThat(keptStarts(plan)).containsExactly("2026-11-19T18:00:00Z", "2026-11-18T18:00:00Z", "2026-11-17T18:00:00Z");
    assertThat(plan.kept()).extracting(Decision::reasons).containsExactly(
        List.of("newest", "daily 2026-11-19"), List.of("daily 2026-11-18"), List.of("daily 2026-11-17"));
  }

  @Test
  void shouldCountOnlyDaysThatHaveBackups() {
    List<Manifest> backups = List.of(logical("2026-11-01T02:00:00Z"), logical("2026-11-02T02:00:00Z"), logical("2026-11-05T02:00:00Z"),
        logical("2026-11-09T02:00:00Z"));

    Plan plan = plan(policy(0, 3, 0, 0, 0, 0), backups);

    assertThat(keptStarts(plan)).containsExactly("2026-11-09T02:00:00Z", "2026-11-05T02:00:00Z", "2026-11-02T02:00:00Z");
  }

  @Test
  void shouldUseUtcDays() {
    // given two backups on the same UTC day, one of them on the next day in Europe
    List<Manifest> backups = List.of(logical("2026-11-20T10:00:00Z"), logical("2026-11-20T23:30:00Z"));

    Plan plan = plan(policy(0, 5, 0, 0, 0, 0), backups);

    assertThat(keptStarts(plan)).containsExactly("2026-11-20T23:30:00Z");
  }

  @Test
  void shouldKeepNewestBackupOfEachOfLastNIsoWeeks() {
    // given a backup every day from Sat 2026-09-26 to Thu 2026-11-19 (weeks start on Monday)
    List<Manifest> backups = daily("2026-09-26", 55, 2);

    Plan plan = plan(policy(0, 0, 4, 0, 0, 0), backups);

    // then Thu of the current week and the Sundays of the three weeks before
    assertThat(keptStarts(plan)).containsExactly("2026-11-19T02:00:00Z", "2026-11-15T02:00:00Z", "2026-11-08T02:00:00Z", "2026-11-01T02:00:00Z");
    assertThat(plan.kept()).extracting(d -> d.reasons().get(d.reasons().size() - 1))
        .containsExactly("weekly 2026-W47", "weekly 2026-W46", "weekly 2026-W45", "weekly 2026-W44");
  }

  @Test
  void shouldNameIsoWeekOfWeekBasedYear() {
    // 2027-01-01 is a Friday: ISO week 53 of 2026
    Plan plan = plan(policy(0, 0, 1, 0, 0, 0), List.of(logical("2027-01-01T02:00:00Z")));

    assertThat(plan.kept().get(0).reasons()).contains("weekly 2026-W53");
  }

  @Test
  void shouldKeepNewestBackupOfEachMonthAndYear() {
    // given daily backups for three years
    List<Manifest> backups = daily("2024-01-01", 365 * 3 + 1, 2);

    // when
    Plan monthly = plan(policy(0, 0, 0, 3, 0, 0), backups);
    Plan yearly = plan(policy(0, 0, 0, 0, 5, 0), backups);

    // then months: the newest backup, then the last day of the two months before
    assertThat(keptStarts(monthly)).containsExactly("2026-12-31T02:00:00Z", "2026-11-30T02:00:00Z", "2026-10-31T02:00:00Z");
    assertThat(monthly.kept().get(1).reasons()).containsExactly("monthly 2026-11");
    // years: only three have backups
    assertThat(keptStarts(yearly)).containsExactly("2026-12-31T02:00:00Z", "2025-12-31T02:00:00Z", "2024-12-31T02:00:00Z");
    assertThat(yearly.kept().get(2).reasons()).containsExactly("yearly 2024");
  }

  @Test
  void shouldCombineRulesAndGiveEveryReason() {
    // given a year of nightly backups, ending Sun 2026-11-22
    List<Manifest> backups = daily("2025-11-23", 365, 2);

    // when
    Plan plan = plan(policy(2, 7, 4, 6, 2, 0), backups);

    // then 7 days, plus 3 older Sundays, plus 5 older month ends (June to October), plus the end of 2025
    assertThat(plan.kept()).hasSize(7 + 3 + 5 + 1);
    Decision newest = plan.kept().get(0);
    assertThat(newest.backup().startedAt()).isEqualTo("2026-11-22T02:00:00Z");
    assertThat(newest.reasons()).containsExactly("newest", "last 2", "daily 2026-11-22", "weekly 2026-W47", "monthly 2026-11", "yearly 2026");
    assertThat(plan.kept()).filteredOn(d -> d.backup().startedAt().equals("2026-10-31T02:00:00Z")).singleElement()
        .extracting(Decision::reasons).isEqualTo(List.of("monthly 2026-10"));
    assertThat(plan.kept()).filteredOn(d -> d.backup().startedAt().equals("2025-12-31T02:00:00Z")).singleElement()
        .extracting(Decision::reasons).isEqualTo(List.of("yearly 2025"));
    assertThat(plan.kept()).filteredOn(d -> d.backup().startedAt().equals("2026-11-15T02:00:00Z")).singleElement()
        .extracting(Decision::reasons).isEqualTo(List.of("weekly 2026-W46"));
  }

  @Test
  void shouldKeepRecoveryWindowPlusTheBackupBeforeIt() {
    // given nightly backups finishing at 02:10; now is 2026-11-22T12:00Z, the window starts 11-19T12:00Z
    List<Manifest> backups = daily("2026-11-01", 22, 2);

    // when
    Plan plan = plan(policy(0, 0, 0, 0, 0, 3), backups);

    // then 20, 21, 22 finished inside; 19 is the base for the start of the window
    assertThat(keptStarts(plan)).containsExactly("2026-11-22T02:00:00Z", "2026-11-21T02:00:00Z", "2026-11-20T02:00:00Z", "2026-11-19T02:00:00Z");
    assertThat(plan.kept().get(3).reasons()).containsExactly("recovery window");
  }

  @Test
  void shouldPlanEachKindSeparately() {
    // given logical backups newer than the physical ones
    List<Manifest> backups = new ArrayList<>(daily("2026-11-10", 5, 2));
    backups.add(physical("2026-11-01T03:00:00Z", 1, "000000010000000000000003"));
    backups.add(physical("2026-11-02T03:00:00Z", 1, "000000010000000000000007"));

    // when keeping only the last one
    Plan plan = plan(policy(1, 0, 0, 0, 0, 0), backups);

    // then the newest of each kind stays
    assertThat(keptStarts(plan)).containsExactly("2026-11-14T02:00:00Z", "2026-11-02T03:00:00Z");
    assertThat(plan.kept()).allSatisfy(d -> assertThat(d.reasons()).containsExactly("newest", "last 1"));
  }

  @Test
  void shouldKeepBackupInUseByRestore() {
    List<Manifest> backups = daily("2026-11-10", 5, 2);
    String reading = backups.get(0).backupId();

    Plan plan = new RetentionPlanner(policy(1, 0, 0, 0, 0, 0)).plan(backups, NOW, Set.of(reading, "20200101T000000Z-dead"));

    assertThat(plan.kept()).extracting(Decision::backupId).containsExactly(backups.get(4).backupId(), reading);
    assertThat(plan.kept().get(1).reasons()).containsExactly("in use by a restore");
  }

  @Test
  void shouldPlaceWalBoundaryAtOldestKeptPhysicalBackup() {
    // given three physical backups of which the newest two stay
    List<Manifest> backups = List.of(
        physical("2026-11-18T03:00:00Z", 1, "000000010000000000000003"),
        physical("2026-11-19T03:00:00Z", 1, "000000010000000000000010"),
        physical("2026-11-20T03:00:00Z", 1, "0000000100000001000000A0"));

    // when
    Plan plan = plan(policy(2, 0, 0, 0, 0, 0), backups);

    // then
    WalBoundary b = plan.wal().orElseThrow();
    assertThat(b.segment()).isEqualTo("000000010000000000000010");
    assertThat(b.timeline()).isEqualTo(1);
    assertThat(b.backupId()).isEqualTo(backups.get(1).backupId());
    assertThat(b.expires(wal("00000001000000000000000F"))).isTrue();
    assertThat(b.expires(wal("000000010000000000000003"))).isTrue();
    assertThat(b.expires(wal("000000010000000000000010"))).isFalse();
    assertThat(b.expires(wal("000000010000000100000000"))).isFalse();
    assertThat(b.expires(wal("00000001000000000000000C.partial"))).isTrue();
    assertThat(b.expires(wal("000000010000000000000003.00000028.backup"))).isTrue();
    assertThat(b.expires(wal("000000010000000000000010.00000028.backup"))).isFalse();
  }

  @Test
  void shouldKeepHistoryFilesAndNewerTimelines() {
    // given the oldest kept backup on timeline 2 at segment 0x20
    WalBoundary b = plan(policy(1, 0, 0, 0, 0, 0), List.of(physical("2026-11-20T03:00:00Z", 2, "000000020000000000000020"))).wal().orElseThrow();

    // then older segments of timelines 1 and 2 go; timeline 3 and every history file stay
    assertThat(b.timeline()).isEqualTo(2);
    assertThat(b.expires(wal("00000001000000000000001F"))).isTrue();
    assertThat(b.expires(wal("00000002000000000000001F"))).isTrue();
    assertThat(b.expires(wal("00000003000000000000001F"))).isFalse();
    assertThat(b.expires(wal("000000010000000000000025"))).isFalse();
    assertThat(b.expires(wal("00000001.history"))).isFalse();
    assertThat(b.expires(wal("00000002.history"))).isFalse();
  }

  @Test
  void shouldTakeBoundaryByPositionAcrossTimelines() {
    // given kept backups on timeline 3 (early position) and timeline 1 (later position)
    List<Manifest> kept = List.of(physical("2026-11-20T03:00:00Z", 1, "000000010000000000000040"),
        physical("2026-11-21T03:00:00Z", 3, "000000030000000000000030"));

    WalBoundary b = RetentionPlanner.walBoundary(kept).orElseThrow();

    assertThat(b.segment()).isEqualTo("000000030000000000000030");
    assertThat(b.expires(wal("00000001000000000000002F"))).isTrue();
    assertThat(b.expires(wal("000000010000000000000035"))).isFalse();
  }

  @Test
  void shouldDeleteNoWalWithoutKeptPhysicalBackup() {
    assertThat(plan(policy(1, 0, 0, 0, 0, 0), daily("2026-11-10", 5, 2)).wal()).isEmpty();
    assertThat(plan(RetentionPolicy.KEEP_ALL, List.of()).wal()).isEmpty();
  }

  @Test
  void shouldPlanNothingForNoBackups() {
    Plan plan = plan(policy(3, 7, 4, 12, 5, 14), List.of());

    assertThat(plan.decisions()).isEmpty();
    assertThat(plan.wal()).isEmpty();
  }

  /** A volume-only backup of {@code volume}; {@code from} maps files to the earlier backups holding them. */
  private static Manifest volumeBackup(String started, String volume, String base, java.util.Map<String, String> from) {
    Manifest shell = backup(started, "volume", null);
    List<Manifest.VolumeFile> files = new ArrayList<>();
    files.add(new Manifest.VolumeFile(".", "dir", null, "0755", started, 0, 0, null, null, null, null));
    from.forEach((path, id) -> files.add(new Manifest.VolumeFile(path, "file", 1L, "0644", started, 0, 0, "00", null, id, null)));
    Manifest.Volume v = new Manifest.Volume(volume, "/srv/" + volume, "volumes/" + volume + ".tar.zst", base, List.of(), files, List.of(), List.of());
    return new Manifest(shell.format(), shell.flotillaVersion(), shell.backupId(), shell.host(), "volume", shell.label(), null, 0,
        shell.startedAt(), shell.finishedAt(), shell.codecs(), List.of(), List.of(), null, List.of(v));
  }

  @Test
  void shouldKeepBackupsThatAKeptIncrementalVolumeBackupReadsFrom() {
    // given a full volume backup, then daily incrementals whose unchanged files live in the full one or in day 2
    Manifest full = volumeBackup("2026-11-15T02:00:00Z", "uploads", null, java.util.Map.of());
    Manifest day2 = volumeBackup("2026-11-16T02:00:00Z", "uploads", full.backupId(), java.util.Map.of("a.bin", full.backupId()));
    Manifest day3 = volumeBackup("2026-11-17T02:00:00Z", "uploads", day2.backupId(), java.util.Map.of("a.bin", full.backupId()));
    Manifest day4 = volumeBackup("2026-11-18T02:00:00Z", "uploads", day3.backupId(),
        java.util.Map.of("a.bin", full.backupId(), "b.bin", day2.backupId()));

    // when only the newest one is to be kept
    Plan plan = plan(policy(1, 0, 0, 0, 0, 0), List.of(full, day2, day3, day4));

    // then the backups it reads from stay, saying why; the one nothing needs goes
    assertThat(plan.kept()).extracting(Decision::backupId).containsExactlyInAnyOrder(day4.backupId(), day2.backupId(), full.backupId());
    Decision fullDecision = plan.decisions().stream().filter(d -> d.backupId().equals(full.backupId())).findFirst().orElseThrow();
    assertThat(fullDecision.reasons()).containsExactly(RetentionPlanner.NEEDED_BY + day4.backupId());
    assertThat(plan.expired()).extracting(Decision::backupId).containsExactly(day3.backupId());
  }

  @Test
  void shouldPlanEachVolumeOnItsOwn() {
    // given a backup of volume a, then one of volume b
    Manifest a = volumeBackup("2026-11-20T02:00:00Z", "a", null, java.util.Map.of());
    Manifest b = volumeBackup("2026-11-21T02:00:00Z", "b", null, java.util.Map.of());

    Plan plan = plan(policy(1, 0, 0, 0, 0, 0), List.of(a, b));

    // then each is the newest of its volume
    assertThat(plan.expired()).isEmpty();
  }

  private static WalFile wal(String name) {
    return WalFile.parse(name).orElseThrow();
  }
}
