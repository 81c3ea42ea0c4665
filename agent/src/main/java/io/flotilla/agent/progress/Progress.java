package io.flotilla.agent.progress;

import io.vertx.core.Vertx;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Progress of a long transfer: bytes on both sides of the codecs, rate and, when the total is
 * known, an ETA. Drawn on one terminal line of stderr once a second; silent when stderr is not a
 * terminal, unless forced (then one plain line every 10 seconds).
 */
public final class Progress {
  private final AtomicLong plain = new AtomicLong();
  private final AtomicLong stored = new AtomicLong();
  private final PrintStream out;
  private final boolean terminal;
  private final boolean enabled;
  private volatile String label = "";
  private volatile long expectedPlain = -1;
  private long startNanos;
  private long timer = -1;
  private Vertx vertx;
  private int ticks;

  public Progress(PrintStream out, boolean terminal, boolean forced) {
    this.out = out;
    this.terminal = terminal;
    this.enabled = terminal || forced;
  }

  /** True when file descriptor 2 is a terminal (Linux); System.console() looks at stdout instead. */
  public static boolean stderrIsTerminal() {
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
    } catch (Exception e) {
      return false;
    }
  }

  public void start(Vertx vertx) {
    this.vertx = vertx;
    this.startNanos = System.nanoTime();
    if (enabled) {
      timer = vertx.setPeriodic(1000, id -> tick());
    }
  }

  public void label(String label) {
    this.label = label;
  }

  public void expect(long plainBytes) {
    this.expectedPlain = plainBytes;
  }

  public void plain(long n) {
    plain.addAndGet(n);
  }

  public void stored(long n) {
    stored.addAndGet(n);
  }

  public long plainBytes() {
    return plain.get();
  }

  public long storedBytes() {
    return stored.get();
  }

  private void tick() {
    ticks++;
    if (!terminal && ticks % 10 != 0) {
      return;
    }
    String line = render();
    if (terminal) {
      out.print("\r\u001b[K" + line);
    } else {
      out.println(line);
    }
    out.flush();
  }

  String render() {
    double seconds = Math.max(0.001, (System.nanoTime() - startNanos) / 1e9);
    long p = plain.get();
    double rate = p / seconds;
    StringBuilder sb = new StringBuilder();
    sb.append(label).append(": ").append(bytes(p)).append(" plain, ").append(bytes(stored.get())).append(" stored, ")
        .append(bytes((long) rate)).append("/s");
    long expected = expectedPlain;
    if (expected > 0 && rate > 0 && p < expected) {
      long eta = (long) ((expected - p) / rate);
      sb.append(String.format(Locale.ROOT, ", ETA ~%d:%02d", eta / 60, eta % 60));
    }
    return sb.toString();
  }

  public void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
      if (terminal) {
        out.print("\r\u001b[K");
        out.flush();
      }
    }
  }

  /** Human-readable binary size, e.g. 1.5 GiB. */
  public static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = n;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
