package io.flotilla.testkit;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A real S3 server for tests: Adobe S3Mock's standalone exec jar run as a child JVM on a free
 * loopback port, with the given buckets created. It speaks the S3 REST protocol the AWS SDK uses
 * (multipart uploads, ranged gets, listing). {@link #goOffline()} and {@link #goOnline()} cut and
 * restore the network path to it (a relay on {@link #outageEndpoint()}) to stand for an outage;
 * S3Mock's own restart loses its multipart bookkeeping, so outages are simulated in front of it.
 */
public final class S3Server implements AutoCloseable {
  public static final String ACCESS_KEY = "flotilla-test";
  public static final String SECRET_KEY = "flotilla-test-secret";
  /**
   * A KMS key id the server accepts for {@code sse: aws:kms}. S3Mock refuses key ids it was not
   * given, and it matches the request's key id against the id part of the ARNs it was given.
   */
  public static final String KMS_KEY_ID = "flotilla-test-key";
  private static final String KMS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/" + KMS_KEY_ID;

  private final Path root;
  private final int port;
  private final TcpProxy relay;
  private final List<String> buckets;
  private Process process;

  private S3Server(Path root, int port, List<String> buckets) {
    this.root = root;
    this.port = port;
    this.buckets = buckets;
    this.relay = new TcpProxy(Processes.freePort(), port);
  }

  /** Where the exec jar is: system property flotilla.s3mock.jar (set by the build). */
  static Path jar() {
    String p = System.getProperty("flotilla.s3mock.jar");
    if (p == null) {
      throw new IllegalStateException("system property flotilla.s3mock.jar is not set (run the tests through Maven)");
    }
    return Path.of(p);
  }

  public static S3Server start(String... buckets) throws IOException {
    // The AWS SDK's default credential chain reads these; S3Mock accepts any credentials.
    System.setProperty("aws.accessKeyId", ACCESS_KEY);
    System.setProperty("aws.secretAccessKey", SECRET_KEY);
    S3Server s = new S3Server(Files.createTempDirectory("flotilla-s3-"), Processes.freePort(), List.of(buckets));
    s.startProcess();
    s.relay.start();
    return s;
  }

  public void startProcess() throws IOException {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx384m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-jar", jar().toString(),
        "--server.port=0",
        "--com.adobe.testing.s3mock.httpPort=" + port,
        "--com.adobe.testing.s3mock.store.root=" + root.resolve("store"),
        "--com.adobe.testing.s3mock.store.retain-files-on-exit=true",
        "--com.adobe.testing.s3mock.store.initial-buckets=" + String.join(",", buckets),
        "--com.adobe.testing.s3mock.store.valid-kms-keys=" + KMS_KEY_ARN,
        "--logging.level.root=WARN"));
    process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(root.resolve("s3mock.log").toFile()).start();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("S3Mock exited: " + Files.readString(root.resolve("s3mock.log")));
      }
      try {
        HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(endpoint() + "/" + (buckets.isEmpty() ? "" : buckets.get(0))))
            .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() < 500) {
          return;
        }
      } catch (IOException e) {
        // not up yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }
    throw new IOException("S3Mock did not start within 90 s; log in " + root.resolve("s3mock.log"));
  }

  /** Stops the server (the data stays, so it can be started again). */
  public void stopProcess() {
    if (process != null) {
      process.destroy();
      try {
        if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      process = null;
    }
  }

  public String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  /** The same server through a relay that {@link #goOffline()} cuts. */
  public String outageEndpoint() {
    return "http://127.0.0.1:" + relay.port();
  }

  /** Connections to {@link #outageEndpoint()} are refused (and open ones cut) until {@link #goOnline()}. */
  public void goOffline() {
    relay.stop();
  }

  public void goOnline() throws IOException {
    relay.start();
  }

  /** Files S3Mock stores objects in, for tests that corrupt data behind the server's back. */
  public Path storeRoot() {
    return root.resolve("store");
  }

  @Override
  public void close() throws IOException {
    relay.close();
    stopProcess();
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
