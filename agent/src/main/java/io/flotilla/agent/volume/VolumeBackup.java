package io.flotilla.agent.volume;

import io.flotilla.agent.Version;
import io.flotilla.agent.archive.Pipelined;
import io.flotilla.agent.lock.HostLock;
import io.flotilla.agent.progress.Progress;
import io.flotilla.agent.transfer.ObjectTransfers;
import io.flotilla.codec.CodecChain;
import io.flotilla.config.HostConfig;
import io.flotilla.config.VolumeConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.BackupId;
import io.flotilla.manifest.Manifest;
import io.flotilla.repo.PutOptions;
import io.flotilla.repo.Repository;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backs up volumes (directories): each streamed as a tar archive through the codecs into
 * {@code volumes/<name>.tar<suffixes>}, every entry in the manifest, the manifest last. Also used
 * by a logical backup with {@code --volumes}, which puts databases and volumes under one manifest.
 */
public final class VolumeBackup {
  private static final Logger LOG = LoggerFactory.getLogger(VolumeBackup.class);

  private final Vertx vertx;
  private final HostConfig config;
  private final Repository repo;
  private final Progress progress;

  public VolumeBackup(Vertx vertx, HostConfig config, Repository repo, Progress progress) {
    this.vertx = vertx;
    this.config = config;
    this.repo = repo;
    this.progress = progress;
  }

  /** @param volumes configured volume names; @param incremental store only files changed since the previous backup of each */
  public record Request(List<String> volumes, boolean incremental, String label) {}

  /** What {@link #archive} stored: one object and one manifest section per volume. */
  public record Archived(List<Manifest.ObjectEntry> objects, List<Manifest.Volume> volumes) {}

  /** The configured volumes {@code names} names, failing with the known names for an unknown one. */
  public List<VolumeConfig> select(List<String> names) {
    List<VolumeConfig> out = new ArrayList<>();
    for (String name : new LinkedHashSet<>(names)) {
      out.add(config.volume(name).orElseThrow(() -> new FlotillaException(ErrorCode.NOT_FOUND, "no volume named '" + name
          + "' in the config (volumes: " + (config.volumes().isEmpty() ? "none configured"
              : String.join(", ", config.volumes().stream().map(VolumeConfig::name).toList())) + ")")));
    }
    return out;
  }

  public Future<Manifest> run(Request request) {
    List<VolumeConfig> volumes;
    try {
      volumes = select(request.volumes());
    } catch (FlotillaException e) {
      return Future.failedFuture(e);
    }
    return vertx.executeBlocking(() -> HostLock.acquire(config.lockDirectory(), config.host(), "backup"), false)
        .compose(lock -> runLocked(volumes, request).eventually(() -> vertx.executeBlocking(() -> {
          lock.close();
          return null;
        }, false)));
  }

  private Future<Manifest> runLocked(List<VolumeConfig> volumes, Request request) {
    Instant started = Instant.now();
    String backupId = BackupId.next(started);
    CodecChain codecs = CodecChain.from(config.compression(), config.encryption());
    return repo.cleanupIncomplete(config.host())
        .compose(removed -> archive(backupId, codecs, volumes, request.incremental(), PutOptions.label(request.label())))
        .compose(archived -> {
          Manifest m = new Manifest(Manifest.FORMAT, Version.get(), backupId, config.host(), "volume", request.label(), null, 0,
              started.toString(), Instant.now().toString(), new Manifest.Codecs(codecs.compression().id(), codecs.level(), codecs.encryption()),
              List.of(), archived.objects(), null, archived.volumes());
          return repo.writeManifest(m).map(m);
        })
        .onSuccess(m -> LOG.info("host={} backup={} volume backup complete: {} plain bytes, {} stored", m.host(), m.backupId(), m.plainBytes(),
            m.storedBytes()))
        .onFailure(t -> LOG.info("host={} backup={} volume backup failed: {}", config.host(), backupId, t.getMessage()));
  }

  /**
   * Archives {@code volumes} into backup {@code backupId}, one after another. The caller holds the
   * host's backup lock and writes the manifest. Incremental: each volume is compared with the newest
   * complete backup that holds it (a full backup when there is none).
   */
  public Future<Archived> archive(String backupId, CodecChain codecs, List<VolumeConfig> volumes, boolean incremental, PutOptions options) {
    Future<List<Manifest>> earlier = incremental ? repo.listBackups(config.host()) : Future.succeededFuture(List.of());
    return earlier.compose(backups -> {
      List<Manifest.ObjectEntry> objects = new ArrayList<>();
      List<Manifest.Volume> sections = new ArrayList<>();
      Future<Void> chain = Future.succeededFuture();
      for (VolumeConfig volume : volumes) {
        Optional<Manifest> base = backups.stream().filter(m -> m.volume(volume.name()).isPresent()).findFirst();
        chain = chain.compose(v -> archiveOne(backupId, codecs, volume, base.orElse(null), options).map(pair -> {
          objects.add(pair.object());
          sections.add(pair.volume());
          return null;
        }));
      }
      return chain.map(v -> new Archived(objects, sections));
    });
  }

  private record One(Manifest.ObjectEntry object, Manifest.Volume volume) {}

  private Future<One> archiveOne(String backupId, CodecChain codecs, VolumeConfig volume, Manifest base, PutOptions options) {
    String key = "volumes/" + volume.name() + ".tar" + codecs.suffix();
    Map<String, Manifest.VolumeFile> previous = new HashMap<>();
    if (base != null) {
      base.volume(volume.name()).orElseThrow().files().forEach(f -> previous.put(f.path(), f));
    }
    VolumeArchiver archiver = new VolumeArchiver(volume, previous, base == null ? null : base.backupId());
    int index = config.volumes().indexOf(volume);
    return vertx.executeBlocking(() -> {
      if (!Files.isDirectory(volume.path())) {
        throw new FlotillaException(ErrorCode.CONFIG, "config key volumes[" + index + "].path: volume '" + volume.name() + "' directory "
            + volume.path() + (Files.exists(volume.path()) ? " is not a directory" : " does not exist"));
      }
      return null;
    }, false).compose(v -> {
      progress.label("volume " + volume.name());
      LOG.info("host={} backup={} archiving volume {} ({}){}", config.host(), backupId, volume.name(), volume.path(),
          base == null ? "" : ", incremental on " + base.backupId());
      return ObjectTransfers.upload(repo, codecs, Repository.backupPrefix(config.host(), backupId) + key, key, "volume", "tar",
          "volume-" + volume.name(), progress, options,
          plain -> Pipelined.run("flotilla-tar-" + volume.name(), archiver::write, plain));
    }).map(object -> {
      for (Manifest.ChangedFile c : archiver.changed) {
        LOG.warn("host={} backup={} volume {}: {} changed while being read: {}", config.host(), backupId, volume.name(), c.path(), c.detail());
      }
      return new One(object, new Manifest.Volume(volume.name(), volume.path().toString(), key, base == null ? null : base.backupId(),
          volume.exclude(), List.copyOf(archiver.files), List.copyOf(archiver.changed), List.copyOf(archiver.skipped)));
    });
  }
}
