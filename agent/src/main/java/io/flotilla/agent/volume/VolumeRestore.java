package io.flotilla.agent.volume;

import io.flotilla.agent.archive.TarStreams;
import io.flotilla.agent.progress.Progress;
import io.flotilla.agent.restore.RestoreTracking;
import io.flotilla.agent.transfer.ObjectTransfers;
import io.flotilla.codec.MeasuringOutputStream;
import io.flotilla.config.HostConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifest;
import io.flotilla.manifest.Manifest.VolumeFile;
import io.flotilla.repo.Repository;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores one volume into a directory: contents (each file's SHA-256 checked), modes, ownership
 * (when running as root), symlinks and mtimes, as the manifest lists them. An incremental backup
 * reads the archives of the backups its unchanged files point at; if one is gone it refuses before
 * writing anything.
 *
 * <p>Nothing is written outside the target: every path in the manifest and every entry in an
 * archive must be a plain relative path whose parents are directories of the volume, files are
 * created without following symlinks, and symlinks are created last.
 */
public final class VolumeRestore {
  private static final Logger LOG = LoggerFactory.getLogger(VolumeRestore.class);

  private final Vertx vertx;
  private final HostConfig config;
  private final Repository repo;
  private final Progress progress;

  public VolumeRestore(Vertx vertx, HostConfig config, Repository repo, Progress progress) {
    this.vertx = vertx;
    this.config = config;
    this.repo = repo;
    this.progress = progress;
  }

  /** @param backup an id or {@code latest} (the newest complete backup holding the volume) */
  public record Request(String volume, String backup, Path to, boolean force) {}

  /** @param backupsRead the backups whose archives were read, this one first */
  public record Result(String backupId, String volume, Path to, int entries, long bytes, List<String> backupsRead, Duration duration) {}

  public Future<Result> run(Request r) {
    Instant began = Instant.now();
    return choose(r).compose(m -> RestoreTracking.around(repo, m, () -> chain(m, r.volume()).compose(origins -> restore(m, r, origins, began)),
        res -> "volume " + res.volume() + " into " + res.to()));
  }

  private Future<Manifest> choose(Request r) {
    if (!"latest".equals(r.backup())) {
      return repo.manifest(config.host(), r.backup()).compose(m -> m.volume(r.volume()).isPresent() ? Future.succeededFuture(m)
          : Future.failedFuture(new FlotillaException(ErrorCode.NOT_FOUND, "backup " + m.backupId() + " does not hold volume '" + r.volume()
              + "' (" + (m.volumes().isEmpty() ? "it holds no volumes" : "it holds: "
                  + String.join(", ", m.volumes().stream().map(Manifest.Volume::name).toList())) + ")")));
    }
    return repo.listBackups(config.host()).compose(all -> all.stream().filter(m -> m.volume(r.volume()).isPresent()).findFirst()
        .map(Future::succeededFuture)
        .orElseGet(() -> Future.failedFuture(new FlotillaException(ErrorCode.NOT_FOUND, "no complete backup of host " + config.host()
            + " holds volume '" + r.volume() + "' in repository " + repo.describe()))));
  }

  /** The manifests of every backup whose archive holds some of the volume's files, this one first. */
  private Future<Map<String, Manifest>> chain(Manifest m, String volume) {
    Manifest.Volume v = m.volume(volume).orElseThrow();
    Map<String, Manifest> out = new LinkedHashMap<>();
    out.put(m.backupId(), m);
    Future<Void> reads = Future.succeededFuture();
    for (String id : v.referencedBackups()) {
      if (id.equals(m.backupId())) {
        continue;
      }
      long files = v.files().stream().filter(f -> id.equals(f.backup())).count();
      reads = reads.compose(x -> repo.manifest(config.host(), id)
          .recover(t -> Future.failedFuture(t instanceof FlotillaException fe && fe.code() == ErrorCode.NOT_FOUND
              ? new FlotillaException(ErrorCode.NOT_FOUND, "backup " + id + ", which incremental backup " + m.backupId() + " needs for " + files
                  + " unchanged file(s) of volume '" + volume + "', is missing from repository " + repo.describe()
                  + ": this backup cannot be restored (restore an older full backup, or another repository with --repo)")
              : t))
          .compose(base -> {
            if (base.volume(volume).isEmpty()) {
              return Future.failedFuture(new FlotillaException(ErrorCode.INTEGRITY, "backup " + id + ", which incremental backup "
                  + m.backupId() + " refers to, does not hold volume '" + volume + "'"));
            }
            out.put(id, base);
            return Future.succeededFuture();
          }));
    }
    return reads.map(x -> out);
  }

  private Future<Result> restore(Manifest m, Request r, Map<String, Manifest> origins, Instant began) {
    Manifest.Volume v = m.volume(r.volume()).orElseThrow();
    String what = "volume '" + v.name() + "' of backup " + m.backupId();
    Map<String, VolumeFile> byPath = new LinkedHashMap<>();
    return vertx.executeBlocking(() -> {
      check(v, what, byPath);
      return prepare(r.to().toAbsolutePath().normalize(), r.force(), v);
    }, false).compose(base -> {
      long[] bytes = new long[1];
      Set<String> written = new HashSet<>();
      Future<Void> reads = Future.succeededFuture();
      for (Manifest origin : origins.values()) {
        Manifest.Volume ov = origin.volume(v.name()).orElseThrow();
        Manifest.ObjectEntry object = origin.object(ov.object()).orElseThrow(() -> new FlotillaException(ErrorCode.INTEGRITY,
            "backup " + origin.backupId() + ": the manifest lists no object " + ov.object() + " for volume '" + v.name() + "'"));
        String key = Repository.backupPrefix(config.host(), origin.backupId()) + ov.object();
        String originId = origin.backupId().equals(m.backupId()) ? null : origin.backupId();
        reads = reads.compose(x -> {
          progress.label("volume " + v.name() + " from " + origin.backupId());
          return ObjectTransfers.download(repo, Repository.codecs(origin), key, object, true, "volume-" + v.name(), progress,
              plain -> bytes[0] += extract(plain, base, key, byPath, originId, written));
        });
      }
      return reads.compose(x -> vertx.executeBlocking(() -> {
        finish(base, v, byPath, written, what);
        return new Result(m.backupId(), v.name(), base, v.files().size(), bytes[0], List.copyOf(origins.keySet()),
            Duration.between(began, Instant.now()));
      }, false));
    }).onSuccess(res -> LOG.info("host={} backup={} volume {} restored into {}: {} entries, {} bytes, archives of {}", config.host(),
        res.backupId(), res.volume(), res.to(), res.entries(), res.bytes(), res.backupsRead()));
  }

  /** Every path must be plain, relative, unique, and under directories of the volume (never under a symlink). */
  private static void check(Manifest.Volume v, String what, Map<String, VolumeFile> byPath) {
    for (VolumeFile f : v.files()) {
      if (f.path().equals(".")) {
        continue;
      }
      if (!TarStreams.isPlainRelative(f.path())) {
        throw new FlotillaException(ErrorCode.INTEGRITY, what + ": refusing entry '" + f.path() + "': it would be written outside the target"
            + " directory (not a plain relative path); nothing was written");
      }
      if (!Set.of(VolumeFile.FILE, VolumeFile.DIR, VolumeFile.SYMLINK).contains(f.type())) {
        throw new FlotillaException(ErrorCode.INTEGRITY, what + ": entry '" + f.path() + "' has unknown type '" + f.type() + "'");
      }
      int slash = f.path().lastIndexOf('/');
      if (slash > 0) {
        VolumeFile parent = byPath.get(f.path().substring(0, slash));
        if (parent == null || !parent.type().equals(VolumeFile.DIR)) {
          throw new FlotillaException(ErrorCode.INTEGRITY, what + ": refusing entry '" + f.path() + "': its parent '" + f.path().substring(0, slash)
              + "' is " + (parent == null ? "not listed before it" : "a " + parent.type() + ", not a directory")
              + " (it would be written outside the target directory); nothing was written");
        }
      }
      if (byPath.put(f.path(), f) != null) {
        throw new FlotillaException(ErrorCode.INTEGRITY, what + ": entry '" + f.path() + "' is listed twice");
      }
    }
  }

  /** Makes the target ready: created, or empty, or emptied with force. Returns its real path. */
  private static Path prepare(Path to, boolean force, Manifest.Volume v) throws IOException {
    if (Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
      if (!Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS)) {
        throw new FlotillaException(ErrorCode.CONFLICT, "--to " + to + " exists and is not a directory");
      }
      boolean empty;
      try (var s = Files.list(to)) {
        empty = s.findAny().isEmpty();
      }
      if (!empty) {
        if (!force) {
          throw new FlotillaException(ErrorCode.CONFLICT, "--to " + to + " is not empty: restore into an empty or new directory, or add --force"
              + " to replace what it holds");
        }
        if (to.getParent() == null) {
          throw new FlotillaException(ErrorCode.USAGE, "--to / with --force would empty the root file system: choose a directory");
        }
        removeContents(to);
      }
    } else {
      Files.createDirectories(to);
    }
    Path base = to.toRealPath();
    for (VolumeFile f : v.files()) {
      if (f.type().equals(VolumeFile.DIR) && !f.path().equals(".")) {
        Path dir = TarStreams.target(base, f.path(), "volume '" + v.name() + "'");
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      }
    }
    return base;
  }

  /**
   * Unpacks the files of one archive that the manifest says are in it ({@code origin}: null for the
   * backup being restored, else the earlier backup's id), checking size and SHA-256. Entries are
   * checked before anything is written; directories and symlinks come from the manifest.
   */
  private static long extract(InputStream plain, Path base, String key, Map<String, VolumeFile> byPath, String origin, Set<String> written)
      throws IOException {
    TarArchiveInputStream tar = TarStreams.input(plain);
    TarArchiveEntry e;
    byte[] buf = new byte[TarStreams.BLOCK];
    long bytes = 0;
    while ((e = tar.getNextEntry()) != null) {
      Path target = TarStreams.target(base, e.getName(), key);
      String name = base.relativize(target).toString();
      if (e.isDirectory() || e.isSymbolicLink()) {
        continue; // made from the manifest, symlinks last
      }
      if (!e.isFile() || e.isLink()) {
        throw new FlotillaException(ErrorCode.INTEGRITY, key + ": refusing entry '" + e.getName() + "': a "
            + (e.isLink() ? "hard link" : "special file") + " is not something a volume backup writes");
      }
      VolumeFile want = byPath.get(name);
      if (want == null || !want.isFile() || !java.util.Objects.equals(want.backup(), origin)) {
        continue; // deleted or changed since that backup: a newer archive holds it, or nothing does
      }
      MessageDigest sha = MeasuringOutputStream.sha256();
      long size = 0;
      try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-------"));
        int n;
        while ((n = tar.read(buf)) > 0) {
          sha.update(buf, 0, n);
          out.write(buf, 0, n);
          size += n;
        }
      }
      String got = HexFormat.of().formatHex(sha.digest());
      if (size != want.size() || !got.equals(want.sha256())) {
        throw new FlotillaException(ErrorCode.INTEGRITY, key + ": file " + name + " has " + size + " bytes with SHA-256 " + got
            + ", the manifest says " + want.size() + " bytes with " + want.sha256());
      }
      written.add(name);
      bytes += size;
    }
    return bytes;
  }

  /** Symlinks, then ownership, modes and mtimes: files first, directories deepest first, the root last. */
  private static void finish(Path base, Manifest.Volume v, Map<String, VolumeFile> byPath, Set<String> written, String what) throws IOException {
    for (VolumeFile f : byPath.values()) {
      if (f.isFile() && !written.contains(f.path())) {
        throw new FlotillaException(ErrorCode.INTEGRITY, what + ": file " + f.path() + " is not in the archive of backup "
            + (f.backup() == null ? "it belongs to" : f.backup()));
      }
    }
    boolean root = isRoot();
    for (VolumeFile f : byPath.values()) {
      if (f.type().equals(VolumeFile.SYMLINK)) {
        Files.createSymbolicLink(TarStreams.target(base, f.path(), what), Path.of(f.target()));
      }
    }
    List<VolumeFile> ordered = new ArrayList<>(v.files());
    // Deepest first, so setting a directory's mtime comes after everything written into it.
    ordered.sort(Comparator.comparingInt((VolumeFile f) -> f.path().equals(".") ? -1 : f.path().split("/").length).reversed());
    for (VolumeFile f : ordered) {
      Path p = f.path().equals(".") ? base : TarStreams.target(base, f.path(), what);
      if (root && f.uid() != null && f.gid() != null) {
        Files.setAttribute(p, "unix:uid", f.uid(), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", f.gid(), LinkOption.NOFOLLOW_LINKS);
      }
      if (!f.type().equals(VolumeFile.SYMLINK)) {
        Files.setAttribute(p, "unix:mode", f.permissions(), LinkOption.NOFOLLOW_LINKS);
      }
      FileTime mtime = FileTime.from(Instant.parse(f.mtime()));
      Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(mtime, null, null);
    }
  }

  private static boolean isRoot() {
    try {
      return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    } catch (Exception e) {
      return false;
    }
  }

  private static void removeContents(Path dir) throws IOException {
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
        if (e != null) {
          throw e;
        }
        if (!d.equals(dir)) {
          Files.delete(d);
        }
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
