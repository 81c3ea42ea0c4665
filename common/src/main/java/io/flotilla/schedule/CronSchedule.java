package io.flotilla.schedule;

import com.cronutils.model.Cron;
import com.cronutils.model.definition.CronDefinition;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A cron schedule in a time zone, with wall-clock semantics across daylight-saving changes.
 *
 * <p>The expression is matched against LOCAL date-times of the zone (as a person reading the
 * crontab expects), and each local fire is then mapped to an instant:
 * <ul>
 *   <li>a local time that does not exist (the hour skipped in spring) fires once, at the
 *       transition instant: {@code 30 2 * * *} in Europe/Berlin fires at 03:00 CEST on the day of
 *       the change;</li>
 *   <li>a local time that exists twice (the hour repeated in autumn) fires once, at the earlier
 *       offset;</li>
 *   <li>local fires that map to the same instant (several in one skipped hour) are one fire.</li>
 * </ul>
 * cron-utils evaluated directly in a zone (like Quartz) skips or doubles such fires; here it only
 * ever sees a zone without transitions.
 *
 * <p>Accepted forms: 5 fields (minute hour day-of-month month day-of-week, as in crontab(5), with
 * Sunday as 0 or 7), 6 fields (seconds first, then the same five), and the macros {@code @yearly},
 * {@code @annually}, {@code @monthly}, {@code @weekly}, {@code @daily}, {@code @midnight},
 * {@code @hourly}.
 */
public final class CronSchedule {
  /** {@link #firesBetween} returns at most this many fires, so a wide range cannot exhaust memory. */
  public static final int MAX_FIRES = 10_000;

  /** Local fires tried per {@link #nextAfter} call; bounds the walk through a repeated hour of a per-second schedule. */
  private static final int MAX_STEPS = 100_000;

  /** Local date-times are evaluated as if in this zone, which has no transitions. */
  private static final ZoneId WALL_CLOCK = ZoneOffset.UTC;

  private static final Map<String, String> MACROS = Map.of(
      "@yearly", "0 0 1 1 *",
      "@annually", "0 0 1 1 *",
      "@monthly", "0 0 1 * *",
      "@weekly", "0 0 * * 0",
      "@daily", "0 0 * * *",
      "@midnight", "0 0 * * *",
      "@hourly", "0 * * * *");

  private static final CronParser FIVE_FIELDS = new CronParser(definition(false));
  private static final CronParser SIX_FIELDS = new CronParser(definition(true));

  private final String expression;
  private final ZoneId zone;
  private final ExecutionTime execution;

  private CronSchedule(String expression, ZoneId zone, ExecutionTime execution) {
    this.expression = expression;
    this.zone = zone;
    this.execution = execution;
  }

  /** Parses 5 fields, 6 fields (seconds first) or a macro; throws FlotillaException(USAGE) with a one-line reason. */
  public static CronSchedule parse(String expression, ZoneId zone) {
    if (zone == null) {
      throw new FlotillaException(ErrorCode.USAGE, "cron schedule needs a time zone");
    }
    if (expression == null || expression.isBlank()) {
      throw new FlotillaException(ErrorCode.USAGE, "cron expression is empty: give 5 fields (minute hour day-of-month month day-of-week), "
          + "6 fields (seconds first) or a macro such as @daily");
    }
    String text = expression.trim().replaceAll("\\s+", " ");
    String cronText = text;
    if (text.startsWith("@")) {
      cronText = MACROS.get(text.toLowerCase(Locale.ROOT));
      if (cronText == null) {
        throw new FlotillaException(ErrorCode.USAGE, "cron expression '" + text + "': unknown macro (known: "
            + String.join(", ", new java.util.TreeSet<>(MACROS.keySet())) + ")");
      }
    }
    int fields = cronText.split(" ").length;
    CronParser parser = switch (fields) {
      case 5 -> FIVE_FIELDS;
      case 6 -> SIX_FIELDS;
      default -> throw new FlotillaException(ErrorCode.USAGE, "cron expression '" + text + "' has " + fields + " field" + (fields == 1 ? "" : "s")
          + ": expected 5 (minute hour day-of-month month day-of-week), 6 (seconds first) or a macro such as @daily");
    };
    Cron cron;
    try {
      cron = parser.parse(cronText);
      cron.validate();
    } catch (RuntimeException e) {
      throw new FlotillaException(ErrorCode.USAGE, "cron expression '" + text + "' is not valid: " + reason(e), e);
    }
    ExecutionTime execution = ExecutionTime.forCron(cron);
    // Fields that are each valid can still never meet (February 30th): say so now, not never.
    if (execution.nextExecution(ZonedDateTime.of(2000, 1, 1, 0, 0, 0, 0, WALL_CLOCK)).isEmpty()) {
      throw new FlotillaException(ErrorCode.USAGE, "cron expression '" + text + "' never fires (no date matches its day and month fields)");
    }
    return new CronSchedule(text, zone, execution);
  }

  /** crontab(5) fields; with {@code seconds}, a seconds field first. */
  private static CronDefinition definition(boolean seconds) {
    CronDefinitionBuilder b = CronDefinitionBuilder.defineCron();
    if (seconds) {
      b = b.withSeconds().withValidRange(0, 59).withStrictRange().and();
    }
    return b.withMinutes().withValidRange(0, 59).withStrictRange().and()
        .withHours().withValidRange(0, 23).withStrictRange().and()
        .withDayOfMonth().withValidRange(1, 31).withStrictRange().and()
        .withMonth().withValidRange(1, 12).withStrictRange().and()
        .withDayOfWeek().withValidRange(0, 7).withMondayDoWValue(1).withIntMapping(7, 0).withStrictRange().and()
        .instance();
  }

  /** cron-utils messages can span lines and repeat the expression; keep the first line. */
  private static String reason(RuntimeException e) {
    String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return msg.lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst().orElse(msg);
  }

  /** The first fire strictly after {@code after}, or empty when the schedule never fires again. */
  public Optional<Instant> nextAfter(Instant after) {
    // The local time at 'after' maps (with the earlier offset in an overlap) to an instant no later
    // than 'after'; since the local-to-instant mapping never goes backwards, the fire we want is
    // the first local fire after it whose instant is after 'after'.
    ZonedDateTime local = LocalDateTime.ofInstant(after, zone).atZone(WALL_CLOCK);
    for (int step = 0; step < MAX_STEPS; step++) {
      Optional<ZonedDateTime> next = execution.nextExecution(local);
      if (next.isEmpty()) {
        return Optional.empty();
      }
      Instant fire = toInstant(next.get().toLocalDateTime());
      if (fire.isAfter(after)) {
        return Optional.of(fire);
      }
      local = next.get();
    }
    return Optional.empty();
  }

  /**
   * Fires in (fromExclusive, toInclusive], oldest first, each instant once. At most
   * {@link #MAX_FIRES} are returned (the oldest ones); callers that need more page with the last one.
   */
  public List<Instant> firesBetween(Instant fromExclusive, Instant toInclusive) {
    List<Instant> fires = new ArrayList<>();
    Instant cursor = fromExclusive;
    while (fires.size() < MAX_FIRES) {
      Optional<Instant> next = nextAfter(cursor);
      if (next.isEmpty() || next.get().isAfter(toInclusive)) {
        break;
      }
      fires.add(next.get());
      cursor = next.get();
    }
    return fires;
  }

  /** A local date-time as an instant: in a gap, the transition; in an overlap, the earlier offset. */
  private Instant toInstant(LocalDateTime local) {
    ZoneRules rules = zone.getRules();
    ZoneOffsetTransition transition = rules.getTransition(local);
    if (transition != null && transition.isGap()) {
      return transition.getInstant();
    }
    // Outside a gap, atZone keeps the earlier offset of an overlap.
    return local.atZone(zone).toInstant();
  }

  public String expression() {
    return expression;
  }

  public ZoneId zone() {
    return zone;
  }

  @Override
  public String toString() {
    return expression + " (" + zone + ")";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CronSchedule c && c.expression.equals(expression) && c.zone.equals(zone);
  }

  @Override
  public int hashCode() {
    return expression.hashCode() * 31 + zone.hashCode();
  }
}
