package io.flotilla.repo.impl;

import io.flotilla.config.RepositoryConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.repo.ObjectReadStream;
import io.flotilla.repo.Storage;
import io.flotilla.repo.StorageFeature;
import io.flotilla.repo.StoredObject;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.streams.Pipe;
import io.vertx.core.streams.ReadStream;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A repository on an rsync peer: an rsync daemon ({@code rsync://[user@]host[:port]/module/path})
 * or any host reachable by SSH with rsync installed ({@code ssh://[user@]host[:port]/path}).
 *
 * <p>Every operation is one run of the {@code rsync} client; its exit is awaited through
 * {@link Process#onExit()} (no thread is held while a transfer runs) and its output goes to small
 * files in the spool directory.
 *
 * <ul>
 *   <li><b>put</b> stages the object in the spool directory (the only local copy, one object,
 *       removed when the put ends), uploads it with {@code rsync -R} (which creates missing
 *       folders), then verifies it. rsync's receiver writes into a hidden {@code .name.XXXXXX} file
 *       beside the target and renames it into place only after the whole file arrived and its
 *       transfer checksum matched, so an interrupted transfer never shows under the key; a
 *       receiver that dies hard may leave the hidden file, which {@link #list} ignores and
 *       {@link #cleanupIncomplete} removes.
 *   <li><b>Verification</b> re-runs the upload as {@code rsync --dry-run --checksum}: the peer
 *       reads back what landed under the final name and checksums it against the staged file; any
 *       difference fails the put (INTEGRITY). Cost: one extra read of the object on each side and
 *       one round trip, no data sent again.
 *   <li><b>get</b> downloads the object into the spool directory, opens it, and unlinks it at once,
 *       so nothing stays behind however the reader ends.
 *   <li><b>list/stat</b> parse {@code rsync --list-only}.
 *   <li><b>delete</b>: rsync has no remove command. An empty local tree is synchronised onto the
 *       object's folder with {@code --delete}, filter rules that include only the doomed names and
 *       exclude everything else (which rsync's --delete then never touches), and
 *       {@code --existing} so no folder is created.
 * </ul>
 *
 * <p>Secrets never appear on a command line: the daemon password comes from {@code password-file}
 * (passed as a path) or the inherited RSYNC_PASSWORD; SSH uses keys in {@code BatchMode}, so no
 * prompt can hang a backup.
 */
public final class RsyncStorage implements Storage {
  private static final Logger log = LoggerFactory.getLogger(RsyncStorage.class);
  /** rsync's --timeout: a transfer with no data moving for this long fails. */
  private static final int IO_TIMEOUT_SECONDS = 120;
  private static final int CONNECT_TIMEOUT_SECONDS = 15;
  /** The hidden name rsync's receiver writes into: '.' + name + '.' + six random characters. */
  private static final Pattern RSYNC_TEMP = Pattern.compile("\\.(.+)\\.[A-Za-z0-9]{6}");
  /** One line of --list-only: permissions, size, date, time, name. */
  private static final Pattern LISTING = Pattern.compile("([-dlpscb])\\S*\\s+([\\d,.]+)\\s+\\S+\\s+\\S+\\s(.+)");

  private final Context context;
  private final Vertx vertx;
  private final String describe;
  /** The peer's root for -R uploads: the module ("rsync://h/module/") or "user@host:/". */
  private final String anchor;
  /** The repository's folder under the anchor, without leading or trailing '/', maybe empty. */
  private final String base;
  private final List<String> commonArgs;
  private final Map<String, String> environment = new LinkedHashMap<>();
  private final Path spool;
  private final Set<Process> running = ConcurrentHashMap.newKeySet();

  public RsyncStorage(Vertx vertx, Context context, RepositoryConfig config) {
    this.vertx = vertx;
    this.context = context;
    URI url = config.url();
    RepositoryConfig.RsyncOptions options = config.rsync();
    String user = url.getUserInfo();
    String host = url.getHost();
    String path = url.getPath() == null ? "" : url.getPath().replaceAll("^/+|/+$", "");
    // Per user by default: the spool is private, and root and postgres may both run the agent.
    this.spool = options.spoolDirectory() != null ? options.spoolDirectory() : Path.of(System.getProperty("java.io.tmpdir"), "flotilla-spool-" + System.getProperty("user.name"));
    List<String> args = new ArrayList<>(List.of("--no-human-readable", "--timeout=" + IO_TIMEOUT_SECONDS));
    if (options.bandwidthLimit() > 0) {
      args.add("--bwlimit=" + options.bandwidthLimit());
    }
    if ("rsync".equals(url.getScheme())) {
      int slash = path.indexOf('/');
      String module = slash < 0 ? path : path.substring(0, slash);
      this.base = slash < 0 ? "" : path.substring(slash + 1);
      String authority = (user != null ? user + "@" : "") + host + (url.getPort() > 0 ? ":" + url.getPort() : "");
      this.anchor = "rsync://" + authority + "/" + module + "/";
      this.describe = "rsync://" + authority + "/" + path;
      args.add("--contimeout=" + CONNECT_TIMEOUT_SECONDS);
      if (options.passwordFile() != null) {
        args.add("--password-file=" + options.passwordFile());
      } else if (System.getenv("RSYNC_PASSWORD") == null) {
        // Without a password rsync would ask on the terminal; an empty one fails cleanly instead.
        environment.put("RSYNC_PASSWORD", "");
      }
    } else {
      this.base = path;
      this.anchor = (user != null ? user + "@" : "") + host + ":/";
      this.describe = "ssh://" + (user != null ? user + "@" : "") + host + (url.getPort() > 0 ? ":" + url.getPort() : "") + "/" + path;
      StringBuilder ssh = new StringBuilder("ssh -o BatchMode=yes -o ConnectTimeout=" + CONNECT_TIMEOUT_SECONDS + " -o ServerAliveInterval=30");
      if (url.getPort() > 0) {
        ssh.append(" -p ").append(url.getPort());
      }
      if (options.sshKeyFile() != null) {
        ssh.append(" -o IdentitiesOnly=yes -i ").append(quote(options.sshKeyFile().toString()));
      }
      if (options.sshKnownHostsFile() != null) {
        ssh.append(" -o StrictHostKeyChecking=yes -o UserKnownHostsFile=").append(quote(options.sshKnownHostsFile().toString()));
      }
      args.add("-e");
      args.add(ssh.toString());
    }
    this.commonArgs = List.copyOf(args);
  }

  /** Quotes a word for rsync's own splitting of the -e command (it honours single quotes). */
  private static String quote(String word) {
    return "'" + word.replace("'", "'\\''") + "'";
  }

  @Override
  public String describe() {
    return describe;
  }

  @Override
  public Set<StorageFeature> features() {
    return EnumSet.noneOf(StorageFeature.class);
  }

  // ---- writing ----

  @Override
  public Future<StoredObject> put(String key, ReadStream<Buffer> data) {
    // Create the pipe before anything asynchronous, so no buffer is lost meanwhile.
    Pipe<Buffer> pipe = data.pipe().endOnComplete(false);
    Path dir;
    Path staged;
    try {
      dir = spoolDirectory("put");
      staged = dir.resolve(remotePath(key));
    } catch (RuntimeException e) {
      pipe.close();
      return Future.failedFuture(e);
    }
    return blocking(() -> {
          createPrivateDirectories(staged.getParent());
          return null;
        })
        .compose(v -> vertx.fileSystem().open(staged.toString(), new OpenOptions().setWrite(true).setCreateNew(true)))
        .recover(t -> {
          pipe.close();
          return Future.failedFuture(local("stage " + key, t));
        })
        .compose(file -> pipe.to(file)
            .compose(v -> file.flush())
            .eventually(() -> file.close())
            .recover(t -> Future.failedFuture(t instanceof FlotillaException ? t
                : new FlotillaException(ErrorCode.REPOSITORY, "cannot store " + key + " in " + describe + ": " + t.getMessage(), t))))
        .compose(v -> upload(key, dir))
        .eventually(() -> removeSpool(dir));
  }

  @Override
  public Future<StoredObject> putBytes(String key, Buffer data) {
    Path dir;
    Path staged;
    try {
      dir = spoolDirectory("put");
      staged = dir.resolve(remotePath(key));
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    return blocking(() -> {
          createPrivateDirectories(staged.getParent());
          Files.write(staged, data.getBytes());
          return null;
        })
        .recover(t -> Future.failedFuture(local("stage " + key, t)))
        .compose(v -> upload(key, dir))
        .eventually(() -> removeSpool(dir));
  }

  /** Uploads the staged object of {@code key} from {@code dir}, then checks what landed. */
  private Future<StoredObject> upload(String key, Path dir) {
    String source = dir + "/./" + remotePath(key);
    List<String> transfer = List.of("--relative", "--keep-dirlinks", "--whole-file", "--chmod=D755,F644", source, anchor);
    return blocking(() -> Files.size(dir.resolve(remotePath(key))))
        .compose(size -> rsync(transfer)
            .compose(o -> o.exit == 0 ? Future.succeededFuture() : Future.failedFuture(failure("store " + key, o)))
            .compose(v -> rsync(concat(List.of("--dry-run", "--checksum", "--itemize-changes"), transfer)))
            .compose(o -> {
              if (o.exit != 0) {
                return Future.failedFuture(failure("verify " + key, o));
              }
              // Any itemized file means the peer's copy differs from (or lacks) the staged bytes.
              boolean differs = o.stdout.lines().anyMatch(l -> l.length() > 1 && l.charAt(1) == 'f');
              if (differs) {
                return Future.failedFuture(new FlotillaException(ErrorCode.INTEGRITY,
                    "object " + key + " on rsync peer " + describe + " does not match what was uploaded (checksum differs after the transfer)"));
              }
              return Future.succeededFuture(new StoredObject(key, size));
            }));
  }

  // ---- reading ----

  @Override
  public Future<ObjectReadStream> get(String key) {
    Path dir = spoolDirectory("get");
    Path local = dir.resolve("object");
    return download(key, dir, local)
        .compose(size -> vertx.fileSystem().open(local.toString(), new OpenOptions().setRead(true).setWrite(false).setCreate(false))
            .recover(t -> Future.failedFuture(local("read " + key, t)))
            // Unlinked while open: the reader keeps its file, and nothing is left however it ends.
            .compose(file -> removeSpool(dir)
                .<ObjectReadStream>map(v -> new AsyncFileObjectStream(file.setReadBufferSize(64 * 1024).pause(), size))
                .onFailure(t -> file.close())))
        .onFailure(t -> removeSpool(dir));
  }

  @Override
  public Future<Buffer> getBytes(String key) {
    Path dir = spoolDirectory("get");
    Path local = dir.resolve("object");
    return download(key, dir, local)
        .compose(size -> blocking(() -> Buffer.buffer(Files.readAllBytes(local))).recover(t -> Future.failedFuture(local("read " + key, t))))
        .eventually(() -> removeSpool(dir));
  }

  /** Copies {@code key} into {@code local}; returns its size. */
  private Future<Long> download(String key, Path dir, Path local) {
    return blocking(() -> {
          createPrivateDirectories(dir);
          return null;
        })
        .recover(t -> Future.failedFuture(local("read " + key, t)))
        .compose(v -> rsync(List.of(remote(remotePath(key)), local.toString())))
        .compose(o -> {
          if (o.exit != 0) {
            return Future.failedFuture(missing(o) ? notFound(key) : failure("read " + key, o));
          }
          return blocking(() -> Files.isRegularFile(local) ? Files.size(local) : -1L);
        })
        .compose(size -> size < 0 ? Future.failedFuture(notFound(key)) : Future.succeededFuture(size));
  }

  @Override
  public Future<StoredObject> stat(String key) {
    String name = key.substring(key.lastIndexOf('/') + 1);
    return rsync(List.of("--list-only", remote(remotePath(key)))).compose(o -> {
      if (o.exit != 0) {
        return Future.failedFuture(missing(o) ? notFound(key) : failure("stat " + key, o));
      }
      for (String line : o.stdout.lines().toList()) {
        Matcher m = LISTING.matcher(line);
        if (m.matches() && m.group(1).equals("-") && m.group(3).equals(name)) {
          return Future.succeededFuture(new StoredObject(key, size(m.group(2))));
        }
      }
      return Future.failedFuture(notFound(key));
    });
  }

  @Override
  public Future<List<StoredObject>> list(String prefix) {
    return listFiles(prefix, "list " + (prefix.isEmpty() ? "the repository" : prefix)).map(files -> {
      List<StoredObject> out = new ArrayList<>();
      for (StoredObject f : files) {
        if (f.key().startsWith(prefix) && !hidden(f.key())) {
          out.add(f);
        }
      }
      out.sort(Comparator.comparing(StoredObject::key));
      return out;
    });
  }

  /** Every regular file in the folder {@code prefix} falls in, recursively, hidden ones included. */
  private Future<List<StoredObject>> listFiles(String prefix, String what) {
    int slash = prefix.lastIndexOf('/');
    String start = slash < 0 ? "" : prefix.substring(0, slash);
    checkKey(start.isEmpty() ? "x" : start);
    String folder = remote(start.isEmpty() ? base : remotePath(start));
    return rsync(List.of("--list-only", "--recursive", folder.endsWith("/") ? folder : folder + "/")).compose(o -> {
      // 24: a file vanished while listing (a concurrent delete); what remains is listed.
      if (o.exit != 0 && o.exit != 24) {
        return missing(o) ? Future.succeededFuture(List.of()) : Future.failedFuture(failure(what, o));
      }
      List<StoredObject> out = new ArrayList<>();
      for (String line : o.stdout.lines().toList()) {
        Matcher m = LISTING.matcher(line);
        if (m.matches() && m.group(1).equals("-")) {
          out.add(new StoredObject(start.isEmpty() ? m.group(3) : start + "/" + m.group(3), size(m.group(2))));
        }
      }
      return Future.succeededFuture(out);
    });
  }

  /** rsync's temporary files and anything else hidden are never objects (keys never start with '.'). */
  private static boolean hidden(String key) {
    return key.startsWith(".") || key.contains("/.");
  }

  private static long size(String digits) {
    return Long.parseLong(digits.replace(",", "").replace(".", ""));
  }

  // ---- deleting ----

  @Override
  public Future<Void> delete(String key) {
    checkKey(key);
    int slash = key.lastIndexOf('/');
    String folder = slash < 0 ? "" : key.substring(0, slash);
    return deleteIn(folder, List.of(escape(key.substring(slash + 1))), "delete " + key);
  }

  @Override
  public Future<Void> deletePrefix(String prefix) {
    String folder;
    List<String> patterns;
    if (prefix.isEmpty() || prefix.equals("/")) {
      folder = "";
      patterns = List.of("*", "*/***");
    } else if (prefix.endsWith("/")) {
      String dir = prefix.substring(0, prefix.length() - 1);
      checkKey(dir);
      int slash = dir.lastIndexOf('/');
      folder = slash < 0 ? "" : dir.substring(0, slash);
      patterns = List.of(escape(dir.substring(slash + 1)) + "/***");
    } else {
      checkKey(prefix);
      int slash = prefix.lastIndexOf('/');
      folder = slash < 0 ? "" : prefix.substring(0, slash);
      String part = escape(prefix.substring(slash + 1));
      // rsync's hidden temporary files of objects under the prefix go too: ".name.XXXXXX".
      patterns = List.of(part + "*", part + "*/***", "." + part + "*");
    }
    return deleteIn(folder, patterns, "delete " + (prefix.isEmpty() ? "the repository's objects" : prefix + "*"));
  }

  @Override
  public Future<Integer> cleanupIncomplete(String prefix) {
    return listFiles(prefix, "clean up " + prefix).compose(files -> {
      Map<String, List<String>> byFolder = new LinkedHashMap<>();
      for (StoredObject f : files) {
        int slash = f.key().lastIndexOf('/');
        String folder = slash < 0 ? "" : f.key().substring(0, slash);
        String name = f.key().substring(slash + 1);
        Matcher m = RSYNC_TEMP.matcher(name);
        String target = (folder.isEmpty() ? "" : folder + "/") + (m.matches() ? m.group(1) : "");
        if (m.matches() && target.startsWith(prefix)) {
          byFolder.computeIfAbsent(folder, k -> new ArrayList<>()).add(escape(name));
        }
      }
      Future<Void> chain = Future.succeededFuture();
      int count = 0;
      for (Map.Entry<String, List<String>> e : byFolder.entrySet()) {
        count += e.getValue().size();
        chain = chain.compose(v -> deleteIn(e.getKey(), e.getValue(), "clean up " + e.getKey()));
      }
      int removed = count;
      return chain.map(v -> {
        if (removed > 0) {
          log.info("removed {} unfinished upload(s) under '{}' in {}", removed, prefix, describe);
        }
        return removed;
      });
    });
  }

  /**
   * Deletes the entries of {@code folder} (relative to the repository) that match
   * {@code patterns} (rsync filter patterns relative to that folder). An empty local tree
   * mirroring {@code folder} is synchronised onto the repository with --delete; every folder on
   * the way is included, the patterns are included, everything else is excluded and so protected.
   */
  private Future<Void> deleteIn(String folder, List<String> patterns, String what) {
    Path dir = spoolDirectory("delete");
    List<String> args = new ArrayList<>(List.of("--recursive", "--delete", "--existing"));
    String anchored = "/";
    if (!folder.isEmpty()) {
      for (String segment : folder.split("/")) {
        anchored += escape(segment) + "/";
        args.add("--include=" + anchored);
      }
    }
    for (String p : patterns) {
      args.add("--include=" + anchored + p);
    }
    args.add("--exclude=*");
    args.add(dir + "/");
    String root = remote(base);
    args.add(root.endsWith("/") ? root : root + "/");
    return blocking(() -> {
          createPrivateDirectories(folder.isEmpty() ? dir : dir.resolve(folder));
          return null;
        })
        .recover(t -> Future.failedFuture(local(what, t)))
        .compose(v -> rsync(args))
        .compose(o -> {
          // A repository folder that does not exist yet holds nothing to delete.
          if (o.exit == 0 || (o.exit == 11 || o.exit == 23) && missing(o)) {
            return Future.<Void>succeededFuture();
          }
          return Future.<Void>failedFuture(failure(what, o));
        })
        .eventually(() -> removeSpool(dir));
  }

  /** Escapes rsync's wildcard characters in a literal name. */
  private static String escape(String name) {
    return name.replaceAll("([*?\\[\\]\\\\])", "\\\\$1");
  }

  @Override
  public Future<Void> close() {
    for (Process p : running) {
      p.destroy();
    }
    return Future.succeededFuture();
  }

  // ---- paths ----

  private static void checkKey(String key) {
    if (key.isEmpty() || key.startsWith("/") || key.endsWith("/")) {
      throw new FlotillaException(ErrorCode.INTERNAL, "not an object key: '" + key + "'");
    }
    for (String segment : key.split("/")) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new FlotillaException(ErrorCode.INTERNAL, "key escapes the repository: " + key);
      }
    }
  }

  /** {@code key}'s path under the anchor. */
  private String remotePath(String key) {
    checkKey(key);
    return base.isEmpty() ? key : base + "/" + key;
  }

  /** How rsync names {@code path} (relative to the anchor) on the peer. */
  private String remote(String path) {
    return anchor + path;
  }

  // ---- processes ----

  private record Outcome(int exit, String stdout, String stderr) {}

  private record Started(Process process, Path out, Path err) {}

  /** Runs rsync with {@code args} and returns how it ended; only a failure to start it fails. */
  private Future<Outcome> rsync(List<String> args) {
    List<String> command = new ArrayList<>();
    command.add("rsync");
    command.addAll(commonArgs);
    command.addAll(args);
    return blocking(() -> {
          createPrivateDirectories(spool);
          Path out = Files.createTempFile(spool, "rsync-", ".out");
          Path err = Files.createTempFile(spool, "rsync-", ".err");
          ProcessBuilder pb = new ProcessBuilder(command)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .redirectOutput(out.toFile())
              .redirectError(err.toFile());
          pb.environment().putAll(environment);
          try {
            Process p = pb.start();
            running.add(p);
            return new Started(p, out, err);
          } catch (IOException e) {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            throw new FlotillaException(ErrorCode.REPOSITORY, "cannot run rsync for repository " + describe + " (is rsync installed?): "
                + e.getMessage(), e);
          }
        })
        .recover(t -> Future.failedFuture(local("run rsync", t)))
        .compose(s -> Future.fromCompletionStage(s.process.onExit(), context).compose(p -> blocking(() -> {
          running.remove(p);
          try {
            return new Outcome(p.exitValue(), Files.readString(s.out, StandardCharsets.UTF_8), Files.readString(s.err, StandardCharsets.UTF_8));
          } finally {
            Files.deleteIfExists(s.out);
            Files.deleteIfExists(s.err);
          }
        })));
  }

  /** Whether rsync failed only because the file or folder asked for does not exist. */
  private static boolean missing(Outcome o) {
    return o.stderr.contains("No such file or directory") && Stream.of("link_stat", "change_dir", "mkdir").anyMatch(o.stderr::contains);
  }

  private FlotillaException notFound(String key) {
    return new FlotillaException(ErrorCode.NOT_FOUND, "no such object in " + describe + ": " + key);
  }

  private FlotillaException failure(String what, Outcome o) {
    return new FlotillaException(ErrorCode.REPOSITORY, "cannot " + what + " on rsync peer " + describe + ": " + reason(o));
  }

  /** The one line of rsync's (or ssh's) complaint that says what went wrong. */
  static String reason(Outcome o) {
    List<String> lines = o.stderr.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    String chosen = lines.stream().filter(l -> l.startsWith("@ERROR")).findFirst()
        .or(() -> lines.stream().filter(l -> !l.startsWith("rsync error:")).findFirst())
        .or(() -> lines.stream().findFirst())
        .orElse("rsync exited with status " + o.exit);
    chosen = chosen.replaceFirst("^@?ERROR:\\s*", "").replaceFirst("^rsync:\\s*", "").replaceFirst("^\\[\\w+\\]\\s*", "");
    return chosen + " (rsync exit " + o.exit + ")";
  }

  /** A fresh folder name under the spool (created by whoever stages into it). */
  private Path spoolDirectory(String purpose) {
    return spool.resolve(purpose + "-" + UUID.randomUUID());
  }

  /** Staged objects may be readable only by this user: the spool is private. */
  private static void createPrivateDirectories(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    Path parent = dir.getParent();
    if (parent != null) {
      createPrivateDirectories(parent);
    }
    try {
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (java.nio.file.FileAlreadyExistsException e) {
      // made by a concurrent operation
    }
  }

  private Future<Void> removeSpool(Path dir) {
    return blocking(() -> {
      if (Files.exists(dir)) {
        try (Stream<Path> walk = Files.walk(dir)) {
          for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(p);
          }
        }
      }
      return null;
    }).<Void>mapEmpty().recover(t -> {
      log.warn("cannot remove spool folder {}: {}", dir, t.getMessage());
      return Future.succeededFuture();
    });
  }

  private FlotillaException local(String what, Throwable t) {
    if (t instanceof FlotillaException fe) {
      return fe;
    }
    String message = String.valueOf(t.getMessage());
    if (message.contains("No space left")) {
      return new FlotillaException(ErrorCode.LOCAL_IO, "cannot " + what + ": no space left in the spool directory " + spool, t);
    }
    return new FlotillaException(ErrorCode.LOCAL_IO, "cannot " + what + " in the spool directory " + spool + " of " + describe + ": " + message, t);
  }

  private <T> Future<T> blocking(Callable<T> work) {
    return context.executeBlocking(work, false);
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
