package io.flotilla.agent.verify;

import io.flotilla.agent.progress.Progress;
import io.flotilla.agent.transfer.ObjectTransfers;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifest;
import io.flotilla.repo.Repository;
import io.vertx.core.Future;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads every object of a backup back from the repository: its size and SHA-256 must match the
 * manifest, and it must decrypt (OpenPGP integrity check) and decompress to the recorded plain
 * size. Every bad object is named; none stops the check of the others.
 */
public final class BackupVerifier {
  private final Repository repo;
  private final Progress progress;

  public BackupVerifier(Repository repo, Progress progress) {
    this.repo = repo;
    this.progress = progress;
  }

  /** @param key full key; @param problem what is wrong, or null when sound */
  public record ObjectResult(String key, long storedBytes, String problem) {
    public boolean sound() {
      return problem == null;
    }
  }

  /** The verdict on one backup. */
  public record BackupResult(String backupId, List<ObjectResult> objects) {
    public boolean sound() {
      return objects.stream().allMatch(ObjectResult::sound);
    }
  }

  public Future<BackupResult> verify(Manifest m) {
    List<ObjectResult> results = new ArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    for (Manifest.ObjectEntry entry : m.objects()) {
      String key = Repository.backupPrefix(m.host(), m.backupId()) + entry.key();
      chain = chain.compose(v -> {
        progress.label("verify " + m.backupId() + " " + entry.key());
        long[] plain = new long[1];
        return ObjectTransfers.download(repo, Repository.codecs(m), key, entry, true, "verify", progress,
                in -> plain[0] = in.transferTo(OutputStream.nullOutputStream()))
            .map(ok -> plain[0] == entry.plainBytes() ? null
                : key + ": decodes to " + plain[0] + " bytes, the manifest says " + entry.plainBytes())
            .otherwise(t -> {
              String msg = FlotillaException.of(t).getMessage();
              return msg.startsWith(key) ? msg : key + ": " + msg;
            })
            .map(problem -> {
              results.add(new ObjectResult(key, entry.storedBytes(), problem));
              return null;
            });
      });
    }
    // An incremental volume backup is only restorable while the backups holding its unchanged files are there.
    for (String id : m.referencedBackups()) {
      String key = Repository.manifestKey(m.host(), id);
      chain = chain.compose(v -> repo.manifest(m.host(), id)
          .map(base -> base.volumes().isEmpty() ? key + ": backup " + id + ", which this incremental backup reads files from, holds no volumes"
              : null)
          .otherwise(t -> key + ": backup " + id + ", which this incremental backup reads unchanged files from, is missing ("
              + FlotillaException.of(t).getMessage() + ")")
          .map(problem -> {
            results.add(new ObjectResult(key, 0, problem));
            return null;
          }));
    }
    return chain.map(v -> new BackupResult(m.backupId(), results));
  }
}
