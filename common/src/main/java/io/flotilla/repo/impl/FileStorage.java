package io.flotilla.repo.impl;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.repo.ObjectReadStream;
import io.flotilla.repo.Storage;
import io.flotilla.repo.StorageFeature;
import io.flotilla.repo.StoredObject;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.streams.Pipe;
import io.vertx.core.streams.ReadStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A repository in a local (or mounted) directory. Writes go to a hidden temporary name, are
 * fsynced, then renamed into place and the directory fsynced, so a crash never leaves a
 * half-written object under its real name.
 */
public final class FileStorage implements Storage {
  static final String TEMP_MARK = ".flotilla-tmp-";
  private final Vertx vertx;
  private final Path root;

  public FileStorage(Vertx vertx, Path root) {
    this.vertx = vertx;
    this.root = root;
  }

  /**
   * Creates {@code dir} and its missing parents. Run as root (an operator running a restore or a
   * manual backup) in a repository another user owns (the postgres user whose archive_command
   * writes WAL), new folders and files are given to that owner, so neither locks the other out.
   */
  private void createDirectories(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    java.nio.file.attribute.UserPrincipal owner = foreignOwner();
    Path existing = dir;
    java.util.ArrayDeque<Path> missing = new java.util.ArrayDeque<>();
    while (existing != null && !Files.isDirectory(existing)) {
      missing.push(existing);
      existing = existing.getParent();
    }
    for (Path p : missing) {
      try {
        Files.createDirectory(p);
      } catch (java.nio.file.FileAlreadyExistsException e) {
        continue; // a concurrent writer made it
      }
      if (owner != null && (p.startsWith(root) || root.startsWith(p))) {
        Files.setOwner(p, owner);
      }
    }
  }

  /**
   * The owner new repository folders and files get when this process is root: the owner of the
   * repository root (or of its nearest existing parent), unless that is root too.
   */
  private java.nio.file.attribute.UserPrincipal foreignOwner() throws IOException {
    if (!"root".equals(System.getProperty("user.name"))) {
      return null;
    }
    Path existing = root;
    while (existing != null && !Files.isDirectory(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return null;
    }
    java.nio.file.attribute.UserPrincipal owner = Files.getOwner(existing);
    return "root".equals(owner.getName()) ? null : owner;
  }

  private void adopt(Path file) throws IOException {
    java.nio.file.attribute.UserPrincipal owner = foreignOwner();
    if (owner != null) {
      Files.setOwner(file, owner);
    }
  }

  @Override
  public String describe() {
    return "file://" + root;
  }

  @Override
  public Set<StorageFeature> features() {
    return EnumSet.of(StorageFeature.LOCAL_PATH);
  }

  public Path path(String key) {
    Path p = root.resolve(key).normalize();
    if (!p.startsWith(root)) {
      throw new FlotillaException(ErrorCode.INTERNAL, "key escapes the repository: " + key);
    }
    return p;
  }

  private Path tempFor(Path target) {
    return target.resolveSibling(TEMP_MARK + target.getFileName() + "-" + UUID.randomUUID());
  }

  private <T> Future<T> blocking(java.util.concurrent.Callable<T> work) {
    return vertx.executeBlocking(work, false).recover(t -> Future.failedFuture(translate(t)));
  }

  private Throwable translate(Throwable t) {
    if (t instanceof FlotillaException) {
      return t;
    }
    if (t instanceof NoSuchFileException e) {
      return new FlotillaException(ErrorCode.NOT_FOUND, "no such object in " + describe() + ": " + relative(e.getFile()), t);
    }
    if (t instanceof AccessDeniedException e) {
      return new FlotillaException(ErrorCode.REPOSITORY, "permission denied in repository " + describe() + ": " + e.getFile(), t);
    }
    if (t instanceof FileSystemException e && e.getReason() != null && e.getReason().contains("No space left")) {
      return new FlotillaException(ErrorCode.LOCAL_IO, "no space left on the device of repository " + describe(), t);
    }
    if (t instanceof IOException && String.valueOf(t.getMessage()).contains("No space left")) {
      return new FlotillaException(ErrorCode.LOCAL_IO, "no space left on the device of repository " + describe(), t);
    }
    if (t instanceof io.vertx.core.file.FileSystemException && t.getCause() != null) {
      return translate(t.getCause());
    }
    return new FlotillaException(ErrorCode.REPOSITORY, "repository " + describe() + ": " + t.getMessage(), t);
  }

  private String relative(String file) {
    try {
      return root.relativize(Path.of(file)).toString();
    } catch (IllegalArgumentException e) {
      return file;
    }
  }

  @Override
  public Future<StoredObject> put(String key, ReadStream<Buffer> data) {
    Path target = path(key);
    Path temp = tempFor(target);
    // Create the pipe before the asynchronous open, so no buffer is lost meanwhile.
    Pipe<Buffer> pipe = data.pipe().endOnComplete(false);
    return blocking(() -> {
          createDirectories(target.getParent());
          return null;
        })
        .compose(v -> vertx.fileSystem().open(temp.toString(), new OpenOptions().setWrite(true).setCreateNew(true)))
        .recover(t -> {
          pipe.close();
          return Future.failedFuture(translate(t));
        })
        .compose(file -> pipe.to(file)
            .compose(v -> file.flush())
            .eventually(() -> file.close())
            .recover(t -> Future.failedFuture(translate(t))))
        .compose(v -> commit(temp, target, key))
        .onFailure(t -> vertx.executeBlocking(() -> Files.deleteIfExists(temp), false));
  }

  private Future<StoredObject> commit(Path temp, Path target, String key) {
    return blocking(() -> {
      try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      long size = Files.size(temp);
      adopt(temp);
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      fsyncDirectory(target.getParent());
      return new StoredObject(key, size);
    });
  }

  private static void fsyncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some file systems refuse to fsync a directory; the rename is still atomic there.
    }
  }

  @Override
  public Future<StoredObject> putBytes(String key, Buffer data) {
    Path target = path(key);
    Path temp = tempFor(target);
    return blocking(() -> {
      createDirectories(target.getParent());
      try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(data.getBytes());
        while (bb.hasRemaining()) {
          ch.write(bb);
        }
        ch.force(true);
      } catch (IOException e) {
        Files.deleteIfExists(temp);
        throw e;
      }
      adopt(temp);
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      fsyncDirectory(target.getParent());
      return new StoredObject(key, data.length());
    });
  }

  @Override
  public Future<ObjectReadStream> get(String key) {
    Path p = path(key);
    return stat(key).compose(st -> vertx.fileSystem().open(p.toString(), new OpenOptions().setRead(true).setWrite(false).setCreate(false))
        .recover(t -> Future.failedFuture(translate(t)))
        .map(file -> new AsyncFileObjectStream(file.setReadBufferSize(64 * 1024).pause(), st.size())));
  }

  @Override
  public Future<Buffer> getBytes(String key) {
    Path p = path(key);
    return blocking(() -> Buffer.buffer(Files.readAllBytes(p)));
  }

  @Override
  public Future<StoredObject> stat(String key) {
    Path p = path(key);
    return blocking(() -> new StoredObject(key, Files.size(p)));
  }

  @Override
  public Future<List<StoredObject>> list(String prefix) {
    return blocking(() -> {
      List<StoredObject> out = new ArrayList<>();
      Path start = startDirectory(prefix);
      if (!Files.isDirectory(start)) {
        return out;
      }
      try (Stream<Path> walk = Files.walk(start)) {
        walk.filter(Files::isRegularFile)
            .filter(f -> !f.getFileName().toString().startsWith(TEMP_MARK))
            .forEach(f -> {
              String key = root.relativize(f).toString().replace('\\', '/');
              if (key.startsWith(prefix)) {
                try {
                  out.add(new StoredObject(key, Files.size(f)));
                } catch (IOException e) {
                  // Vanished while listing: a concurrent delete; not listed.
                }
              }
            });
      }
      out.sort(Comparator.comparing(StoredObject::key));
      return out;
    });
  }

  private Path startDirectory(String prefix) {
    int slash = prefix.lastIndexOf('/');
    return slash < 0 ? root : path(prefix.substring(0, slash));
  }

  @Override
  public Future<Void> delete(String key) {
    Path p = path(key);
    return blocking(() -> {
      Files.deleteIfExists(p);
      return null;
    });
  }

  @Override
  public Future<Void> deletePrefix(String prefix) {
    return blocking(() -> {
      Path start = startDirectory(prefix);
      if (!Files.isDirectory(start)) {
        return null;
      }
      List<Path> doomed = new ArrayList<>();
      try (Stream<Path> walk = Files.walk(start)) {
        walk.filter(Files::isRegularFile)
            .filter(f -> root.relativize(f).toString().replace('\\', '/').startsWith(prefix))
            .forEach(doomed::add);
      }
      for (Path f : doomed) {
        Files.deleteIfExists(f);
      }
      pruneEmptyDirectories(start);
      return null;
    });
  }

  private void pruneEmptyDirectories(Path start) throws IOException {
    if (!Files.isDirectory(start)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(start)) {
      List<Path> dirs = walk.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList();
      for (Path d : dirs) {
        if (d.equals(root)) {
          continue;
        }
        try (Stream<Path> entries = Files.list(d)) {
          if (entries.findAny().isEmpty()) {
            Files.deleteIfExists(d);
          }
        }
      }
    }
  }

  @Override
  public Future<Integer> cleanupIncomplete(String prefix) {
    return blocking(() -> {
      Path start = startDirectory(prefix);
      if (!Files.isDirectory(start)) {
        return 0;
      }
      int removed = 0;
      try (Stream<Path> walk = Files.walk(start)) {
        for (Path f : walk.filter(p -> p.getFileName().toString().startsWith(TEMP_MARK)).toList()) {
          if (root.relativize(f).toString().replace('\\', '/').startsWith(prefix)) {
            Files.deleteIfExists(f);
            removed++;
          }
        }
      }
      // Folders an interrupted write created and left empty go too.
      pruneEmptyDirectories(start);
      return removed;
    });
  }

  @Override
  public Future<Void> close() {
    return Future.succeededFuture();
  }
}
