package io.flotilla.agent.cli;

import io.flotilla.error.FlotillaException;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * Base of every command: sets up the {@link Session}, runs the command, and turns any failure into
 * one line on stderr and the exit code of its error code.
 */
abstract class AgentCommand implements Callable<Integer> {
  @Mixin
  CommonOptions common;

  @Spec
  CommandSpec spec;

  PrintStream out() {
    return Flotilla.OUT.get();
  }

  PrintStream err() {
    return Flotilla.ERR.get();
  }

  @Override
  public final Integer call() {
    if (common.verbose) {
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
    }
    try (Session session = openSession()) {
      return execute(session);
    } catch (Throwable t) {
      FlotillaException fe = FlotillaException.of(t);
      err().println("flotilla " + spec.name() + ": " + fe.getMessage());
      if (common.verbose) {
        t.printStackTrace(err());
      }
      return fe.code().exitCode();
    }
  }

  /** The session this command runs in; commands that need no config file override it. */
  Session openSession() {
    return Session.open(common, err());
  }

  abstract int execute(Session session) throws Exception;
}
