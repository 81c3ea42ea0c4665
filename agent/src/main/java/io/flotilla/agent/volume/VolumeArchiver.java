package io.flotilla.agent.volume;

import io.flotilla.agent.archive.TarStreams;
import io.flotilla.codec.MeasuringOutputStream;
import io.flotilla.config.VolumeConfig;
import io.flotilla.manifest.Manifest;
import io.flotilla.manifest.Manifest.VolumeFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Writes one volume's tree as a tar stream, in name order, recording every entry (type, size,
 * mode, owner, mtime, SHA-256, symlink target) for the manifest. Runs on an application thread;
 * files are read in 128 KiB blocks, never whole.
 *
 * <p>A file is copied at the size it had when listed (the tar header needs it first). If it then
 * reads short, reads long, or its size or mtime differ afterwards, it changed while being read: it
 * is stored as read (short reads padded with zeros) and recorded in {@link #changed}.
 *
 * <p>Incremental: a regular file whose size, mtime and mode equal those {@code previous} recorded
 * (and that did not change while that backup read it) is not read; its entry points at the backup
 * holding its contents.
 */
final class VolumeArchiver {
  /** One lstat's worth; "unix:*" would also look owner and group names up (getpwuid per file: slow). */
  private static final String ATTRIBUTES = "unix:mode,uid,gid,size,lastModifiedTime,isSymbolicLink,isDirectory,isRegularFile";

  private final VolumeConfig volume;
  private final Map<String, VolumeFile> previous;
  private final String previousId;
  private final List<PathMatcher> byName = new ArrayList<>();
  private final List<PathMatcher> byPath = new ArrayList<>();

  final List<VolumeFile> files = new ArrayList<>();
  final List<Manifest.ChangedFile> changed = new ArrayList<>();
  final List<String> skipped = new ArrayList<>();
  long bytesRead;

  /**
   * @param previous entries of the previous backup of this volume by path, with {@code backup} set
   *     to where each file's contents are; empty for a full backup
   * @param previousId the previous backup's id (null for a full backup)
   */
  VolumeArchiver(VolumeConfig volume, Map<String, VolumeFile> previous, String previousId) {
    this.volume = volume;
    this.previous = previous;
    this.previousId = previousId;
    for (String glob : volume.exclude()) {
      PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + glob);
      (glob.contains("/") ? byPath : byName).add(m);
    }
  }

  private boolean excluded(String rel, String name) {
    Path relPath = Path.of(rel);
    Path namePath = Path.of(name);
    return byPath.stream().anyMatch(m -> m.matches(relPath)) || byName.stream().anyMatch(m -> m.matches(namePath));
  }

  void write(OutputStream out) throws IOException {
    TarArchiveOutputStream tar = TarStreams.output(out);
    Path root = volume.path();
    Map<String, Object> attrs = Files.readAttributes(root, ATTRIBUTES);
    files.add(entry(".", VolumeFile.DIR, attrs, null, null, null, null));
    walk(tar, root, "");
    tar.finish();
    tar.flush();
  }

  private void walk(TarArchiveOutputStream tar, Path dir, String rel) throws IOException {
    List<Path> children;
    try (Stream<Path> s = Files.list(dir)) {
      children = s.sorted((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString())).toList();
    } catch (NoSuchFileException e) {
      return; // removed while the backup ran
    }
    for (Path child : children) {
      String name = child.getFileName().toString();
      String childRel = rel.isEmpty() ? name : rel + "/" + name;
      if (excluded(childRel, name)) {
        continue;
      }
      Map<String, Object> attrs;
      try {
        attrs = Files.readAttributes(child, ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        continue;
      }
      if ((Boolean) attrs.get("isSymbolicLink")) {
        String target;
        try {
          target = Files.readSymbolicLink(child).toString();
        } catch (NoSuchFileException e) {
          continue;
        }
        TarArchiveEntry e = header(childRel, TarConstants.LF_SYMLINK, attrs);
        e.setLinkName(target);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        files.add(entry(childRel, VolumeFile.SYMLINK, attrs, null, null, target, null));
      } else if ((Boolean) attrs.get("isDirectory")) {
        TarArchiveEntry e = header(childRel + "/", TarConstants.LF_DIR, attrs);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        files.add(entry(childRel, VolumeFile.DIR, attrs, null, null, null, null));
        walk(tar, child, childRel);
      } else if ((Boolean) attrs.get("isRegularFile")) {
        file(tar, child, childRel, attrs);
      } else {
        skipped.add(childRel);
      }
    }
  }

  private void file(TarArchiveOutputStream tar, Path file, String rel, Map<String, Object> attrs) throws IOException {
    long size = (Long) attrs.get("size");
    String mtime = ((FileTime) attrs.get("lastModifiedTime")).toInstant().toString();
    String mode = mode(attrs);
    VolumeFile before = previous.get(rel);
    if (before != null && before.isFile() && !before.changedWhileRead() && before.size() == size && before.mtime().equals(mtime)
        && before.mode().equals(mode)) {
      files.add(entry(rel, VolumeFile.FILE, attrs, size, before.sha256(), null, before.backup() != null ? before.backup() : previousId));
      return;
    }
    InputStream in;
    try {
      in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return; // deleted after it was listed: it is simply not in this backup
    }
    MessageDigest sha = MeasuringOutputStream.sha256();
    long done = 0;
    long read = 0;
    boolean longer;
    try (in) {
      TarArchiveEntry e = header(rel, TarConstants.LF_NORMAL, attrs);
      e.setSize(size);
      tar.putArchiveEntry(e);
      byte[] buf = new byte[TarStreams.BLOCK];
      while (done < size) {
        int want = (int) Math.min(buf.length, size - done);
        int n = TarStreams.readFully(in, buf, want);
        read += n;
        if (n < want) {
          Arrays.fill(buf, n, want, (byte) 0);
        }
        sha.update(buf, 0, want);
        tar.write(buf, 0, want);
        done += want;
      }
      tar.closeArchiveEntry();
      longer = in.read() >= 0;
    }
    bytesRead += read;
    String detail = null;
    Map<String, Object> after;
    try {
      after = Files.readAttributes(file, "size,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      after = null;
    }
    if (read < size) {
      detail = "read " + read + " of " + size + " bytes (it shrank; stored padded with zeros)";
    } else if (longer) {
      detail = "it grew while being read (stored its first " + size + " bytes)";
    } else if (after == null) {
      detail = "it was deleted while being read";
    } else if ((Long) after.get("size") != size) {
      detail = "size went from " + size + " to " + after.get("size") + " bytes while being read";
    } else if (!((FileTime) after.get("lastModifiedTime")).toInstant().toString().equals(mtime)) {
      detail = "it was modified while being read (mtime " + mtime + " -> " + ((FileTime) after.get("lastModifiedTime")).toInstant() + ")";
    }
    if (detail != null) {
      changed.add(new Manifest.ChangedFile(rel, detail));
    }
    VolumeFile entry = entry(rel, VolumeFile.FILE, attrs, size, HexFormat.of().formatHex(sha.digest()), null, null);
    files.add(detail == null ? entry : new VolumeFile(entry.path(), entry.type(), entry.size(), entry.mode(), entry.mtime(), entry.uid(),
        entry.gid(), entry.sha256(), null, null, true));
  }

  private static TarArchiveEntry header(String name, byte type, Map<String, Object> attrs) {
    TarArchiveEntry e = new TarArchiveEntry(name, type);
    int typeBits = type == TarConstants.LF_DIR ? 040000 : type == TarConstants.LF_SYMLINK ? 0120000 : 0100000;
    e.setMode(typeBits | ((Integer) attrs.get("mode") & 07777));
    // Whole seconds in the header (the manifest has the nanoseconds): a sub-second time costs a pax
    // header per entry, doubling the archive of small files.
    e.setLastModifiedTime(FileTime.from(((FileTime) attrs.get("lastModifiedTime")).to(java.util.concurrent.TimeUnit.SECONDS),
        java.util.concurrent.TimeUnit.SECONDS));
    e.setUserId(((Integer) attrs.get("uid")).longValue());
    e.setGroupId(((Integer) attrs.get("gid")).longValue());
    return e;
  }

  private static String mode(Map<String, Object> attrs) {
    return String.format("%04o", (Integer) attrs.get("mode") & 07777);
  }

  private static VolumeFile entry(String rel, String type, Map<String, Object> attrs, Long size, String sha256, String target, String backup) {
    return new VolumeFile(rel, type, size, mode(attrs), ((FileTime) attrs.get("lastModifiedTime")).toInstant().toString(),
        (Integer) attrs.get("uid"), (Integer) attrs.get("gid"), sha256, target, backup, null);
  }
}
