package io.flotilla.agent.archive;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * What every tar archive Flotilla writes or reads shares: POSIX (pax) headers so long and non-ASCII
 * names and big sizes survive GNU tar, UTF-8 names, 128 KiB copy blocks, and the check that an
 * entry read back stays inside the directory it is unpacked into.
 */
public final class TarStreams {
  /** Copy block: files are read and written in blocks of this size, never whole. */
  public static final int BLOCK = 128 * 1024;

  private TarStreams() {}

  /** A tar writer over {@code out} that GNU tar reads back exactly (names, sizes, times). */
  public static TarArchiveOutputStream output(OutputStream out) {
    // GNU tar's record size (20 blocks): tar stops reading at the end-of-archive record, so padding
    // past it would make `... | zstd -d | tar -x` die of SIGPIPE in a by-hand restore.
    TarArchiveOutputStream tar = new TarArchiveOutputStream(out, 20 * 512, StandardCharsets.UTF_8.name());
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    tar.setAddPaxHeadersForNonAsciiNames(true);
    return tar;
  }

  public static TarArchiveInputStream input(InputStream in) {
    return new TarArchiveInputStream(in, StandardCharsets.UTF_8.name());
  }

  /** Reads until {@code want} bytes or the end; returns how many were read. */
  public static int readFully(InputStream in, byte[] buf, int want) throws IOException {
    int total = 0;
    while (total < want) {
      int n = in.read(buf, total, want - total);
      if (n < 0) {
        break;
      }
      total += n;
    }
    return total;
  }

  /**
   * Whether {@code name} is a plain relative path: not empty, not absolute, no {@code .} or
   * {@code ..} component, no NUL, no backslash-free trickery needed ('/' separated).
   */
  public static boolean isPlainRelative(String name) {
    if (name == null || name.isEmpty() || name.startsWith("/") || name.indexOf('\0') >= 0) {
      return false;
    }
    for (String part : name.split("/", -1)) {
      if (part.isEmpty() || part.equals(".") || part.equals("..")) {
        return false;
      }
    }
    return true;
  }

  /**
   * Where entry {@code name} goes under {@code base} (a real path), refusing any name that is
   * absolute, climbs with {@code ..}, or passes through a symlink already on disk below
   * {@code base}: nothing is ever written outside it. {@code what} names the archive in the error.
   */
  public static Path target(Path base, String name, String what) {
    String clean = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
    if (!isPlainRelative(clean)) {
      throw escape(name, what, base, "it is not a plain relative path");
    }
    Path target = base.resolve(clean).normalize();
    if (!target.startsWith(base) || target.equals(base)) {
      throw escape(name, what, base, "it resolves outside the directory");
    }
    for (Path p = target.getParent(); p != null && !p.equals(base); p = p.getParent()) {
      if (Files.isSymbolicLink(p)) {
        throw escape(name, what, base, "it lies under the symlink " + base.relativize(p));
      }
    }
    return target;
  }

  private static FlotillaException escape(String name, String what, Path base, String why) {
    return new FlotillaException(ErrorCode.INTEGRITY, what + ": refusing entry '" + name + "': it would be written outside " + base
        + " (" + why + "); nothing was written outside it");
  }
}
