package io.flotilla.agent.wal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.manifest.Manifests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Optional;

/**
 * The WAL service's local state, under {@code <lock-directory>/flotilla-<host>-spool}:
 * <ul>
 *   <li>{@code push-done/<name>}: written only after a file is durable in the primary repository,
 *       so {@code wal-push} (even the launcher's shell fast path) can confirm it without work;
 *   <li>{@code prefetch/<name>}: segments fetched ahead during recovery;
 *   <li>{@code archiver.json}: the newest archived file and when, for {@code status}.
 * </ul>
 * All methods block (small files): call them on worker threads.
 */
public final class WalSpool {
  private final Path root;

  public WalSpool(Path root) {
    this.root = root;
  }

  public Path pushDone(String name) {
    return root.resolve("push-done").resolve(name);
  }

  public Path prefetched(String name) {
    return root.resolve("prefetch").resolve(name);
  }

  public Path prefetchDirectory() {
    return root.resolve("prefetch");
  }

  public boolean isPushed(String name) {
    return Files.exists(pushDone(name));
  }

  /** Records that {@code name} with content {@code sha256} is durable in the repository. */
  public void markPushed(String name, String sha256, Instant at) throws IOException {
    Path marker = pushDone(name);
    Files.createDirectories(marker.getParent());
    Path tmp = marker.resolveSibling("." + name + ".tmp");
    Files.writeString(tmp, sha256 + " " + at + "\n");
    Files.move(tmp, marker, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    recordArchived(name, at);
  }

  private synchronized void recordArchived(String name, Instant at) throws IOException {
    Optional<ArchiverStatus> current = status();
    if (current.isPresent() && current.get().lastArchived() != null && current.get().lastArchived().compareTo(name) > 0
        && !name.endsWith(".history")) {
      return; // an older file pushed late does not move the archive's end back
    }
    ObjectNode n = Manifests.JSON.createObjectNode();
    n.put("lastArchived", name);
    n.put("lastArchivedAt", at.toString());
    Files.createDirectories(root);
    Path file = root.resolve("archiver.json");
    Path tmp = root.resolve(".archiver.json.tmp");
    Files.writeString(tmp, n.toString());
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** @param lastArchived newest WAL file made durable; @param lastArchivedAt when */
  public record ArchiverStatus(String lastArchived, Instant lastArchivedAt) {}

  public Optional<ArchiverStatus> status() {
    Path file = root.resolve("archiver.json");
    try {
      var node = Manifests.JSON.readTree(file.toFile());
      return Optional.of(new ArchiverStatus(node.path("lastArchived").asText(null),
          node.hasNonNull("lastArchivedAt") ? Instant.parse(node.get("lastArchivedAt").asText()) : null));
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
