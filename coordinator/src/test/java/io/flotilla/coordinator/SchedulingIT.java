package io.flotilla.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.agent.Cli;
import io.flotilla.testkit.PostgresCluster;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two real coordinator members and one real agent daemon (with a real PostgreSQL and a file
 * repository): scheduled and on-demand backups land in the repository; killing the leader neither
 * skips nor doubles a fire; with every coordinator down the agent keeps its schedule; a rebuilt
 * coordinator reads the history back from the repository.
 */
@Timeout(600)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SchedulingIT {
  static final String POLICY = """
      policies:
        - name: every10s
          hosts: ["db*"]
          schedule: "*/10 * * * * *"
          kind: logical
          databases: [shop]
          label: daily
          rpo: 1h
      """;

  @TempDir
  static Path tmp;
  static PostgresCluster pg;
  static Members members;
  static Agents agent;
  static Path repo;
  static Path agentConfig;

  @BeforeAll
  static void setUp() throws Exception {
    pg = PostgresCluster.start();
    pg.psql("postgres", "CREATE DATABASE shop");
    pg.psql("shop", "CREATE TABLE orders AS SELECT i AS id, md5(i::text) AS note FROM generate_series(1, 2000) i");
    repo = tmp.resolve("repo");
    members = new Members(tmp.resolve("coordinators"), 2, "repositories:\n  - {name: primary, url: \"" + repo.toUri() + "\"}\n" + POLICY);
    members.start(0);
    members.start(1);
    Path uploads = java.nio.file.Files.createDirectories(tmp.resolve("uploads/2026"));
    java.nio.file.Files.writeString(uploads.resolve("invoice.txt"), "invoice 1\n");
    agentConfig = Agents.config(tmp.resolve("agent"), pg, repo, "[" + members.agentUrl(1) + ", " + members.agentUrl(0) + "]",
        "volumes:\n  - {name: uploads, path: " + tmp.resolve("uploads") + "}\n");
    agent = Agents.start(agentConfig);
    Members.await(Duration.ofSeconds(60), "agent db1 connected", () -> hostConnected(0));
  }

  @AfterAll
  static void tearDown() throws Exception {
    if (agent != null) {
      // Kept for diagnosis: the agent's own account of every connection and job.
      Files.writeString(Path.of(System.getProperty("java.io.tmpdir"), "flotilla-schedulingit-agent.log"), agent.log());
      agent.close();
    }
    if (members != null) {
      members.close();
    }
    if (pg != null) {
      pg.close();
    }
  }

  static boolean hostConnected(int member) {
    try {
      Members.Response r = members.get(member, "/api/v1/hosts/db1", Members.VIEWER);
      return r.status() == 200 && r.json().getBoolean("connected", false);
    } catch (Exception e) {
      return false;
    }
  }

  static List<JsonObject> jobs(int member) throws Exception {
    Members.Response r = members.get(member, "/api/v1/jobs?host=db1", Members.VIEWER);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    List<JsonObject> out = new ArrayList<>();
    r.array().forEach(o -> out.add((JsonObject) o));
    return out;
  }

  static List<JsonObject> scheduled(int member) throws Exception {
    return jobs(member).stream().filter(j -> "every10s".equals(j.getString("policy"))).toList();
  }

  /** Backup ids in the repository, as `flotilla list --json` sees them. */
  static List<String> repositoryBackups() {
    return repositoryBackups(null);
  }

  /** Backup ids of one kind (null: all) in the repository. */
  static List<String> repositoryBackups(String kind) {
    Cli.Result r = Cli.run(agentConfig, "list", "--json");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    List<String> ids = new ArrayList<>();
    new JsonArray(r.stdout()).forEach(o -> {
      JsonObject b = (JsonObject) o;
      if (kind == null || kind.equals(b.getString("kind"))) {
        ids.add(b.getString("id"));
      }
    });
    return ids;
  }

  @Test
  @Order(1)
  void shouldLandScheduledAndOnDemandBackupsInTheRepository() throws Exception {
    Members.await(Duration.ofSeconds(60), "two scheduled backups succeeded",
        () -> scheduled(0).stream().filter(j -> "succeeded".equals(j.getString("state"))).count() >= 2);

    // Asked of the member that is not the leader: it relays under the leader's epoch.
    int follower = 1 - members.leaderIndex();
    Members.Response posted = members.send(follower, "POST", "/api/v1/hosts/db1/backups", Members.OPERATOR, "{\"databases\": [\"shop\"]}");
    assertThat(posted.status()).as(posted.body()).isEqualTo(202);
    String jobId = posted.json().getString("jobId");
    assertThat(jobId).startsWith("db1/on-demand/");
    Members.await(Duration.ofSeconds(60), "on-demand job succeeded",
        () -> "succeeded".equals(members.get(1, "/api/v1/jobs/" + jobId, Members.VIEWER).json().getString("state")));

    JsonObject job = members.get(0, "/api/v1/jobs/" + jobId, Members.VIEWER).json();
    List<String> inRepo = repositoryBackups();
    assertThat(inRepo).contains(job.getString("backupId"));
    for (JsonObject j : scheduled(0)) {
      if ("succeeded".equals(j.getString("state"))) {
        assertThat(inRepo).contains(j.getString("backupId"));
      }
    }
    Members.await(Duration.ofSeconds(20), "the API lists the repository's backups",
        () -> members.get(1, "/api/v1/hosts/db1/backups", Members.VIEWER).array().size() == repositoryBackups().size());

    // A volume backup through the API lands too.
    Members.Response vol = members.send(0, "POST", "/api/v1/hosts/db1/backups", Members.OPERATOR, "{\"kind\": \"volume\", \"all\": true}");
    assertThat(vol.status()).as(vol.body()).isEqualTo(202);
    String volId = vol.json().getString("jobId");
    Members.await(Duration.ofSeconds(60), "volume job succeeded",
        () -> "succeeded".equals(members.get(0, "/api/v1/jobs/" + volId, Members.VIEWER).json().getString("state")));
    String volumeBackup = members.get(0, "/api/v1/jobs/" + volId, Members.VIEWER).json().getString("backupId");
    assertThat(java.nio.file.Files.exists(repo.resolve("hosts/db1/backups/" + volumeBackup + "/manifest.json"))).isTrue();

    // A backup that cannot work fails as a job, with the agent's one-line reason, and is counted.
    Members.Response bad = members.send(0, "POST", "/api/v1/hosts/db1/backups", Members.OPERATOR, "{\"databases\": [\"no_such_db\"]}");
    assertThat(bad.status()).isEqualTo(202);
    String badId = bad.json().getString("jobId");
    Members.await(Duration.ofSeconds(60), "the bad job failed",
        () -> "failed".equals(members.get(0, "/api/v1/jobs/" + badId, Members.VIEWER).json().getString("state")));
    assertThat(members.get(0, "/api/v1/jobs/" + badId, Members.VIEWER).json().getString("error")).contains("no_such_db");

    // A Prometheus scrape parses and carries the host's last backup, its size, RPO and compliance state.
    Members.Response scrape = members.get(0, "/metrics", Members.VIEWER);
    assertThat(scrape.status()).isEqualTo(200);
    List<PrometheusParser.Sample> samples = PrometheusParser.parse(scrape.body());
    PrometheusParser.Sample last = samples.stream().filter(x -> x.name().equals("flotilla_last_backup_success_timestamp_seconds")
        && "db1".equals(x.labels().get("host")) && "logical".equals(x.labels().get("kind"))).findFirst().orElseThrow();
    assertThat(Instant.now().getEpochSecond() - last.value()).isBetween(0.0, 60.0);
    assertThat(samples).anyMatch(x -> x.name().equals("flotilla_last_backup_size_bytes") && x.value() > 0);
    assertThat(samples).anyMatch(x -> x.name().equals("flotilla_rpo_seconds") && "db1".equals(x.labels().get("host")));
    assertThat(samples).anyMatch(x -> x.name().equals("flotilla_compliance_state") && "met".equals(x.labels().get("state"))
        && x.value() == 1.0);
    assertThat(samples).anyMatch(x -> x.name().equals("flotilla_job_failures_total") && x.value() >= 1.0);
    assertThat(members.get(0, "/metrics", null).status()).isEqualTo(401);
  }

  @Test
  @Order(2)
  void shouldRunEveryFireExactlyOnceWhenTheLeaderIsKilled() throws Exception {
    int leader = members.leaderIndex();
    assertThat(leader).isGreaterThanOrEqualTo(0);
    int survivor = 1 - leader;
    // Kill the leader just before a fire, so the fire falls in the gap before the survivor takes over.
    long now = System.currentTimeMillis();
    long nextFire = (now / 10_000 + 1) * 10_000;
    if (nextFire - now < 1500) {
      nextFire += 10_000;
    }
    Thread.sleep(nextFire - now - 1000);
    Instant gapFire = Instant.ofEpochMilli(nextFire);
    members.crash(leader);
    Instant crashedAt = Instant.now();

    Members.await(Duration.ofSeconds(30), "survivor becomes leader", () -> members.member(survivor).isLeader());
    Members.await(Duration.ofSeconds(60), "the fire in the gap ran, late",
        () -> "succeeded".equals(members.get(survivor, "/api/v1/jobs/db1/every10s/" + gapFire, Members.VIEWER).json().getString("state")));
    // Two more fires under the new leader.
    Instant later = gapFire.plusSeconds(20);
    Members.await(Duration.ofSeconds(60), "fires after failover ran",
        () -> "succeeded".equals(members.get(survivor, "/api/v1/jobs/db1/every10s/" + later, Members.VIEWER).json().getString("state")));

    List<JsonObject> jobs = scheduled(survivor);
    Set<String> fires = new TreeSet<>();
    Set<String> backups = new HashSet<>();
    for (JsonObject j : jobs) {
      assertThat(fires.add(j.getString("fireTime"))).as("one job per fire: " + j).isTrue();
      if (j.getString("backupId") != null) {
        assertThat(backups.add(j.getString("backupId"))).as("one backup per job").isTrue();
      }
    }
    // Every 10-second fire from the first one handled to the last checked has exactly one job: none skipped.
    Instant first = Instant.parse(fires.iterator().next());
    for (Instant f = first; !f.isAfter(later); f = f.plusSeconds(10)) {
      assertThat(fires).as("fire " + f + " (leader crashed at " + crashedAt + ")").contains(f.toString());
    }
    // And each ran once: the repository holds one backup per scheduled job, no more.
    List<String> inRepo = repositoryBackups();
    assertThat(inRepo).containsAll(backups);
    long extra = inRepo.size() - backups.size() - jobs(survivor).stream().filter(j -> j.getString("id").contains("/on-demand/")
        && "succeeded".equals(j.getString("state"))).count();
    assertThat(extra).as("backups without a job (a fire run twice)").isZero();
    // The agent accepted the new leader's epoch.
    assertThat(members.get(survivor, "/api/v1/cluster", Members.VIEWER).json().getJsonObject("leader").getString("member"))
        .isEqualTo("member-" + survivor);
    members.start(leader); // back to two members for the next test
  }

  @Test
  @Order(3)
  void shouldKeepTheScheduleWhileEveryCoordinatorIsDownAndReportWhenBack() throws Exception {
    List<String> before = repositoryBackups();
    members.stop(0);
    members.stop(1);
    Instant down = Instant.now();
    // Two fires pass with no coordinator at all.
    Members.await(Duration.ofSeconds(60), "the agent ran its cached schedule alone", () -> repositoryBackups().size() >= before.size() + 2);
    assertThat(agent.log()).contains("running cached schedules alone");

    // A rebuilt coordinator: fresh members, fresh cluster state; history comes back from the repository.
    members.start(0);
    Members.await(Duration.ofSeconds(60), "agent reconnected", () -> hostConnected(0));
    Members.await(Duration.ofSeconds(30), "history read back from the repository",
        () -> members.get(0, "/api/v1/hosts/db1/backups", Members.VIEWER).array().size() >= before.size() + 2);
    Members.await(Duration.ofSeconds(30), "the agent reported the runs it made alone", () -> scheduled(0).stream()
        .anyMatch(j -> j.getBoolean("autonomous", false) && "succeeded".equals(j.getString("state"))
            && Instant.parse(j.getString("fireTime")).isAfter(down)));
    // And the rebuilt coordinator's own assignments are accepted (its epoch is newer than the old cluster's).
    Instant reconnected = Instant.now();
    Members.await(Duration.ofSeconds(40), () -> "a fire of the rebuilt coordinator ran; " + agent.diagnosis(), () -> scheduled(0).stream()
        .anyMatch(j -> !j.getBoolean("autonomous", false) && "succeeded".equals(j.getString("state"))
            && Instant.parse(j.getString("fireTime")).isAfter(reconnected)));
    assertThat(agent.log()).doesNotContain("is older than epoch");
    List<String> inRepo = repositoryBackups();
    JsonArray listed = members.get(0, "/api/v1/hosts/db1/backups", Members.VIEWER).array();
    Set<String> listedIds = new HashSet<>();
    listed.forEach(o -> listedIds.add(((JsonObject) o).getString("id")));
    assertThat(listedIds).containsAll(before);
    assertThat(Files.exists(repo.resolve("hosts/db1/backups"))).isTrue();
    assertThat(inRepo).containsAll(listedIds.stream().filter(id -> !id.isEmpty()).toList());
  }

  @Test
  @Order(4)
  void shouldApplyThePolicysRetentionAfterEachScheduledBackup() throws Exception {
    Members.Response put = members.send(0, "PUT", "/api/v1/policies/every10s", Members.ADMIN, """
        {"hosts": ["db*"], "schedule": "*/10 * * * * *", "kind": "logical", "databases": ["shop"], "label": "daily",
         "retention": {"keep-last": 2}, "rpo": "1h"}""");
    assertThat(put.status()).as(put.body()).isEqualTo(200);
    JsonObject[] expire = new JsonObject[1];
    Members.await(Duration.ofSeconds(60), () -> "an expire job succeeded; " + agent.diagnosis(), () -> {
      for (JsonObject j : jobs(0)) {
        if (j.getString("id").contains(":expire/") && "succeeded".equals(j.getString("state"))) {
          expire[0] = j;
          return true;
        }
      }
      return false;
    });
    assertThat(expire[0].getJsonArray("expired")).isNotEmpty();
    List<String> inRepo = repositoryBackups("logical");
    for (Object gone : expire[0].getJsonArray("expired")) {
      assertThat(inRepo).doesNotContain((String) gone);
      assertThat(repo.resolve("hosts/db1/backups/" + gone)).doesNotExist();
    }
    // Exactly the two newest logical backups made before the expire ran are left (the volume backup is
    // planned on its own, per volume set, and stays as the newest of its kind).
    assertThat(repositoryBackups("volume")).hasSize(1);
    String startedAt = expire[0].getString("startedAt");
    // Jobs run one at a time on the agent, so every backup of the expire's second or earlier was made before it.
    String second = startedAt.replace("-", "").replace(":", "").substring(0, 15) + "Z";
    long before = inRepo.stream().filter(id -> id.substring(0, 16).compareTo(second) <= 0).count();
    assertThat(before).as(inRepo + " before " + startedAt).isEqualTo(2);
  }
}
