package io.flotilla.schedule;

import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;

/**
 * A cron schedule in a time zone. STUB: the real implementation follows.
 */
public final class CronSchedule {
  private final String expression;
  private final ZoneId zone;

  private CronSchedule(String expression, ZoneId zone) {
    this.expression = expression;
    this.zone = zone;
  }

  /** Parses 5 fields, 6 fields (seconds first) or a macro; throws FlotillaException(USAGE) with a one-line reason. */
  public static CronSchedule parse(String expression, ZoneId zone) {
    return new CronSchedule(expression, zone);
  }

  /** The first fire strictly after {@code after}. */
  public Optional<Instant> nextAfter(Instant after) {
    return Optional.empty();
  }

  /** Fires in (fromExclusive, toInclusive], oldest first. */
  public List<Instant> firesBetween(Instant fromExclusive, Instant toInclusive) {
    return List.of();
  }

  public String expression() {
    return expression;
  }

  public ZoneId zone() {
    return zone;
  }
}
