package io.flotilla.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Cron schedules evaluated on local wall-clock time, with one fire per local fire across DST changes. */
class CronScheduleTest {
  private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
  private static final ZoneId NEW_YORK = ZoneId.of("America/New_York");

  private static Instant at(String iso) {
    return Instant.parse(iso);
  }

  private static Instant next(String expression, ZoneId zone, String after) {
    return CronSchedule.parse(expression, zone).nextAfter(at(after)).orElseThrow();
  }

  @Test
  void shouldFireFiveFieldScheduleAtLocalTime() {
    // given a winter day in Berlin (CET, UTC+1)
    // when / then
    assertThat(next("30 2 * * *", BERLIN, "2026-01-10T12:00:00Z")).isEqualTo(at("2026-01-11T01:30:00Z"));
    assertThat(next("30 2 * * *", BERLIN, "2026-07-10T12:00:00Z")).isEqualTo(at("2026-07-11T00:30:00Z"));
  }

  @Test
  void shouldReadSecondsFirstInSixFields() {
    CronSchedule s = CronSchedule.parse("15 30 2 * * *", ZoneOffset.UTC);

    assertThat(s.nextAfter(at("2026-01-10T00:00:00Z"))).contains(at("2026-01-10T02:30:15Z"));
    assertThat(next("*/20 * * * * *", ZoneOffset.UTC, "2026-01-10T00:00:05Z")).isEqualTo(at("2026-01-10T00:00:20Z"));
  }

  @Test
  void shouldFireStrictlyAfterTheGivenInstant() {
    assertThat(next("0 2 * * *", ZoneOffset.UTC, "2026-01-10T02:00:00Z")).isEqualTo(at("2026-01-11T02:00:00Z"));
  }

  @ParameterizedTest
  @CsvSource({
      "@yearly,    2027-01-01T00:00:00Z",
      "@annually,  2027-01-01T00:00:00Z",
      "@monthly,   2026-06-01T00:00:00Z",
      "@weekly,    2026-05-17T00:00:00Z",
      "@daily,     2026-05-15T00:00:00Z",
      "@midnight,  2026-05-15T00:00:00Z",
      "@hourly,    2026-05-14T11:00:00Z",
      "@DAILY,     2026-05-15T00:00:00Z"})
  void shouldExpandMacros(String macro, String expected) {
    // 2026-05-14 is a Thursday
    assertThat(next(macro, ZoneOffset.UTC, "2026-05-14T10:20:00Z")).isEqualTo(at(expected));
  }

  @Test
  void shouldMatchDayOfWeekWithSundayAsZeroOrSeven() {
    // given Friday 2026-05-15
    assertThat(next("0 9 * * 1-5", ZoneOffset.UTC, "2026-05-15T10:00:00Z")).isEqualTo(at("2026-05-18T09:00:00Z"));
    assertThat(next("0 9 * * 0", ZoneOffset.UTC, "2026-05-15T10:00:00Z")).isEqualTo(at("2026-05-17T09:00:00Z"));
    assertThat(next("0 9 * * 7", ZoneOffset.UTC, "2026-05-15T10:00:00Z")).isEqualTo(at("2026-05-17T09:00:00Z"));
    assertThat(next("0 9 * * 6", ZoneOffset.UTC, "2026-05-15T10:00:00Z")).isEqualTo(at("2026-05-16T09:00:00Z"));
  }

  @Test
  void shouldFireOnDayOfMonthOrDayOfWeekWhenBothAreGivenAsCrontabDoes() {
    // given the 13th or any Friday; 2026-02-13 is both, 2026-01-13 a Tuesday
    CronSchedule s = CronSchedule.parse("0 0 13 * 5", ZoneOffset.UTC);

    assertThat(s.firesBetween(at("2026-01-10T00:00:00Z"), at("2026-01-20T00:00:00Z")))
        .containsExactly(at("2026-01-13T00:00:00Z"), at("2026-01-16T00:00:00Z"));
  }

  @Test
  void shouldRunSkippedLocalTimeAtTransition() {
    // given Berlin springs forward on 2026-03-29 from 02:00 CET to 03:00 CEST (01:00Z)
    CronSchedule s = CronSchedule.parse("30 2 * * *", BERLIN);

    // when
    Instant fire = s.nextAfter(at("2026-03-28T12:00:00Z")).orElseThrow();

    // then 02:30 does not exist that day: it runs once, at the transition, and normally the next day
    assertThat(fire).isEqualTo(at("2026-03-29T01:00:00Z"));
    assertThat(s.nextAfter(fire)).contains(at("2026-03-30T00:30:00Z"));
  }

  @Test
  void shouldRunSkippedLocalTimeAtTransitionInNewYork() {
    // given New York springs forward on 2026-03-08 from 02:00 EST to 03:00 EDT (07:00Z)
    CronSchedule s = CronSchedule.parse("30 2 * * *", NEW_YORK);

    assertThat(s.nextAfter(at("2026-03-07T12:00:00Z"))).contains(at("2026-03-08T07:00:00Z"));
    assertThat(s.nextAfter(at("2026-03-08T07:00:00Z"))).contains(at("2026-03-09T06:30:00Z"));
  }

  @Test
  void shouldCollapseSeveralSkippedFiresIntoOne() {
    // given four local fires inside the skipped hour
    CronSchedule s = CronSchedule.parse("*/15 2 * * *", BERLIN);

    // when
    List<Instant> fires = s.firesBetween(at("2026-03-28T23:00:00Z"), at("2026-03-29T23:00:00Z"));

    // then they are one fire at the transition
    assertThat(fires).containsExactly(at("2026-03-29T01:00:00Z"));
  }

  @Test
  void shouldRunRepeatedLocalTimeOnceAtEarlierOffset() {
    // given Berlin falls back on 2026-10-25 from 03:00 CEST to 02:00 CET (01:00Z): 02:30 happens twice
    CronSchedule s = CronSchedule.parse("30 2 * * *", BERLIN);

    // when
    List<Instant> fires = s.firesBetween(at("2026-10-24T12:00:00Z"), at("2026-10-25T12:00:00Z"));

    // then it runs once, at 02:30 CEST
    assertThat(fires).containsExactly(at("2026-10-25T00:30:00Z"));
  }

  @Test
  void shouldRunRepeatedLocalTimeOnceInNewYork() {
    // given New York falls back on 2026-11-01 from 02:00 EDT to 01:00 EST (06:00Z): 01:30 happens twice
    CronSchedule s = CronSchedule.parse("30 1 * * *", NEW_YORK);

    assertThat(s.firesBetween(at("2026-10-31T12:00:00Z"), at("2026-11-01T12:00:00Z"))).containsExactly(at("2026-11-01T05:30:00Z"));
  }

  @Test
  void shouldRunHourlyScheduleOncePerLocalHourInTheRepeatedHour() {
    // given an hourly schedule across the Berlin fall-back night
    CronSchedule s = CronSchedule.parse("0 * * * *", BERLIN);

    // when
    List<Instant> fires = s.firesBetween(at("2026-10-24T22:30:00Z"), at("2026-10-25T04:00:00Z"));

    // then local 02:00 runs once (CEST, 00:00Z), not again at 02:00 CET (01:00Z)
    assertThat(fires).containsExactly(
        at("2026-10-24T23:00:00Z"), // 01:00 CEST
        at("2026-10-25T00:00:00Z"), // 02:00 CEST
        at("2026-10-25T02:00:00Z"), // 03:00 CET
        at("2026-10-25T03:00:00Z"),
        at("2026-10-25T04:00:00Z"));
  }

  @Test
  void shouldNotRepeatFireWhenAskedFromInsideTheRepeatedHour() {
    // given 'now' is 02:10 CET, the second pass through 02:xx (02:30 CEST already ran)
    Instant inSecondPass = at("2026-10-25T01:10:00Z");

    assertThat(next("30 2 * * *", BERLIN, inSecondPass.toString())).isEqualTo(at("2026-10-26T01:30:00Z"));
    assertThat(next("0 * * * *", BERLIN, inSecondPass.toString())).isEqualTo(at("2026-10-25T02:00:00Z"));
  }

  @Test
  void shouldUseUtcWithoutAnyShift() {
    CronSchedule s = CronSchedule.parse("0 2 * * *", ZoneOffset.UTC);

    assertThat(s.firesBetween(at("2026-03-28T00:00:00Z"), at("2026-03-31T00:00:00Z")))
        .containsExactly(at("2026-03-28T02:00:00Z"), at("2026-03-29T02:00:00Z"), at("2026-03-30T02:00:00Z"));
  }

  @Test
  void shouldListFiresAcrossDstWeek() {
    // given a nightly 02:00 schedule over the week of the Berlin spring change
    CronSchedule s = CronSchedule.parse("0 2 * * *", BERLIN);

    // when
    List<Instant> fires = s.firesBetween(at("2026-03-25T12:00:00Z"), at("2026-04-01T12:00:00Z"));

    // then one fire a day; the skipped night fires at the transition, later nights in CEST
    assertThat(fires).containsExactly(
        at("2026-03-26T01:00:00Z"),
        at("2026-03-27T01:00:00Z"),
        at("2026-03-28T01:00:00Z"),
        at("2026-03-29T01:00:00Z"),
        at("2026-03-30T00:00:00Z"),
        at("2026-03-31T00:00:00Z"),
        at("2026-04-01T00:00:00Z"));
  }

  @Test
  void shouldCapFiresBetween() {
    CronSchedule s = CronSchedule.parse("* * * * * *", ZoneOffset.UTC);

    List<Instant> fires = s.firesBetween(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"));

    assertThat(fires).hasSize(CronSchedule.MAX_FIRES);
    assertThat(fires.get(0)).isEqualTo(at("2026-01-01T00:00:01Z"));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "61 * * * *      | '61 * * * *' is not valid",
      "* * *           | has 3 fields: expected 5",
      "* * * * * * *   | has 7 fields",
      "@fortnightly    | unknown macro",
      "a b c d e       | 'a b c d e' is not valid",
      "0 25 * * *      | '0 25 * * *' is not valid",
      "0 0 * * 8       | is not valid",
      "0 0 30 2 *      | never fires",
      "0 0 L * *       | is not valid"})
  void shouldRejectMalformedExpressionWithOneLineMessage(String expression, String expected) {
    FlotillaException e = catchThrowableOfType(FlotillaException.class, () -> CronSchedule.parse(expression, ZoneOffset.UTC));

    assertThat(e).isNotNull();
    assertThat(e.code()).isEqualTo(ErrorCode.USAGE);
    assertThat(e.getMessage()).contains(expected).doesNotContain("\n");
  }

  @Test
  void shouldRejectEmptyExpression() {
    FlotillaException e = catchThrowableOfType(FlotillaException.class, () -> CronSchedule.parse("  ", ZoneOffset.UTC));

    assertThat(e.code()).isEqualTo(ErrorCode.USAGE);
    assertThat(e.getMessage()).contains("empty");
  }

  @Test
  void shouldKeepExpressionAndZone() {
    CronSchedule s = CronSchedule.parse(" 0  2 * * * ", BERLIN);

    assertThat(s.expression()).isEqualTo("0 2 * * *");
    assertThat(s.zone()).isEqualTo(BERLIN);
  }
}
