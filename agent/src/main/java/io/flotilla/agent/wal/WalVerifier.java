package io.flotilla.agent.wal;

import io.flotilla.agent.transfer.ObjectTransfers;
import io.flotilla.codec.CodecChain;
import io.flotilla.manifest.Manifest;
import io.flotilla.repo.Repository;
import io.flotilla.repo.StoredObject;
import io.flotilla.wal.Lsn;
import io.flotilla.wal.WalFile;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Finds gaps in a host's WAL archive, per timeline: from the oldest physical backup's first
 * segment (or, for a timeline that branched later, the segment of its switch point, read from its
 * history file) to the newest archived segment of that timeline, every segment must be there.
 */
public final class WalVerifier {
  private static final long DEFAULT_SEGMENT_SIZE = 16L * 1024 * 1024;
  private final Repository repo;
  private final String host;

  public WalVerifier(Repository repo, String host) {
    this.repo = repo;
    this.host = host;
  }

  /** One timeline's verdict. */
  public record TimelineReport(int timeline, String first, String last, int segments, List<String> missing) {}

  public Future<List<TimelineReport>> verify(List<Manifest> backups) {
    List<Manifest> physical = backups.stream().filter(m -> "physical".equals(m.kind())).toList();
    long segmentSize = physical.isEmpty() ? DEFAULT_SEGMENT_SIZE : physical.get(0).physical().walSegmentSize();
    Manifest oldest = physical.isEmpty() ? null : physical.get(physical.size() - 1);
    String prefix = "hosts/" + host + "/wal/";
    return repo.storage().list(prefix).compose(objects -> {
      Map<Integer, TreeSet<Long>> segments = new TreeMap<>();
      Map<Integer, StoredObject> histories = new TreeMap<>();
      for (StoredObject o : objects) {
        String name = o.key().substring(o.key().lastIndexOf('/') + 1);
        for (String suffix : CodecChain.knownSuffixes()) {
          if (suffix.isEmpty() || name.endsWith(suffix)) {
            String bare = name.substring(0, name.length() - suffix.length());
            WalFile.parse(bare).ifPresent(w -> {
              if (w.kind() == WalFile.Kind.SEGMENT) {
                segments.computeIfAbsent(w.timeline(), t -> new TreeSet<>()).add(WalFile.segmentNumber(bare, segmentSize));
              } else if (w.kind() == WalFile.Kind.HISTORY) {
                histories.put(w.timeline(), o);
              }
            });
            break;
          }
        }
      }
      Map<Integer, Long> starts = new TreeMap<>();
      List<Future<Void>> reads = new ArrayList<>();
      for (var h : histories.entrySet()) {
        reads.add(switchPoint(h.getValue(), h.getKey()).map(lsn -> {
          if (lsn != null) {
            starts.put(h.getKey(), lsn / segmentSize);
          }
          return null;
        }));
      }
      return Future.all(reads).map(v -> {
        List<TimelineReport> out = new ArrayList<>();
        for (var e : segments.entrySet()) {
          int tl = e.getKey();
          TreeSet<Long> have = e.getValue();
          long from = have.first();
          if (oldest != null && oldest.physical().timeline() == tl) {
            from = WalFile.segmentNumber(oldest.physical().startWal(), segmentSize);
          } else if (starts.containsKey(tl)) {
            from = starts.get(tl);
          }
          if (oldest != null && tl < oldest.physical().timeline()) {
            continue; // older than anything a retained backup can use
          }
          long to = have.last();
          List<String> missing = new ArrayList<>();
          for (long n = from; n <= to && missing.size() < 1000; n++) {
            if (!have.contains(n)) {
              missing.add(WalFile.segmentName(tl, n, segmentSize));
            }
          }
          out.add(new TimelineReport(tl, WalFile.segmentName(tl, Math.min(from, to), segmentSize), WalFile.segmentName(tl, to, segmentSize),
              have.subSet(from, true, to, true).size(), missing));
        }
        return out;
      });
    });
  }

  /** The LSN where {@code timeline} branched off its parent: the last line of its history file. */
  private Future<Long> switchPoint(StoredObject history, int timeline) {
    StringBuilder text = new StringBuilder();
    return ObjectTransfers.download(repo, CodecChain.fromKey(history.key()), history.key(), null, false, "history", null,
        in -> text.append(new String(in.readAllBytes(), StandardCharsets.UTF_8))).map(v -> {
          Long lsn = null;
          for (String line : text.toString().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 2 && Lsn.isValid(f[1])) {
              lsn = Lsn.parse(f[1]);
            }
          }
          return lsn;
        });
  }
}
