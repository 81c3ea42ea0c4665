package io.flotilla.agent.lock;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One backup per host at a time, like pgBackRest's lock files: an OS file lock, released by the
 * kernel if the process dies. Holding it also proves that a manifest-less backup folder of this
 * host is a leftover, not a backup in progress.
 */
public final class HostLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;

  private HostLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /** Takes the lock or fails with CONFLICT at once. Blocking (small file I/O). */
  public static HostLock acquire(Path directory, String host, String operation) {
    Path file = directory.resolve("flotilla-" + host + "-" + operation + ".lock");
    try {
      Files.createDirectories(directory);
      FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock l = ch.tryLock();
      if (l == null) {
        ch.close();
        throw new FlotillaException(ErrorCode.CONFLICT, "another " + operation + " of host " + host + " is running (lock " + file + " is held)");
      }
      return new HostLock(ch, l);
    } catch (IOException e) {
      throw new FlotillaException(ErrorCode.LOCAL_IO, "cannot take lock " + file + ": " + e.getMessage() + " (config key lock-directory)");
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      // the kernel drops the lock with the process anyway
    }
  }
}
