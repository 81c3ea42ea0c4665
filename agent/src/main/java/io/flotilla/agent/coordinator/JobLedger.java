package io.flotilla.agent.coordinator;

import io.flotilla.protocol.Protocol;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The agent's own record, on local disk, of every job it has run (so it refuses to run an id twice,
 * whoever sends it), the highest leader epoch it has accepted (so a deposed leader's assignments are
 * refused), its cached schedules, and which results the coordinator has not heard yet. Blocking file
 * I/O: called on worker threads only.
 */
final class JobLedger {
  private final Path dir;

  JobLedger(Path spool) {
    this.dir = spool.resolve("coordinator");
  }

  Optional<JsonObject> job(String jobId) throws IOException {
    Path f = dir.resolve("jobs").resolve(Protocol.fileName(jobId) + ".json");
    return Files.exists(f) ? Optional.of(new JsonObject(Files.readString(f))) : Optional.empty();
  }

  void record(JsonObject report) throws IOException {
    write(dir.resolve("jobs").resolve(Protocol.fileName(report.getString("jobId")) + ".json"), report.encode());
  }

  /** Results not yet acknowledged as delivered to a coordinator. */
  List<JsonObject> unreported() throws IOException {
    List<JsonObject> out = new ArrayList<>();
    Path jobs = dir.resolve("jobs");
    if (!Files.isDirectory(jobs)) {
      return out;
    }
    try (Stream<Path> s = Files.list(jobs)) {
      for (Path p : s.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
        JsonObject j = new JsonObject(Files.readString(p));
        if (!j.getBoolean("reported", false)) {
          out.add(j);
        }
      }
    }
    return out;
  }

  JsonObject fencing() throws IOException {
    Path f = dir.resolve("fencing.json");
    return Files.exists(f) ? new JsonObject(Files.readString(f)) : new JsonObject().put("epoch", 0L);
  }

  void fencing(JsonObject f) throws IOException {
    write(dir.resolve("fencing.json"), f.encode());
  }

  Optional<JsonObject> schedules() throws IOException {
    Path f = dir.resolve("schedules.json");
    return Files.exists(f) ? Optional.of(new JsonObject(Files.readString(f))) : Optional.empty();
  }

  void schedules(JsonObject s) throws IOException {
    write(dir.resolve("schedules.json"), s.encode());
  }

  JsonObject cursors() throws IOException {
    Path f = dir.resolve("cursors.json");
    return Files.exists(f) ? new JsonObject(Files.readString(f)) : new JsonObject();
  }

  void cursors(JsonObject c) throws IOException {
    write(dir.resolve("cursors.json"), c.encode());
  }

  private void write(Path target, String text) throws IOException {
    Files.createDirectories(target.getParent());
    Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
    try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE,
        java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
      ch.force(true);
    }
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
