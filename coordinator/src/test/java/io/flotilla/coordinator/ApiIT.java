package io.flotilla.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.testkit.Processes;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The API's guard rails: tokens and roles, clear 4xx answers naming what is wrong, its OpenAPI document. */
@Timeout(180)
class ApiIT {
  @TempDir
  static Path tmp;
  static Members members;

  @BeforeAll
  static void setUp() throws Exception {
    members = new Members(tmp.resolve("c"), 1, """
        repositories:
          - {name: primary, url: "file:///var/tmp/flotilla-api-it"}
        policies:
          - {name: nightly, hosts: ["db*"], schedule: "@daily", time-zone: Europe/Berlin, kind: logical, all: true, rpo: 26h}
        """);
    members.start(0);
  }

  @AfterAll
  static void tearDown() {
    members.close();
  }

  @Test
  void shouldAnswerNothingButHealthWithoutAToken() throws Exception {
    assertThat(members.get(0, "/health", null).status()).isEqualTo(200);
    JsonObject doc = members.get(0, "/api/v1/openapi.json", Members.VIEWER).json();
    int checked = 0;
    for (String path : doc.getJsonObject("paths").fieldNames()) {
      String concrete = path.replaceAll("\\{[^}]+}", "x");
      for (String method : doc.getJsonObject("paths").getJsonObject(path).fieldNames()) {
        if ("/health".equals(path)) {
          continue;
        }
        Members.Response r = members.send(0, method.toUpperCase(), concrete, null, "{}");
        assertThat(r.status()).as(method + " " + path + " without a token").isEqualTo(401);
        Members.Response wrong = members.send(0, method.toUpperCase(), concrete, "not-a-token", "{}");
        assertThat(wrong.status()).as(method + " " + path + " with an unknown token").isEqualTo(401);
        assertThat(wrong.json().getString("message")).isEqualTo("unknown or revoked token");
        checked++;
      }
    }
    assertThat(checked).isGreaterThan(10);
  }

  @Test
  void shouldServeEveryDocumentedRoute() throws Exception {
    JsonObject doc = members.get(0, "/api/v1/openapi.json", Members.VIEWER).json();
    assertThat(doc.getString("openapi")).startsWith("3.");
    for (String path : doc.getJsonObject("paths").fieldNames()) {
      if (path.contains("{") || path.contains("agents/connect")) {
        continue;
      }
      if (doc.getJsonObject("paths").getJsonObject(path).containsKey("get")) {
        Members.Response r = members.get(0, path, Members.ADMIN);
        assertThat(r.status()).as("GET " + path + ": " + r.body()).isEqualTo(200);
      }
    }
    Members.Response missing = members.get(0, "/api/v1/nothing-here", Members.ADMIN);
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.json().getString("message")).contains("no such endpoint");
  }

  @Test
  void shouldEnforceRoles() throws Exception {
    assertThat(members.get(0, "/api/v1/hosts", Members.VIEWER).status()).isEqualTo(200);
    Members.Response agentReads = members.get(0, "/api/v1/hosts", Members.AGENT);
    assertThat(agentReads.status()).isEqualTo(403);
    Members.Response viewerBacksUp = members.send(0, "POST", "/api/v1/hosts/db1/backups", Members.VIEWER, "{}");
    assertThat(viewerBacksUp.status()).isEqualTo(403);
    assertThat(viewerBacksUp.json().getString("message")).contains("role viewer").contains("needs operator");
    Members.Response operatorEdits = members.send(0, "PUT", "/api/v1/policies/p1", Members.OPERATOR,
        "{\"hosts\": [\"db1\"], \"all\": true}");
    assertThat(operatorEdits.status()).isEqualTo(403);
  }

  @Test
  void shouldRefuseBadInputWithAClearMessage() throws Exception {
    Map<String, String> cases = Map.of(
        "{\"hosts\": [\"db*\"], \"all\": true, \"schedule\": \"61 * * * *\"}", "schedule",
        "{\"hosts\": [\"db*\"], \"all\": true, \"schedule\": \"@daily\", \"time-zone\": \"Mars/Olympus\"}", "time-zone",
        "{\"hosts\": [\"db*\"], \"all\": true, \"repository\": \"nowhere\"}", "unknown repository 'nowhere'",
        "{\"hosts\": [\"db*\"], \"all\": true, \"retention\": {\"keep-dayly\": 3}}", "retention.keep-dayly",
        "{\"hosts\": [\"db*\"], \"all\": true, \"rpo\": \"soon\"}", "rpo",
        "{\"all\": true}", "hosts",
        "{\"hosts\": [\"db*\"], \"kind\": \"logical\", \"all\": true, \"volumes\": [\"uploads\"]}", "only applies to kind: volume",
        "{\"hosts\": [\"db*\"], \"kind\": \"volume\"}", "volumes: [...] or all: true",
        "not json", "JSON");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      Members.Response r = members.send(0, "PUT", "/api/v1/policies/bad", Members.ADMIN, c.getKey());
      assertThat(r.status()).as(c.getKey() + " -> " + r.body()).isEqualTo(400);
      assertThat(r.json().getString("message")).as(c.getKey()).contains(c.getValue());
    }
    assertThat(members.get(0, "/api/v1/policies/bad", Members.VIEWER).status()).isEqualTo(404);

    Members.Response unknownHost = members.send(0, "POST", "/api/v1/hosts/db-nope/backups", Members.OPERATOR, "{}");
    assertThat(unknownHost.status()).isEqualTo(404);
    assertThat(unknownHost.json().getString("message")).contains("unknown host 'db-nope'");
    assertThat(members.get(0, "/api/v1/jobs?limit=lots", Members.VIEWER).status()).isEqualTo(400);
    assertThat(members.get(0, "/api/v1/jobs/db1/nightly/2026-01-01T00:00:00Z", Members.VIEWER).status()).isEqualTo(404);
  }

  @Test
  void shouldStoreValidatedPoliciesForTheWholeCluster() throws Exception {
    Members.Response put = members.send(0, "PUT", "/api/v1/policies/weekly-physical", Members.ADMIN,
        "{\"hosts\": [\"db-eu-*\"], \"schedule\": \"0 3 * * 0\", \"time-zone\": \"Europe/Berlin\", \"kind\": \"physical\","
            + " \"label\": \"weekly\", \"retention\": {\"keep-weekly\": 4}, \"rpo\": \"15m\", \"rto\": \"1h\"}");
    assertThat(put.status()).as(put.body()).isEqualTo(200);
    JsonObject stored = members.get(0, "/api/v1/policies/weekly-physical", Members.VIEWER).json();
    assertThat(stored.getString("schedule")).isEqualTo("0 3 * * 0");
    assertThat(stored.getJsonObject("retention").getInteger("keep-weekly")).isEqualTo(4);
    assertThat(stored.getString("rpo")).isEqualTo("900s");
    Members.Response volumes = members.send(0, "PUT", "/api/v1/policies/uploads-hourly", Members.ADMIN,
        "{\"hosts\": [\"db*\"], \"schedule\": \"@hourly\", \"kind\": \"volume\", \"volumes\": [\"uploads\"], \"incremental\": true}");
    assertThat(volumes.status()).as(volumes.body()).isEqualTo(200);
    assertThat(volumes.json().getBoolean("incremental")).isTrue();
    assertThat(volumes.json().getJsonArray("volumes").getString(0)).isEqualTo("uploads");
    assertThat(members.send(0, "DELETE", "/api/v1/policies/weekly-physical", Members.ADMIN, null).status()).isEqualTo(200);
    assertThat(members.send(0, "DELETE", "/api/v1/policies/weekly-physical", Members.ADMIN, null).status()).isEqualTo(404);
  }

  @Test
  void shouldRefuseToStartOnABadConfigNamingTheKey() throws Exception {
    Path launcher = Path.of(System.getProperty("flotilla.home", "..")).toAbsolutePath().normalize().resolve("deploy/bin/flotilla-coordinator");
    Path good = members.config(0);
    Processes.Result ok = Processes.run(List.of(launcher.toString(), "--config", good.toString(), "--check"), null, null);
    assertThat(ok.exitCode()).as(ok.stdout() + ok.stderr()).isZero();

    Path bad = tmp.resolve("c/bad.yaml");
    Files.writeString(bad, Files.readString(good).replace("schedule: \"@daily\"", "schedule: \"0 25 * * *\""));
    Processes.Result r = Processes.run(List.of(launcher.toString(), "--config", bad.toString()), null, null);
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.stderr().strip().lines().count()).as(r.stderr()).isEqualTo(1);
    assertThat(r.stderr()).contains("policies[0].schedule");

    Path noTokens = tmp.resolve("c/no-tokens.yaml");
    Files.writeString(noTokens, "cluster: {members: [\"127.0.0.1:5701\"]}\n");
    Processes.Result r2 = Processes.run(List.of(launcher.toString(), "--config", noTokens.toString()), null, null);
    assertThat(r2.exitCode()).isEqualTo(3);
    assertThat(r2.stderr()).contains("config key tokens");
  }
}
