package io.flotilla.agent.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.agent.progress.Progress;
import io.flotilla.agent.replication.Replication;
import io.flotilla.agent.replication.ReplicationStatus;
import io.flotilla.agent.replication.ReplicationVerticle;
import io.flotilla.agent.replication.Replicator;
import io.flotilla.config.RepositoryConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifests;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "replicate", description = {
    "Copy this host's complete backups (manifest last) and WAL from each replica's source repository (replicate-from:)",
    "into the replica, verifying SHA-256 after every copy. Resumable and idempotent: a second run copies nothing.",
    "Without --once it keeps going like the agent daemon (every interval:, or continuously)."})
final class ReplicateCommand extends AgentCommand {
  @Option(names = "--to", paramLabel = "NAME", description = "Only this replica (default: every repository with replicate-from).")
  String to;

  @Option(names = "--once", description = "One pass, then exit: 0 when every object was copied and verified.")
  boolean once;

  @Override
  int execute(Session s) {
    Replication replication = new Replication(s.vertx, s.context, s.config);
    List<RepositoryConfig> replicas = replication.replicas(to);
    if (replicas.isEmpty()) {
      throw new FlotillaException(ErrorCode.USAGE, "no repository in the config has replicate-from: nothing to replicate");
    }
    if (!once) {
      Promise<Void> stopped = Promise.promise();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          s.context.runOnContext(v -> stopped.tryComplete());
        } catch (java.util.concurrent.RejectedExecutionException e) {
          // Vert.x already closed
        }
      }));
      s.await(() -> s.vertx.deployVerticle(new ReplicationVerticle(s.config, replicas, new ReplicationStatus())).compose(id -> {
        err().println("flotilla replicate: host " + s.config.host() + ": replicating into " + String.join(", ",
            replicas.stream().map(RepositoryConfig::name).toList()) + " (Ctrl-C to stop)");
        return stopped.future().compose(v -> s.vertx.undeploy(id));
      }));
      return 0;
    }
    List<Replicator.Result> results = new ArrayList<>();
    for (RepositoryConfig rc : replicas) {
      results.add(s.await(() -> replication.once(rc)));
    }
    boolean clean = results.stream().allMatch(r -> r.failures().isEmpty());
    if (common.json) {
      ArrayNode arr = Manifests.JSON.createArrayNode();
      for (Replicator.Result r : results) {
        ObjectNode n = arr.addObject();
        n.put("host", r.host());
        n.put("source", r.source());
        n.put("replica", r.replica());
        n.put("started", r.started().toString());
        n.put("seconds", r.took().toMillis() / 1000.0);
        n.put("copiedObjects", r.copiedObjects());
        n.put("copiedBytes", r.copiedBytes());
        ArrayNode done = n.putArray("backupsCompleted");
        r.backupsCompleted().forEach(done::add);
        ArrayNode fails = n.putArray("failures");
        r.failures().forEach(f -> fails.addObject().put("key", f.key()).put("problem", f.problem()));
        n.put("objectsBehind", r.objectsBehind());
        n.put("bytesBehind", r.bytesBehind());
      }
      out().println(arr.toPrettyString());
    } else {
      for (Replicator.Result r : results) {
        out().printf("%s -> %s: copied %d objects (%s), %d backups completed%s; %d objects behind (%s)%n", r.source(), r.replica(),
            r.copiedObjects(), Progress.bytes(r.copiedBytes()), r.backupsCompleted().size(),
            r.backupsCompleted().isEmpty() ? "" : " (" + String.join(", ", r.backupsCompleted()) + ")", r.objectsBehind(),
            Progress.bytes(r.bytesBehind()));
        r.failures().forEach(f -> out().println("  FAILED " + f.line()));
      }
    }
    if (!clean) {
      Replicator.Failure first = results.stream().flatMap(r -> r.failures().stream()).findFirst().orElseThrow();
      err().println("flotilla replicate: " + results.stream().mapToLong(r -> r.failures().size()).sum() + " object(s) not replicated; first: "
          + first.line());
      return ErrorCode.INTEGRITY.exitCode();
    }
    return 0;
  }
}
