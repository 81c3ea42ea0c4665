package io.flotilla.agent.cli;

import io.flotilla.agent.Version;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code flotilla} command line. */
@Command(name = "flotilla", mixinStandardHelpOptions = true, versionProvider = Flotilla.VersionProvider.class,
    description = "Backup and restore of PostgreSQL hosts: logical dumps streamed compressed and encrypted to file or S3 repositories.",
    subcommands = {BackupCommand.class, ListCommand.class, VerifyCommand.class, RestoreCommand.class, ExpireCommand.class, WalPushCommand.class,
        WalFetchCommand.class, ReplicateCommand.class, AgentDaemonCommand.class, StatusCommand.class, SelfTestCommand.class, CommandLine.HelpCommand.class})
public final class Flotilla {
  /** Where commands print; replaceable so tests can run the real command line in-process. */
  static final ThreadLocal<PrintStream> OUT = ThreadLocal.withInitial(() -> System.out);
  static final ThreadLocal<PrintStream> ERR = ThreadLocal.withInitial(() -> System.err);

  public static void main(String[] args) {
    if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
      // Commands print their own results; the daemon logs one line per event.
      boolean daemon = args.length > 0 && "agent".equals(args[0]);
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", daemon ? "info" : "warn");
    }
    System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
    System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSX");
    System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
    System.exit(run(System.out, System.err, args));
  }

  /** Runs the command line with the given streams and returns the exit code. */
  public static int run(PrintStream out, PrintStream err, String... args) {
    OUT.set(out);
    ERR.set(err);
    try {
      CommandLine cl = new CommandLine(new Flotilla());
      cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
      cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
      return cl.execute(args);
    } finally {
      OUT.remove();
      ERR.remove();
    }
  }

  static final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"flotilla " + Version.get()};
    }
  }
}
