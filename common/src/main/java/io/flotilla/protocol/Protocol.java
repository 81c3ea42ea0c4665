package io.flotilla.protocol;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The agent-coordinator protocol: small JSON documents over one WebSocket per agent, each with a
 * {@code type}. Large data never passes through it.
 *
 * <pre>
 * agent -> coordinator
 *   hello      {host, agentVersion, protocol}
 *   heartbeat  {host, at, postgres{up, version, inRecovery}, wal{archiving, lastArchivedWal, lastArchivedAt,
 *               lastFailedWal, lastFailedAt, failedCount, currentLsn, archivedUpToLsn, readySegments},
 *               disk{pgdataBytes, freeBytes, totalBytes}, runningJob}
 *   job        {jobId, state, kind, policy, fireTime, epoch, backupId, error, plainBytes, storedBytes, seconds,
 *               startedAt, finishedAt, autonomous}    state: accepted|running|succeeded|failed|refused
 * coordinator -> agent
 *   welcome    {member, schedules[]}
 *   schedules  {schedules[{policy, schedule, timeZone, kind, databases, all, label, repository, retention}]}
 *   assign     {jobId, epoch, leader, kind, policy, fireTime, databases, all, label, repository, retention}
 *   ack        {seq, ok}    (to a heartbeat that carried seq, once stored)
 * </pre>
 */
public final class Protocol {
  public static final int VERSION = 1;
  /** Where agents connect on every coordinator member. */
  public static final String CONNECT_PATH = "/api/v1/agents/connect";

  public static final String HELLO = "hello";
  public static final String HEARTBEAT = "heartbeat";
  public static final String JOB = "job";
  public static final String WELCOME = "welcome";
  public static final String SCHEDULES = "schedules";
  public static final String ASSIGN = "assign";
  /** Answer to a heartbeat carrying {@code seq}, sent once the coordinator has stored it. */
  public static final String ACK = "ack";

  public static final String ON_DEMAND = "on-demand";

  private Protocol() {}

  /**
   * The job id of a scheduled fire: {@code host/policy/fire-time}, the same whether the leader or the
   * agent (running its cached schedule alone) starts it, so the agent can refuse the second.
   */
  public static String jobId(String host, String policy, Instant fire) {
    return host + "/" + policy + "/" + fire.truncatedTo(ChronoUnit.SECONDS);
  }

  /** A file-name-safe form of a job id (for the agent's ledger). */
  public static String fileName(String jobId) {
    return jobId.replace('/', '_').replace(':', '-');
  }
}
