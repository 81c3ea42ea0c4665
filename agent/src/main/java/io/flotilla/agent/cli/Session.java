package io.flotilla.agent.cli;

import io.flotilla.agent.postgres.PgSession;
import io.flotilla.agent.postgres.PgTools;
import io.flotilla.agent.progress.Progress;
import io.flotilla.config.ConfigLoader;
import io.flotilla.config.HostConfig;
import io.flotilla.config.RepositoryConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.repo.Repository;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.PrintStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One command's runtime: the validated config, a Vert.x instance with one context that every
 * asynchronous step runs on, the PostgreSQL tools, and progress. The command's thread only waits.
 */
final class Session implements AutoCloseable {
  final HostConfig config;
  final Vertx vertx;
  final Context context;
  final PgSession pg;
  final Progress progress;

  private Session(HostConfig config, Vertx vertx, Context context, PgSession pg, Progress progress) {
    this.config = config;
    this.vertx = vertx;
    this.context = context;
    this.pg = pg;
    this.progress = progress;
  }

  static Session open(CommonOptions options, PrintStream err) {
    return open(ConfigLoader.load(ConfigLoader.resolvePath(options.config)), options, err);
  }

  static Session open(HostConfig config, CommonOptions options, PrintStream err) {
    PgTools tools = PgTools.locate(config.postgres());
    // The only Vert.x instance of the process, made here in the command's main path.
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2).setWorkerPoolSize(4)
        .setMaxWorkerExecuteTime(10).setMaxWorkerExecuteTimeUnit(TimeUnit.MINUTES));
    Context context = vertx.getOrCreateContext();
    boolean terminal = Progress.stderrIsTerminal();
    Progress progress = new Progress(err, terminal && !options.json, options.progress);
    return new Session(config, vertx, context, new PgSession(tools, config.postgres()), progress);
  }

  /** Runs {@code work} on the session's context and waits for its result on the calling thread. */
  <T> T await(Supplier<Future<T>> work) {
    CompletableFuture<T> result = new CompletableFuture<>();
    context.runOnContext(v -> {
      try {
        work.get().onComplete(ar -> {
          if (ar.succeeded()) {
            result.complete(ar.result());
          } else {
            result.completeExceptionally(ar.cause());
          }
        });
      } catch (Throwable t) {
        result.completeExceptionally(t);
      }
    });
    try {
      return result.join();
    } catch (CompletionException e) {
      throw FlotillaException.of(e.getCause() == null ? e : e.getCause());
    }
  }

  /** Opens the named repository (the primary when null); {@code create} initialises a new one. */
  Future<Repository> repository(String name, boolean create) {
    RepositoryConfig rc = config.repository(name).orElse(null);
    if (rc == null) {
      return Future.failedFuture(new FlotillaException(ErrorCode.NOT_FOUND, "no repository named '" + name + "' in the config (known: "
          + String.join(", ", config.repositories().stream().map(RepositoryConfig::name).toList()) + ")"));
    }
    return Repository.open(vertx, context, rc, config.encryption(), create);
  }

  @Override
  public void close() {
    progress.stop();
    try {
      // The command's own thread, after its work: never an event loop.
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // exiting anyway
    }
  }
}
