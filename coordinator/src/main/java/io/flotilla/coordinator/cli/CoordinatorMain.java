package io.flotilla.coordinator.cli;

import io.flotilla.config.CoordinatorConfig;
import io.flotilla.config.CoordinatorConfigLoader;
import io.flotilla.coordinator.Coordinator;
import io.flotilla.error.FlotillaException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flotilla-coordinator --config coordinator.yaml}: runs one member until stopped. */
@Command(name = "flotilla-coordinator", mixinStandardHelpOptions = true, description = {
    "Runs one member of the Flotilla coordinator cluster: schedules, retention, compliance, REST API, metrics."})
public final class CoordinatorMain implements Callable<Integer> {
  @Option(names = "--config", paramLabel = "FILE", description = "Member configuration (default: /etc/flotilla/coordinator.yaml).")
  Path config;

  @Option(names = "--check", description = "Validate the configuration and exit.")
  boolean check;

  public static void main(String[] args) {
    System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
    System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
    System.setProperty("org.slf4j.simpleLogger.log.com.hazelcast", "warn");
    System.exit(new CommandLine(new CoordinatorMain()).execute(args));
  }

  @Override
  public Integer call() {
    CoordinatorConfig c;
    try {
      c = CoordinatorConfigLoader.load(config == null ? CoordinatorConfigLoader.DEFAULT_PATH : config);
    } catch (FlotillaException e) {
      System.err.println("flotilla-coordinator: " + e.getMessage());
      return e.code().exitCode();
    }
    if (check) {
      System.out.println("configuration is valid: " + c.policies().size() + " policies, " + c.tokens().size() + " tokens, "
          + c.repositories().size() + " repositories");
      return 0;
    }
    Coordinator member;
    try {
      // main is the one place that waits on a future.
      member = Coordinator.start(c, Coordinator.Tuning.DEFAULT, null).await();
    } catch (Throwable t) {
      FlotillaException fe = FlotillaException.of(t);
      System.err.println("flotilla-coordinator: cannot start: " + fe.getMessage());
      return fe.code() == io.flotilla.error.ErrorCode.INTERNAL ? 1 : fe.code().exitCode();
    }
    System.err.println("flotilla-coordinator: member " + member.memberName() + " running, API on port " + member.apiPort());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        member.stop().await();
      } catch (Throwable ignored) {
        // exiting anyway
      }
      stopped.countDown();
    }));
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }
}
