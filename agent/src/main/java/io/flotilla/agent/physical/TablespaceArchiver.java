package io.flotilla.agent.physical;

import io.flotilla.manifest.Manifest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Writes one tablespace's directory tree (or PGDATA) as a tar stream, recording every file's size
 * and SHA-256 and, when the cluster has data checksums, checking every page of relation files.
 * Runs on an application thread; files are read in 128 KiB blocks, never whole.
 */
final class TablespaceArchiver {
  /** PGDATA entries whose contents are not backed up (as pg_basebackup and pgBackRest leave them out). */
  private static final Set<String> EMPTY_DIRECTORIES = Set.of("pg_wal", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial",
      "pg_snapshots", "pg_stat_tmp", "pg_subtrans");
  private static final Set<String> SKIPPED_FILES = Set.of("postmaster.pid", "postmaster.opts", "backup_label", "backup_label.old",
      "tablespace_map", "recovery.signal", "standby.signal", "postgresql.auto.conf.tmp");
  private static final Pattern RELATION_FILE = Pattern.compile("\\d+(_(fsm|vm|init))?(\\.(\\d+))?");

  private final long tablespaceOid;
  private final Path root;
  private final boolean checkPages;
  private final long startLsn;
  final List<Manifest.FileEntry> files = new ArrayList<>();
  final List<Manifest.BadPage> badPages = new ArrayList<>();

  private final int part;
  private final int parts;
  private final java.util.Map<String, Integer> assignment;

  /**
   * @param part which of the archives of this tablespace this one is; directory entries and symlinks
   *     go into part 0
   * @param assignment which part each file goes to (see {@link #balance}); files not in it (created
   *     since) go by a hash of their path
   */
  TablespaceArchiver(long tablespaceOid, Path root, boolean checkPages, long startLsn, int part, int parts,
      java.util.Map<String, Integer> assignment) {
    this.tablespaceOid = tablespaceOid;
    this.root = root;
    this.checkPages = checkPages;
    this.startLsn = startLsn;
    this.part = part;
    this.parts = parts;
    this.assignment = assignment;
  }

  private boolean mine(String rel) {
    Integer assigned = assignment.get(rel);
    return (assigned != null ? assigned : Math.floorMod(rel.hashCode(), parts)) == part;
  }

  /**
   * Spreads the files under {@code root} over {@code parts} archives so each gets about the same
   * number of bytes: largest first, each to the lightest part. Blocking (walks the tree).
   */
  static java.util.Map<String, Integer> balance(Path root, int parts) throws IOException {
    java.util.List<java.util.Map.Entry<String, Long>> files = new ArrayList<>();
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        if (attrs.isRegularFile()) {
          files.add(java.util.Map.entry(root.relativize(file).toString().replace('\\', '/'), attrs.size()));
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException exc) {
        return FileVisitResult.CONTINUE;
      }
    });
    files.sort(java.util.Map.Entry.<String, Long>comparingByValue().reversed());
    long[] load = new long[parts];
    java.util.Map<String, Integer> out = new java.util.HashMap<>();
    for (var f : files) {
      int lightest = 0;
      for (int i = 1; i < parts; i++) {
        if (load[i] < load[lightest]) {
          lightest = i;
        }
      }
      load[lightest] += f.getValue();
      out.put(f.getKey(), lightest);
    }
    return out;
  }

  void write(OutputStream out) throws IOException {
    TarArchiveOutputStream tar = io.flotilla.agent.archive.TarStreams.output(out);
    boolean pgdata = tablespaceOid == 0;
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        String rel = relative(dir);
        if (!rel.isEmpty()) {
          if (dir.getFileName().toString().startsWith("pgsql_tmp")) {
            return FileVisitResult.SKIP_SUBTREE;
          }
          if (part == 0) {
            putDirectory(tar, rel);
          }
        }
        if (pgdata && EMPTY_DIRECTORIES.contains(rel)) {
          if (rel.equals("pg_wal") && part == 0) {
            putDirectory(tar, "pg_wal/archive_status");
          }
          return FileVisitResult.SKIP_SUBTREE;
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        String rel = relative(file);
        String name = file.getFileName().toString();
        if (attrs.isSymbolicLink()) {
          if (part != 0) {
            return FileVisitResult.CONTINUE;
          }
          TarArchiveEntry e = new TarArchiveEntry(rel, TarConstants.LF_SYMLINK);
          e.setLinkName(Files.readSymbolicLink(file).toString());
          tar.putArchiveEntry(e);
          tar.closeArchiveEntry();
          return FileVisitResult.CONTINUE;
        }
        if (!attrs.isRegularFile() || !mine(rel) || (pgdata && SKIPPED_FILES.contains(rel)) || name.equals("pg_internal.init")
            || name.startsWith("pgsql_tmp")) {
          return FileVisitResult.CONTINUE;
        }
        putFile(tar, file, rel, attrs.size());
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
        if (exc instanceof NoSuchFileException) {
          return FileVisitResult.CONTINUE; // dropped while the backup ran: WAL replay agrees
        }
        throw exc;
      }
    });
    tar.finish();
    tar.flush();
  }

  private String relative(Path p) {
    return root.relativize(p).toString().replace('\\', '/');
  }

  private static void putDirectory(TarArchiveOutputStream tar, String rel) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(rel + "/");
    e.setMode(040700);
    tar.putArchiveEntry(e);
    tar.closeArchiveEntry();
  }

  /**
   * Copies exactly the size the file had when listed: a file that grows is cut there, one that
   * shrinks is padded with zeros; WAL replay from the backup's start makes both right.
   */
  private void putFile(TarArchiveOutputStream tar, Path file, String rel, long listedSize) throws IOException {
    InputStream in;
    try {
      in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return;
    }
    MessageDigest sha = io.flotilla.codec.MeasuringOutputStream.sha256();
    Matcher relation = relationMatcher(rel);
    try (in) {
      TarArchiveEntry e = new TarArchiveEntry(rel);
      e.setSize(listedSize);
      e.setMode(0100600);
      e.setModTime(Files.getLastModifiedTime(file).toMillis());
      tar.putArchiveEntry(e);
      byte[] buf = new byte[16 * PageChecksum.BLOCK_SIZE];
      long done = 0;
      while (done < listedSize) {
        int want = (int) Math.min(buf.length, listedSize - done);
        int n = io.flotilla.agent.archive.TarStreams.readFully(in, buf, want);
        if (n < want) {
          java.util.Arrays.fill(buf, n, want, (byte) 0);
        }
        if (relation != null && n > 0) {
          checkPages(rel, relation.segment, done, buf, n);
        }
        sha.update(buf, 0, want);
        tar.write(buf, 0, want);
        done += want;
      }
      tar.closeArchiveEntry();
    }
    files.add(new Manifest.FileEntry(tablespaceOid, rel, listedSize, HexFormat.of().formatHex(sha.digest())));
  }

  private record Matcher(long segment) {}

  private Matcher relationMatcher(String rel) {
    if (!checkPages) {
      return null;
    }
    boolean inRelationDir = rel.startsWith("base/") || rel.startsWith("global/") || tablespaceOid != 0;
    String name = rel.substring(rel.lastIndexOf('/') + 1);
    var m = RELATION_FILE.matcher(name);
    if (!inRelationDir || !m.matches()) {
      return null;
    }
    return new Matcher(m.group(4) == null ? 0 : Long.parseLong(m.group(4)));
  }

  private void checkPages(String rel, long segment, long fileOffset, byte[] buf, int length) {
    for (int off = 0; off + PageChecksum.BLOCK_SIZE <= length; off += PageChecksum.BLOCK_SIZE) {
      if (PageChecksum.isNew(buf, off)) {
        continue;
      }
      long block = segment * PageChecksum.RELSEG_BLOCKS + (fileOffset + off) / PageChecksum.BLOCK_SIZE;
      int expected = PageChecksum.stored(buf, off);
      int actual = PageChecksum.compute(buf, off, block);
      // A page written after the backup started may be read half-written; WAL replay rewrites it.
      if (expected != actual && PageChecksum.pageLsn(buf, off) < startLsn) {
        long blockInFile = (fileOffset + off) / PageChecksum.BLOCK_SIZE;
        badPages.add(new Manifest.BadPage(tablespaceOid, rel, blockInFile,
            "checksum " + actual + " computed, " + expected + " stored"));
      }
    }
  }
}
