package io.flotilla.repo;

import io.flotilla.codec.CodecChain;
import io.flotilla.codec.Compression;
import io.flotilla.codec.OpenPgpCipher;
import io.flotilla.config.EncryptionConfig;
import io.flotilla.config.RepositoryConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifest;
import io.flotilla.manifest.Manifests;
import io.flotilla.repo.impl.FileStorage;
import io.flotilla.repo.impl.RsyncStorage;
import io.flotilla.repo.impl.S3Storage;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A repository: a {@link Storage} plus Flotilla's layout on it (descriptor, backups, manifests)
 * and the passphrase that opens it.
 */
public final class Repository {
  private static final String CHECK_PREFIX = "flotilla-passphrase-check:";

  private final Vertx vertx;
  private final Context context;
  private final String name;
  private final Storage storage;
  private final RepositoryDescriptor descriptor;
  private final char[] passphrase;

  private Repository(Vertx vertx, Context context, String name, Storage storage, RepositoryDescriptor descriptor, char[] passphrase) {
    this.vertx = vertx;
    this.context = context;
    this.name = name;
    this.storage = storage;
    this.descriptor = descriptor;
    this.passphrase = passphrase;
  }

  /** The storage backend a repository URL names. */
  public static Storage storage(Vertx vertx, Context context, RepositoryConfig config) {
    return switch (config.scheme()) {
      case "file" -> new FileStorage(vertx, Path.of(config.url().getPath()));
      case "s3" -> new S3Storage(context, config);
      case "rsync", "ssh" -> new RsyncStorage(vertx, context, config);
      default -> throw new FlotillaException(ErrorCode.CONFIG, "repository " + config.name() + ": unsupported scheme " + config.scheme());
    };
  }

  /**
   * Opens the repository and checks the passphrase against it. With {@code create}, a repository
   * that does not exist yet is initialised (its directory or prefix must be reachable).
   */
  public static Future<Repository> open(Vertx vertx, Context context, RepositoryConfig config, EncryptionConfig encryption, boolean create) {
    Storage storage;
    try {
      storage = storage(vertx, context, config);
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    Future<Void> rootCheck = Future.succeededFuture();
    if (!create && "file".equals(config.scheme())) {
      Path root = Path.of(config.url().getPath());
      rootCheck = vertx.executeBlocking(() -> {
        if (!Files.isDirectory(root)) {
          throw new FlotillaException(ErrorCode.REPOSITORY, "repository '" + config.name() + "' (" + storage.describe() + ") does not exist");
        }
        return null;
      }, false);
    }
    return rootCheck
        .compose(v -> storage.getBytes(RepositoryDescriptor.KEY))
        .map(b -> Manifests.fromJson(b, RepositoryDescriptor.class, storage.describe() + "/" + RepositoryDescriptor.KEY))
        .recover(t -> {
          if (t instanceof FlotillaException fe && fe.code() == ErrorCode.NOT_FOUND) {
            if (!create) {
              return Future.failedFuture(new FlotillaException(ErrorCode.REPOSITORY, "repository '" + config.name() + "' (" + storage.describe()
                  + ") is not initialised: no " + RepositoryDescriptor.KEY + " (a first backup creates it; check the url)"));
            }
            return initialise(vertx, storage, encryption);
          }
          return Future.failedFuture(t);
        })
        .compose(d -> checkPassphrase(vertx, config, storage, d, encryption)
            .map(p -> new Repository(vertx, context, config.name(), storage, d, p)))
        .onFailure(t -> storage.close());
  }

  private static Future<RepositoryDescriptor> initialise(Vertx vertx, Storage storage, EncryptionConfig encryption) {
    return vertx.executeBlocking(() -> {
      String cipher = encryption.enabled() ? CodecChain.OPENPGP_AES256 : CodecChain.NONE;
      String check = null;
      if (encryption.enabled()) {
        byte[] token = new byte[16];
        new SecureRandom().nextBytes(token);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream out = OpenPgpCipher.encrypt(bytes, encryption.passphrase(), "check")) {
          out.write((CHECK_PREFIX + HexFormat.of().formatHex(token)).getBytes());
        }
        check = Base64.getEncoder().encodeToString(bytes.toByteArray());
      }
      return new RepositoryDescriptor(RepositoryDescriptor.FORMAT, Instant.now().toString(), cipher, check);
    }, false).compose(d -> storage.putBytes(RepositoryDescriptor.KEY, Manifests.toJson(d)).map(d));
  }

  private static Future<char[]> checkPassphrase(Vertx vertx, RepositoryConfig config, Storage storage, RepositoryDescriptor d, EncryptionConfig encryption) {
    boolean encrypted = CodecChain.OPENPGP_AES256.equals(d.cipher());
    if (encrypted != encryption.enabled()) {
      return Future.failedFuture(new FlotillaException(ErrorCode.CONFIG, "config key encryption.cipher: repository '" + config.name() + "' is "
          + (encrypted ? "encrypted" : "not encrypted") + " but the config says " + (encryption.enabled() ? "aes-256" : "none")));
    }
    if (!encrypted) {
      return Future.succeededFuture(null);
    }
    return vertx.executeBlocking(() -> {
      char[] passphrase = encryption.passphrase();
      byte[] sealed = Base64.getDecoder().decode(d.passphraseCheck());
      try (InputStream in = OpenPgpCipher.decrypt(new ByteArrayInputStream(sealed), passphrase)) {
        String text = new String(in.readAllBytes());
        if (!text.startsWith(CHECK_PREFIX)) {
          throw new FlotillaException(ErrorCode.CRYPTO, "wrong passphrase for repository '" + config.name() + "'");
        }
      } catch (FlotillaException e) {
        if (e.code() == ErrorCode.CRYPTO || e.code() == ErrorCode.INTEGRITY) {
          throw new FlotillaException(ErrorCode.CRYPTO, "wrong passphrase for repository '" + config.name() + "' (" + storage.describe() + ")");
        }
        throw e;
      } catch (IOException e) {
        throw new FlotillaException(ErrorCode.CRYPTO, "wrong passphrase for repository '" + config.name() + "' (" + storage.describe() + ")");
      }
      return passphrase;
    }, false);
  }

  public String name() {
    return name;
  }

  public Storage storage() {
    return storage;
  }

  public Context context() {
    return context;
  }

  public Vertx vertx() {
    return vertx;
  }

  public RepositoryDescriptor descriptor() {
    return descriptor;
  }

  /** The passphrase, or null for an unencrypted repository. */
  public char[] passphrase() {
    return passphrase;
  }

  public String describe() {
    return "'" + name + "' (" + storage.describe() + ")";
  }

  public static String backupsPrefix(String host) {
    return "hosts/" + host + "/backups/";
  }

  public static String backupPrefix(String host, String backupId) {
    return backupsPrefix(host) + backupId + "/";
  }

  public static String walPrefix(String host) {
    return "hosts/" + host + "/wal/";
  }

  public static String manifestKey(String host, String backupId) {
    return backupPrefix(host, backupId) + "manifest.json";
  }

  /** The codec chain a manifest says its objects went through. */
  public static CodecChain codecs(Manifest m) {
    return new CodecChain(Compression.of(m.codecs().compression()), m.codecs().level(), 0, m.codecs().encryption());
  }

  /** Complete backups of {@code host} (those with a manifest), newest first. */
  public Future<List<Manifest>> listBackups(String host) {
    String prefix = backupsPrefix(host);
    return storage.list(prefix).compose(objects -> {
      List<Future<Manifest>> reads = new ArrayList<>();
      for (StoredObject o : objects) {
        String rest = o.key().substring(prefix.length());
        if (rest.endsWith("/manifest.json") && rest.indexOf('/') == rest.length() - "/manifest.json".length()) {
          reads.add(storage.getBytes(o.key()).map(b -> Manifests.fromJson(b, Manifest.class, o.key())));
        }
      }
      return Future.all(reads).map(all -> {
        List<Manifest> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
          out.add(all.resultAt(i));
        }
        // Ids have one-second resolution; the start time orders backups taken within the same second.
        out.sort(Comparator.comparing(Manifest::started).thenComparing(Manifest::backupId).reversed());
        return out;
      });
    });
  }

  public Future<Manifest> manifest(String host, String backupId) {
    String key = manifestKey(host, backupId);
    return storage.getBytes(key)
        .recover(t -> Future.failedFuture(t instanceof FlotillaException fe && fe.code() == ErrorCode.NOT_FOUND
            ? new FlotillaException(ErrorCode.NOT_FOUND, "no backup '" + backupId + "' of host " + host + " in repository " + describe()
                + " (flotilla list shows the backups)")
            : t))
        .map(b -> Manifests.fromJson(b, Manifest.class, key));
  }

  /**
   * The backup {@code idOrLatest} names: an id, or {@code latest} meaning the newest complete
   * backup that finished before {@code before} (when given) and holds {@code database} (when given).
   */
  public Future<Manifest> resolve(String host, String idOrLatest, Instant before, String database) {
    if (!"latest".equals(idOrLatest)) {
      return manifest(host, idOrLatest).compose(m -> {
        if (database != null && m.database(database).isEmpty()) {
          return Future.failedFuture(new FlotillaException(ErrorCode.NOT_FOUND, "backup " + idOrLatest + " does not hold database '" + database
              + "' (it holds: " + String.join(", ", m.databases().stream().map(Manifest.DatabaseEntry::name).toList()) + ")"));
        }
        return Future.succeededFuture(m);
      });
    }
    return listBackups(host).compose(all -> {
      for (Manifest m : all) {
        if (before != null && !m.finished().isBefore(before)) {
          continue;
        }
        if (database != null && m.database(database).isEmpty()) {
          continue;
        }
        return Future.succeededFuture(m);
      }
      String what = "no complete backup of host " + host + (database != null ? " holding database '" + database + "'" : "")
          + (before != null ? " finished before " + before : "") + " in repository " + describe();
      return Future.failedFuture(new FlotillaException(ErrorCode.NOT_FOUND, what));
    });
  }

  public Future<Void> writeManifest(Manifest m) {
    return storage.putBytes(manifestKey(m.host(), m.backupId()), Manifests.toJson(m), PutOptions.label(m.label())).mapEmpty();
  }

  /**
   * Removes what interrupted backups of {@code host} left: backup folders without a manifest and
   * unfinished writes. Call only while holding the host's backup lock, so a running backup is never
   * mistaken for a leftover. Returns the ids removed.
   */
  public Future<List<String>> cleanupIncomplete(String host) {
    String prefix = backupsPrefix(host);
    return storage.cleanupIncomplete(prefix).compose(n -> storage.list(prefix)).compose(objects -> {
      Set<String> ids = new LinkedHashSet<>();
      Set<String> complete = new LinkedHashSet<>();
      for (StoredObject o : objects) {
        String rest = o.key().substring(prefix.length());
        int slash = rest.indexOf('/');
        if (slash <= 0) {
          continue;
        }
        String id = rest.substring(0, slash);
        ids.add(id);
        if (rest.equals(id + "/manifest.json")) {
          complete.add(id);
        }
      }
      ids.removeAll(complete);
      List<String> doomed = List.copyOf(ids);
      Future<Void> chain = Future.succeededFuture();
      for (String id : doomed) {
        chain = chain.compose(v -> storage.deletePrefix(backupPrefix(host, id)));
      }
      return chain.map(v -> doomed);
    });
  }

  public Future<Void> close() {
    return storage.close();
  }
}
