package io.flotilla.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.codec.CodecChain;
import io.flotilla.codec.Compression;
import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.Processes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Volume (directory) backups through the real command line into a file:// repository: the restored
 * tree equals the original in paths, types, modes, owners, symlink targets, mtimes and contents;
 * incremental chains; refusals (non-empty target, crafted archives, missing base backup); files
 * that change while being read; databases and volumes under one manifest; restore by hand.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class VolumeBackupIT {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final Instant PAST = Instant.parse("2021-03-04T05:06:07.123456789Z");

  private static PostgresCluster pg;
  private static Path config;
  private static Path repo;
  private static Path volumes;

  @TempDir
  static Path dir;

  @BeforeAll
  static void start() throws Exception {
    pg = PostgresCluster.start();
    repo = dir.resolve("repo");
    volumes = Files.createDirectories(dir.resolve("volumes"));
    for (String v : List.of("files", "busy", "small", "inc", "app-data", "byhand")) {
      Files.createDirectories(volumes.resolve(v));
    }
    config = Fixtures.config(dir.resolve("conf"), pg, "file://" + repo, null);
    String second = "  - name: second\n    url: file://" + dir.resolve("repo2") + "\n"
        + "  - name: replica\n    url: file://" + dir.resolve("repo-replica") + "\n    replicate-from: primary\n";
    Files.writeString(config, Files.readString(config).replace("encryption:\n", second + "encryption:\n")
        + "volumes:\n"
        + "  - name: files\n    path: " + volumes.resolve("files") + "\n    exclude: [\"*.tmp\", node_modules, \"logs/*.gz\"]\n"
        + "  - name: busy\n    path: " + volumes.resolve("busy") + "\n"
        + "  - name: small\n    path: " + volumes.resolve("small") + "\n"
        + "  - name: inc\n    path: " + volumes.resolve("inc") + "\n"
        + "  - name: app-data\n    path: " + volumes.resolve("app-data") + "\n"
        + "  - name: byhand\n    path: " + volumes.resolve("byhand") + "\n");
    buildTree(volumes.resolve("files"));
    buildTree(volumes.resolve("inc"));
    buildTree(volumes.resolve("byhand"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (pg != null) {
      pg.close();
    }
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void shouldRestoreTheTreeExactly() throws Exception {
    // given a tree with every kind of entry, backed up
    Path source = volumes.resolve("files");
    Cli.Result backup = Cli.run(config, "backup", "--kind", "volume", "--volume", "files");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String id = backup.lastLine();
    assertThat(backup.stdout()).containsPattern("volume files: \\d+ entries, \\d+ files \\(\\d+ stored\\)");
    Path object = repo.resolve("hosts/db1/backups/" + id + "/volumes/files.tar.zst.gpg");
    assertThat(object).exists();

    // when it is restored into a new directory
    Path target = dir.resolve("restored-full");
    Cli.Result restore = Cli.run(config, "restore", "--kind", "volume", "--volume", "files", "--backup", id, "--to", target.toString());
    assertThat(restore.exitCode()).as(restore.toString()).isZero();

    // then paths, types, modes, owners, symlink targets, mtimes and contents are those of the source, less the excluded
    Map<String, String> expected = withoutExcluded(snapshot(source));
    assertThat(snapshot(target)).isEqualTo(expected);
    assertThat(expected).containsKeys("empty-dir", "empty-file", "link-relative", "link-dangling", "ünïcödé/日本語 ファイル.bin")
        .doesNotContainKeys("junk.tmp", "node_modules", "logs/old.gz");
    assertThat(expected.get("link-dangling")).contains("-> does/not/exist");
    assertThat(expected.get("secret.key")).contains(" 0600 ");
    assertThat(expected.get("run.sh")).contains(" 0755 ");

    // and list and verify understand it
    Cli.Result list = Cli.run(config, "list");
    assertThat(list.stdout()).containsPattern(id + "\\s+volume\\s+manual\\s+volumes: files");
    JsonNode listed = JSON.readTree(Cli.run(config, "list", "--json").stdout());
    JsonNode mine = null;
    for (JsonNode n : listed) {
      if (n.get("id").asText().equals(id)) {
        mine = n;
      }
    }
    assertThat(mine.get("kind").asText()).isEqualTo("volume");
    assertThat(mine.get("volumes").get(0).asText()).isEqualTo("files");
    Cli.Result verify = Cli.run(config, "verify", "--backup", id);
    assertThat(verify.exitCode()).as(verify.toString()).isZero();
    assertThat(verify.stdout()).contains(id + ": OK");

    // and the manifest records what a by-hand check needs
    JsonNode m = manifest(repo, id);
    JsonNode vol = m.get("volumes").get(0);
    assertThat(vol.get("root").asText()).isEqualTo(source.toString());
    assertThat(vol.get("object").asText()).isEqualTo("volumes/files.tar.zst.gpg");
    assertThat(fileEntry(vol, "link-relative").get("target").asText()).isEqualTo("a/b/c/deep.bin");
    assertThat(fileEntry(vol, "run.sh").get("mode").asText()).isEqualTo("0755");
  }

  @Test
  void shouldReadAndWriteThroughTheNamedRepository() throws Exception {
    String id = Cli.run(config, "backup", "--kind", "volume", "--volume", "small", "--repo", "second").lastLine();
    Files.writeString(volumes.resolve("small/only.txt"), "only\n");
    assertThat(dir.resolve("repo2/hosts/db1/backups/" + id + "/manifest.json")).exists();
    assertThat(repo.resolve("hosts/db1/backups/" + id)).doesNotExist();

    Path target = dir.resolve("restored-second");
    Cli.Result restore = Cli.run(config, "restore", "--kind", "volume", "--volume", "small", "--backup", "latest", "--repo", "second",
        "--to", target.toString());

    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(restore.stdout()).contains("from backup " + id);
  }

  @Test
  void shouldRestoreAnIncrementalChainToTheNewStateExactly() throws Exception {
    // given a full backup
    Path source = volumes.resolve("inc");
    String full = Cli.run(config, "backup", "--kind", "volume", "--volume", "inc").lastLine();

    // when a few files change, appear and disappear, and an incremental backup follows
    Path changed = source.resolve("text/compressible.txt");
    Files.writeString(changed, "now different\n", StandardCharsets.UTF_8);
    Files.setLastModifiedTime(changed, FileTime.from(PAST.plusSeconds(3600)));
    Files.write(source.resolve("a/new-file.bin"), bytes(70_000, 99));
    Files.delete(source.resolve("bin/random.dat"));
    Files.setPosixFilePermissions(source.resolve("run.sh"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
    setTimes(source.resolve("a"), PAST.minusSeconds(50));
    setTimes(source.resolve("bin"), PAST.minusSeconds(60));
    setTimes(source.resolve("text"), PAST.minusSeconds(70));
    Cli.Result inc = Cli.run(config, "backup", "--kind", "volume", "--volume", "inc", "--incremental");
    assertThat(inc.exitCode()).as(inc.toString()).isZero();
    String second = inc.lastLine();

    // then the incremental archive holds only what changed; the rest points at the full backup
    JsonNode vol = manifest(repo, second).get("volumes").get(0);
    assertThat(vol.get("base").asText()).isEqualTo(full);
    assertThat(fileEntry(vol, "text/compressible.txt").has("backup")).isFalse();
    assertThat(fileEntry(vol, "a/new-file.bin").has("backup")).isFalse();
    assertThat(fileEntry(vol, "run.sh").has("backup")).isFalse();
    assertThat(fileEntry(vol, "a/b/c/deep.bin").get("backup").asText()).isEqualTo(full);
    assertThat(fileEntry(vol, "bin/random.dat")).isNull();
    assertThat(size(repo, second, "volumes/inc.tar.zst.gpg")).isLessThan(size(repo, full, "volumes/inc.tar.zst.gpg") / 4);
    assertThat(inc.stdout()).contains("unchanged since " + full);

    // and a third, incremental on the incremental, still points at where each file's bytes are
    Files.writeString(source.resolve("empty-file"), "not empty any more");
    String third = Cli.run(config, "backup", "--kind", "volume", "--volume", "inc", "--incremental").lastLine();
    JsonNode vol3 = manifest(repo, third).get("volumes").get(0);
    assertThat(fileEntry(vol3, "a/b/c/deep.bin").get("backup").asText()).isEqualTo(full);
    assertThat(fileEntry(vol3, "a/new-file.bin").get("backup").asText()).isEqualTo(second);

    // and restoring the newest reproduces the tree as it is now
    Path target = dir.resolve("restored-inc");
    Cli.Result restore = Cli.run(config, "restore", "--kind", "volume", "--volume", "inc", "--backup", "latest", "--to", target.toString());
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(restore.stdout()).contains(full).contains(second);
    assertThat(snapshot(target)).isEqualTo(snapshot(source)); // volume inc has no excludes

    // and restoring the middle one reproduces the tree as it was then (without the third's change)
    Path middle = dir.resolve("restored-middle");
    assertThat(Cli.run(config, "restore", "--kind", "volume", "--volume", "inc", "--backup", second, "--to", middle.toString()).exitCode())
        .isZero();
    assertThat(Files.size(middle.resolve("empty-file"))).isZero();
    assertThat(Files.readString(middle.resolve("text/compressible.txt"))).isEqualTo("now different\n");

    // and without the full backup it refuses, naming it, and writes nothing; verify says so too
    Path moved = dir.resolve("moved-away");
    Files.move(repo.resolve("hosts/db1/backups/" + full), moved);
    try {
      Cli.Result verify = Cli.run(config, "verify", "--backup", third);
      assertThat(verify.exitCode()).as(verify.toString()).isEqualTo(8);
      assertThat(verify.stdout()).contains("backup " + full).contains("missing");
      Path nowhere = dir.resolve("restored-broken-chain");
      Cli.Result broken = Cli.run(config, "restore", "--kind", "volume", "--volume", "inc", "--backup", third, "--to", nowhere.toString());
      assertThat(broken.exitCode()).as(broken.toString()).isEqualTo(6);
      assertThat(broken.stderr()).contains("backup " + full).contains("is missing").contains(third);
      assertThat(nowhere).doesNotExist();
    } finally {
      Files.move(moved, repo.resolve("hosts/db1/backups/" + full));
    }
  }

  @Test
  void shouldNeverExpireABackupAKeptIncrementalReadsFrom() throws Exception {
    // given a repository of its own with keep-last 1, a full backup and two incrementals on it
    Path expRepo = dir.resolve("repo-expire");
    Path expConfig = dir.resolve("conf/expire.yaml");
    Files.writeString(expConfig, Files.readString(config).replace("file://" + repo + "\n", "file://" + expRepo + "\n")
        + "retention:\n  keep-last: 1\n");
    Path data = Files.createDirectories(volumes.resolve("chain"));
    Files.writeString(expConfig, Files.readString(expConfig).replace("volumes:\n", "volumes:\n  - name: chain\n    path: " + data + "\n"));
    Files.writeString(data.resolve("static.txt"), "never changes\n");
    Files.writeString(data.resolve("a.txt"), "1");
    String full = Cli.run(expConfig, "backup", "--kind", "volume", "--volume", "chain").lastLine();
    Files.writeString(data.resolve("a.txt"), "22");
    String inc1 = Cli.run(expConfig, "backup", "--kind", "volume", "--volume", "chain", "--incremental").lastLine();
    Files.writeString(data.resolve("a.txt"), "333");
    String inc2 = Cli.run(expConfig, "backup", "--kind", "volume", "--volume", "chain", "--incremental").lastLine();

    // when expire runs
    Cli.Result expire = Cli.run(expConfig, "expire");
    assertThat(expire.exitCode()).as(expire.toString()).isZero();

    // then the newest stays, the full one it reads static.txt from stays (saying why), the middle one goes
    assertThat(expire.stdout()).contains("needed by incremental " + inc2);
    assertThat(expRepo.resolve("hosts/db1/backups/" + full + "/manifest.json")).exists();
    assertThat(expRepo.resolve("hosts/db1/backups/" + inc1)).doesNotExist();
    Path target = dir.resolve("restored-after-expire");
    Cli.Result restore = Cli.run(expConfig, "restore", "--kind", "volume", "--volume", "chain", "--to", target.toString());
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(snapshot(target)).isEqualTo(snapshot(data));
  }

  @Test
  void shouldRefuseANonEmptyTargetUnlessForced() throws Exception {
    Files.writeString(volumes.resolve("small/a.txt"), "a\n");
    String id = Cli.run(config, "backup", "--kind", "volume", "--volume", "small").lastLine();
    Path target = Files.createDirectories(dir.resolve("occupied"));
    Files.writeString(target.resolve("precious.txt"), "keep me");

    Cli.Result refused = Cli.run(config, "restore", "--kind", "volume", "--volume", "small", "--backup", id, "--to", target.toString());

    assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(9);
    assertThat(refused.stderr()).contains("is not empty").contains("--force");
    assertThat(Files.readString(target.resolve("precious.txt"))).isEqualTo("keep me");

    Cli.Result forced = Cli.run(config, "restore", "--kind", "volume", "--volume", "small", "--backup", id, "--to", target.toString(), "--force");
    assertThat(forced.exitCode()).as(forced.toString()).isZero();
    assertThat(target.resolve("precious.txt")).doesNotExist();
    assertThat(Files.readString(target.resolve("a.txt"))).isEqualTo("a\n");
  }

  @Test
  void shouldRefuseCraftedArchivesThatEscapeTheTarget() throws Exception {
    Files.writeString(volumes.resolve("small/a.txt"), "a\n");

    // an archive entry climbing out with ..
    Path area = Files.createDirectories(dir.resolve("crafted-dotdot"));
    String id = Cli.run(config, "backup", "--kind", "volume", "--volume", "small").lastLine();
    craft(id, List.of(file("../outside.txt", "pwned")), vol -> { });
    Cli.Result r = restoreInto(id, area.resolve("target"));
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(8);
    assertThat(r.stderr()).contains("'../outside.txt'").contains("outside");
    assertThat(area.resolve("outside.txt")).doesNotExist();

    // an absolute entry, listed in the manifest too
    Path absolute = area.resolve("absolute.txt");
    id = Cli.run(config, "backup", "--kind", "volume", "--volume", "small").lastLine();
    craft(id, List.of(file(absolute.toString(), "pwned")), vol -> addFile(vol, absolute.toString(), "pwned"));
    r = restoreInto(id, area.resolve("target2"));
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(8);
    assertThat(r.stderr()).contains("'" + absolute + "'");
    assertThat(absolute).doesNotExist();

    // a symlink to a directory outside, then a file "inside" it: archive and manifest both crafted
    Path elsewhere = Files.createDirectories(area.resolve("elsewhere"));
    id = Cli.run(config, "backup", "--kind", "volume", "--volume", "small").lastLine();
    craft(id, List.of(symlink("link", elsewhere.toString()), file("link/pwned.txt", "pwned")), vol -> {
      ObjectNode link = ((ArrayNode) vol.get("files")).addObject();
      link.put("path", "link").put("type", "symlink").put("mode", "0777").put("mtime", PAST.toString()).put("target", elsewhere.toString());
      addFile(vol, "link/pwned.txt", "pwned");
    });
    r = restoreInto(id, area.resolve("target3"));
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(8);
    assertThat(r.stderr()).contains("'link/pwned.txt'");
    try (var s = Files.list(elsewhere)) {
      assertThat(s.toList()).isEmpty();
    }

    // the same trick with the manifest left alone: the archive alone must not get through either
    id = Cli.run(config, "backup", "--kind", "volume", "--volume", "small").lastLine();
    craft(id, List.of(symlink("a.txt", elsewhere.toString()), file("a.txt/pwned.txt", "pwned"), file("../../escaped.txt", "x")), vol -> { });
    r = restoreInto(id, area.resolve("target4"));
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(8);
    try (var s = Files.list(elsewhere)) {
      assertThat(s.toList()).isEmpty();
    }
    assertThat(dir.resolve("escaped.txt")).doesNotExist();
  }

  @Test
  void shouldRecordAFileThatGrowsWhileBeingRead() throws Exception {
    // given a file something keeps appending to
    Path growing = volumes.resolve("busy/growing.log");
    Files.write(growing, bytes(16 * 1024 * 1024, 5));
    Files.writeString(volumes.resolve("busy/quiet.txt"), "quiet\n");
    AtomicBoolean stop = new AtomicBoolean();
    Thread appender = new Thread(() -> {
      byte[] line = "appended line of log text\n".repeat(40).getBytes(StandardCharsets.UTF_8);
      try (OutputStream out = Files.newOutputStream(growing, java.nio.file.StandardOpenOption.APPEND)) {
        while (!stop.get()) {
          out.write(line);
          out.flush();
          Thread.sleep(1);
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    appender.start();
    Cli.Result backup;
    try {
      // when it is backed up
      backup = Cli.run(config, "backup", "--kind", "volume", "--volume", "busy");
    } finally {
      stop.set(true);
      appender.join();
    }

    // then the backup completes, says so on stderr in one line, and the manifest records it
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    List<String> warnings = backup.stderr().lines().filter(l -> l.contains("changed while being read")).toList();
    assertThat(warnings).hasSize(1);
    assertThat(warnings.get(0)).contains("volume busy").contains("growing.log").contains("grew");
    String id = backup.lastLine();
    JsonNode vol = manifest(repo, id).get("volumes").get(0);
    assertThat(vol.get("changed")).hasSize(1);
    assertThat(vol.get("changed").get(0).get("path").asText()).isEqualTo("growing.log");
    assertThat(fileEntry(vol, "growing.log").get("changed").asBoolean()).isTrue();
    assertThat(fileEntry(vol, "quiet.txt").has("changed")).isFalse();

    // and what was stored restores consistently (the bytes as read, their SHA-256 as recorded)
    Path target = dir.resolve("restored-busy");
    assertThat(restoreInto(id, "busy", target).exitCode()).isZero();
    assertThat(Files.size(target.resolve("growing.log"))).isEqualTo(fileEntry(vol, "growing.log").get("size").asLong());
    assertThat(sha256(target.resolve("growing.log"))).isEqualTo(fileEntry(vol, "growing.log").get("sha256").asText());
  }

  @Test
  void shouldPutDatabasesAndVolumesUnderOneManifest() throws Exception {
    // given a database and a volume of the same service
    pg.psql("postgres", "CREATE DATABASE shop");
    pg.psql("shop", "CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT i, 'order ' || i FROM generate_series(1, 500) i;");
    Path data = volumes.resolve("app-data");
    Files.createDirectories(data.resolve("uploads"));
    Files.write(data.resolve("uploads/photo.jpg"), bytes(300_000, 7));

    // when everything is backed up at once
    Cli.Result backup = Cli.run(config, "backup", "--all", "--volumes");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String id = backup.lastLine();

    // then one manifest lists the databases, globals and every volume
    JsonNode m = manifest(repo, id);
    List<String> dbs = m.get("databases").findValuesAsText("name");
    assertThat(dbs).contains("shop", "postgres");
    List<String> vols = new java.util.ArrayList<>();
    m.get("volumes").forEach(v -> vols.add(v.get("name").asText()));
    assertThat(vols).containsExactly("files", "busy", "small", "inc", "app-data", "byhand");
    List<String> keys = m.get("objects").findValuesAsText("key");
    assertThat(keys).contains("globals.sql.zst.gpg", "db/shop.dump.zst.gpg", "volumes/app-data.tar.zst.gpg", "volumes/files.tar.zst.gpg");
    assertThat(Cli.run(config, "list").stdout()).containsPattern(id + "\\s+logical.*shop.*volumes: .*app-data");
    assertThat(Cli.run(config, "verify", "--backup", id).exitCode()).isZero();

    // and both halves restore from it
    Path target = dir.resolve("restored-app-data");
    assertThat(restoreInto(id, "app-data", target).exitCode()).isZero();
    assertThat(snapshot(target)).isEqualTo(snapshot(data));
    Cli.Result db = Cli.run(config, "restore", "--backup", id, "--database", "shop", "--target-database", "shop_restored");
    assertThat(db.exitCode()).as(db.toString()).isZero();
    assertThat(pg.psql("shop_restored", "SELECT count(*) FROM orders")).isEqualTo("500");
  }

  @Test
  void shouldRestoreByHandWithGpgZstdAndTar() throws Exception {
    // given a full backup of the tree
    Path source = volumes.resolve("files");
    String id = Cli.run(config, "backup", "--kind", "volume", "--volume", "files").lastLine();
    Path object = repo.resolve("hosts/db1/backups/" + id + "/volumes/files.tar.zst.gpg");
    JsonNode m = manifest(repo, id);
    assertThat(Processes.run(List.of("sha256sum", object.toString()), null, null).stdout()).startsWith(m.get("objects").get(0).get("sha256").asText());

    // when it is unpacked exactly as docs/manual-restore.md says
    Path gnupg = Files.createDirectories(dir.resolve("gnupg"));
    Processes.run(List.of("chmod", "700", gnupg.toString()), null, null).orThrow();
    Path target = Files.createDirectories(dir.resolve("by-hand"));
    String pipeline = "set -o pipefail; export GNUPGHOME=" + gnupg + "; gpg --batch --quiet --pinentry-mode loopback --passphrase-file "
        + dir.resolve("conf/passphrase") + " --decrypt " + object + " | zstd -d | tar -x -p -C " + target;
    Processes.Result r = Processes.run(List.of("bash", "-c", pipeline), null, null);
    Processes.run(List.of("gpgconf", "--homedir", gnupg.toString(), "--kill", "all"), null, null);
    assertThat(r.exitCode()).as(r.stderr()).isZero();

    // then every entry below the root matches: types, modes, owners, symlink targets, contents, and file mtimes to the second
    Map<String, String> expected = withoutExcluded(snapshot(source));
    Map<String, String> got = snapshot(target);
    expected.remove(".");
    got.remove(".");
    assertThat(secondsOnly(got)).isEqualTo(secondsOnly(expected));
  }

  @Test
  void shouldRestoreAnIncrementalByHandWithTheManualsScript() throws Exception {
    // given a full backup and an incremental after files changed, appeared and disappeared
    Path source = volumes.resolve("byhand");
    String full = Cli.run(config, "backup", "--kind", "volume", "--volume", "byhand").lastLine();
    Files.writeString(source.resolve("text/compressible.txt"), "rewritten\n");
    Files.write(source.resolve("a/b/added.bin"), bytes(10_000, 11));
    Files.delete(source.resolve("bin/random.dat"));
    Files.delete(source.resolve("private/notes.txt"));
    Files.delete(source.resolve("private"));
    Cli.Result inc = Cli.run(config, "backup", "--kind", "volume", "--volume", "byhand", "--incremental");
    assertThat(inc.exitCode()).as(inc.toString()).isZero();
    String id = inc.lastLine();
    assertThat(manifest(repo, id).get("volumes").get(0).get("base").asText()).isEqualTo(full);

    // when the script in docs/manual-restore.md runs, with this repository's paths
    String doc = Files.readString(Path.of(System.getProperty("flotilla.home", "..")).resolve("docs/manual-restore.md"));
    int section = doc.indexOf("## An incremental backup");
    int start = doc.indexOf("```sh\n", section) + "```sh\n".length();
    String script = doc.substring(start, doc.indexOf("```", start));
    Path target = dir.resolve("by-hand-incremental");
    Path gnupg = Files.createDirectories(dir.resolve("gnupg-inc"));
    Processes.run(List.of("chmod", "700", gnupg.toString()), null, null).orThrow();
    script = script.replace("V=uploads", "V=byhand").replace("/srv/restore/$V", target.toString())
        .replace("/var/lib/flotilla/repo", repo.toString()).replace("/etc/flotilla/passphrase", dir.resolve("conf/passphrase").toString())
        .replace("/tmp/keep", dir.resolve("keep.txt").toString());
    Processes.Result r = Processes.run(List.of("bash", "-c", "set -euo pipefail; export GNUPGHOME=" + gnupg + "; B=" + repo.resolve("hosts/db1/backups/" + id)
        + "\n" + script), null, null);
    Processes.run(List.of("gpgconf", "--homedir", gnupg.toString(), "--kill", "all"), null, null);
    assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();

    // then the tree is as it is now: paths, types, modes, owners, contents, file mtimes to the second
    // (directories whose entries were removed by the script have new mtimes)
    Map<String, String> expected = secondsOnly(snapshot(source));
    Map<String, String> got = secondsOnly(snapshot(target));
    for (Map<String, String> m : List.of(expected, got)) {
      m.remove(".");
      m.replaceAll((k, v) -> v.startsWith("dir") ? v.replaceAll(" \\S+Z ", " ") : v);
    }
    assertThat(got).isEqualTo(expected);
  }

  @Test
  void shouldRestoreAnIncrementalVolumeFromAReplicaAlone() throws Exception {
    // given a full and an incremental backup of a volume, replicated
    Path data = Files.createDirectories(volumes.resolve("replicated"));
    Path rconfig = dir.resolve("conf/replicated.yaml");
    Files.writeString(rconfig, Files.readString(config).replace("volumes:\n", "volumes:\n  - name: replicated\n    path: " + data + "\n"));
    Files.writeString(data.resolve("kept.txt"), "unchanged\n");
    Files.write(data.resolve("big.bin"), bytes(500_000, 21));
    String full = Cli.run(rconfig, "backup", "--kind", "volume", "--volume", "replicated").lastLine();
    Files.writeString(data.resolve("kept.txt"), "changed\n");
    String inc = Cli.run(rconfig, "backup", "--kind", "volume", "--volume", "replicated", "--incremental").lastLine();
    Cli.Result replicate = Cli.run(rconfig, "replicate", "--once", "--to", "replica");
    assertThat(replicate.exitCode()).as(replicate.toString()).isZero();

    // when the incremental is restored from the replica (its base read there too)
    Path target = dir.resolve("restored-from-replica");
    Cli.Result restore = Cli.run(rconfig, "restore", "--kind", "volume", "--volume", "replicated", "--backup", inc, "--repo", "replica",
        "--to", target.toString());

    // then the tree is the current one, and the replica verifies
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(restore.stdout()).contains(full);
    assertThat(snapshot(target)).isEqualTo(snapshot(data));
    Cli.Result verify = Cli.run(rconfig, "verify", "--backup", inc, "--repo", "replica");
    assertThat(verify.exitCode()).as(verify.toString()).isZero();
  }

  // --- helpers ---------------------------------------------------------------------------------

  private static Cli.Result restoreInto(String id, Path target) {
    return restoreInto(id, "small", target);
  }

  private static Cli.Result restoreInto(String id, String volume, Path target) {
    return Cli.run(config, "restore", "--kind", "volume", "--volume", volume, "--backup", id, "--to", target.toString());
  }

  /** A tree with nested and empty directories, empty and binary files, non-ASCII names, symlinks, modes, old mtimes, excluded entries. */
  private static void buildTree(Path root) throws IOException {
    Files.createDirectories(root.resolve("a/b/c"));
    Files.createDirectories(root.resolve("empty-dir"));
    Files.createDirectories(root.resolve("bin"));
    Files.createDirectories(root.resolve("text"));
    Files.createDirectories(root.resolve("ünïcödé"));
    Files.createDirectories(root.resolve("private"));
    Files.createDirectories(root.resolve("node_modules/pkg"));
    Files.createDirectories(root.resolve("logs"));
    Files.write(root.resolve("a/b/c/deep.bin"), bytes(300_000, 1));
    Files.write(root.resolve("bin/random.dat"), bytes(2 * 1024 * 1024, 2));
    Files.writeString(root.resolve("text/compressible.txt"), "the same line of text again and again\n".repeat(30_000));
    Files.write(root.resolve("ünïcödé/日本語 ファイル.bin"), bytes(4096, 3));
    Files.writeString(root.resolve("spaces and 'quotes'.txt"), "quoted\n");
    Files.write(root.resolve("empty-file"), new byte[0]);
    Files.writeString(root.resolve("secret.key"), "secret\n");
    Files.writeString(root.resolve("run.sh"), "#!/bin/sh\necho hi\n");
    Files.writeString(root.resolve("private/notes.txt"), "private\n");
    Files.writeString(root.resolve("junk.tmp"), "excluded\n");
    Files.writeString(root.resolve("a/b/also.tmp"), "excluded\n");
    Files.writeString(root.resolve("node_modules/pkg/index.js"), "excluded\n");
    Files.writeString(root.resolve("logs/old.gz"), "excluded\n");
    Files.writeString(root.resolve("logs/current.log"), "kept\n");
    Files.writeString(root.resolve("a/" + "long-name-".repeat(12) + ".txt"), "a name longer than 100 bytes\n");
    Files.createSymbolicLink(root.resolve("link-relative"), Path.of("a/b/c/deep.bin"));
    Files.createSymbolicLink(root.resolve("link-dangling"), Path.of("does/not/exist"));
    Files.createSymbolicLink(root.resolve("a/link-up"), Path.of("../text"));
    chmod(root.resolve("secret.key"), "rw-------");
    chmod(root.resolve("run.sh"), "rwxr-xr-x");
    chmod(root.resolve("private"), "rwx------");
    chmod(root.resolve("empty-dir"), "rwxr-x---");
    if (Processes.isRoot()) {
      Files.setAttribute(root.resolve("private/notes.txt"), "unix:uid", 1234, LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(root.resolve("private/notes.txt"), "unix:gid", 5678, LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(root.resolve("link-dangling"), "unix:uid", 4321, LinkOption.NOFOLLOW_LINKS);
    }
    // Old mtimes, with nanoseconds, different per entry; directories last (writing into them moves theirs).
    List<Path> all;
    try (var s = Files.walk(root)) {
      all = s.sorted(java.util.Comparator.comparingInt(Path::getNameCount).reversed()).toList();
    }
    int i = 0;
    for (Path p : all) {
      setTimes(p, PAST.minusSeconds(86_400L * (i++ % 400)).plusNanos(i * 1000L));
    }
  }

  private static void chmod(Path p, String perms) throws IOException {
    Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString(perms));
  }

  private static void setTimes(Path p, Instant t) throws IOException {
    Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(FileTime.from(t), null, null);
  }

  private static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Every entry of a tree: "type mode uid:gid mtime sha256|-> target", keyed by relative path ("." for the root). */
  static Map<String, String> snapshot(Path root) throws IOException {
    Map<String, String> out = new TreeMap<>();
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
        out.put(rel(d), describe(d));
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
        out.put(rel(f), describe(f));
        return FileVisitResult.CONTINUE;
      }

      private String rel(Path p) {
        return p.equals(root) ? "." : root.relativize(p).toString();
      }
    });
    return out;
  }

  private static String describe(Path p) throws IOException {
    Map<String, Object> a = Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
    String type = (Boolean) a.get("isSymbolicLink") ? "symlink" : (Boolean) a.get("isDirectory") ? "dir" : "file";
    String what = switch (type) {
      case "symlink" -> "-> " + Files.readSymbolicLink(p);
      case "file" -> sha256(p);
      default -> "";
    };
    return String.format("%s %04o %s:%s %s %s", type, (Integer) a.get("mode") & 07777, a.get("uid"), a.get("gid"),
        ((FileTime) a.get("lastModifiedTime")).toInstant(), what);
  }

  /** Drops what the volume's exclude globs leave out. */
  private static Map<String, String> withoutExcluded(Map<String, String> snapshot) {
    Map<String, String> out = new TreeMap<>(snapshot);
    out.keySet().removeIf(k -> k.endsWith(".tmp") || k.equals("node_modules") || k.startsWith("node_modules/") || k.equals("logs/old.gz"));
    return out;
  }

  /** Mtimes cut to whole seconds, and symlinks without theirs (tar archives keep seconds; not every tar sets a symlink's mtime). */
  private static Map<String, String> secondsOnly(Map<String, String> snapshot) {
    Map<String, String> out = new TreeMap<>();
    snapshot.forEach((k, v) -> {
      String s = v.replaceAll("(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d)(\\.\\d+)?Z", "$1Z");
      out.put(k, s.startsWith("symlink") ? s.replaceAll(" \\S+Z ", " ") : s);
    });
    return out;
  }

  private static String sha256(Path p) throws IOException {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode manifest(Path repository, String id) throws IOException {
    return JSON.readTree(repository.resolve("hosts/db1/backups/" + id + "/manifest.json").toFile());
  }

  private static JsonNode fileEntry(JsonNode volume, String path) {
    for (JsonNode f : volume.get("files")) {
      if (f.get("path").asText().equals(path)) {
        return f;
      }
    }
    return null;
  }

  private static long size(Path repository, String id, String key) throws IOException {
    return Files.size(repository.resolve("hosts/db1/backups/" + id + "/" + key));
  }

  // --- crafting archives ----------------------------------------------------------------------

  private record Crafted(String name, byte type, String content) {}

  private static Crafted file(String name, String content) {
    return new Crafted(name, TarConstants.LF_NORMAL, content);
  }

  private static Crafted symlink(String name, String target) {
    return new Crafted(name, TarConstants.LF_SYMLINK, target);
  }

  private static void addFile(ObjectNode vol, String path, String content) {
    ObjectNode f = ((ArrayNode) vol.get("files")).addObject();
    f.put("path", path).put("type", "file").put("size", content.length()).put("mode", "0644").put("mtime", PAST.toString())
        .put("sha256", HexFormat.of().formatHex(sha(content.getBytes(StandardCharsets.UTF_8))));
  }

  private static byte[] sha(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Replaces backup {@code id}'s archive of volume small with one holding {@code entries}, encrypted
   * and compressed as Flotilla would, lets {@code editVolume} change the manifest's volume section,
   * and makes the manifest's object size and SHA-256 match, as an attacker with write access would.
   */
  private static void craft(String id, List<Crafted> entries, java.util.function.Consumer<ObjectNode> editVolume) throws IOException {
    ByteArrayOutputStream plain = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(plain)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      for (Crafted c : entries) {
        TarArchiveEntry e = new TarArchiveEntry(c.name(), c.type(), true);
        if (c.type() == TarConstants.LF_SYMLINK) {
          e.setLinkName(c.content());
          tar.putArchiveEntry(e);
        } else {
          byte[] b = c.content().getBytes(StandardCharsets.UTF_8);
          e.setSize(b.length);
          tar.putArchiveEntry(e);
          tar.write(b);
        }
        tar.closeArchiveEntry();
      }
    }
    Path object = repo.resolve("hosts/db1/backups/" + id + "/volumes/small.tar.zst.gpg");
    CodecChain codecs = new CodecChain(Compression.ZSTD, 3, 0, CodecChain.OPENPGP_AES256);
    try (OutputStream out = codecs.encoder(Files.newOutputStream(object), Fixtures.PASSPHRASE.toCharArray(), "small.tar")) {
      out.write(plain.toByteArray());
    }
    Path manifestFile = repo.resolve("hosts/db1/backups/" + id + "/manifest.json");
    ObjectNode m = (ObjectNode) JSON.readTree(manifestFile.toFile());
    editVolume.accept((ObjectNode) m.get("volumes").get(0));
    ObjectNode o = (ObjectNode) m.get("objects").get(0);
    o.put("storedBytes", Files.size(object)).put("plainBytes", plain.size())
        .put("sha256", HexFormat.of().formatHex(sha(Files.readAllBytes(object))));
    JSON.writeValue(manifestFile.toFile(), m);
  }
}
