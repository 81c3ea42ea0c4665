package io.flotilla.repo;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.config.RepositoryConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.repo.impl.S3Storage;
import io.flotilla.stream.OutputStreamSource;
import io.flotilla.testkit.Processes;
import io.flotilla.testkit.Producer;
import io.flotilla.testkit.S3Server;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.net.URI;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/** The storage contract on a real S3 server (S3Mock), plus what only S3 has: multipart uploads. */
class S3StorageIT extends StorageContractTest {
  private static final String BUCKET = "flotilla-test";
  private static S3Server server;
  /** The test's own S3 client, standing for another process (a crashed agent) or an operator. */
  private static S3AsyncClient raw;

  private String prefix;

  @BeforeAll
  @Timeout(120)
  static void startServer() throws IOException {
    server = S3Server.start(BUCKET);
    raw = S3AsyncClient.builder()
        .endpointOverride(URI.create(server.endpoint()))
        .forcePathStyle(true)
        .region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(S3Server.ACCESS_KEY, S3Server.SECRET_KEY)))
        .build();
  }

  @AfterAll
  static void stopServer() throws IOException {
    if (raw != null) {
      raw.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Override
  protected Storage createStorage(Vertx vertx, Context context) {
    // Each test gets its own prefix in the shared bucket, so tests never see each other's objects.
    prefix = "repo-" + UUID.randomUUID() + "/";
    return new S3Storage(context, config("primary", URI.create(server.endpoint())));
  }

  private RepositoryConfig config(String name, URI endpoint) {
    return new RepositoryConfig(name, URI.create("s3://" + BUCKET + "/" + prefix), endpoint, "us-east-1", true);
  }

  @Override
  protected void leaveIncompleteWrite(String key) {
    // What an agent killed mid-upload leaves: a multipart upload with a part and no completion.
    String uploadId = raw.createMultipartUpload(b -> b.bucket(BUCKET).key(prefix + key)).join().uploadId();
    raw.uploadPart(b -> b.bucket(BUCKET).key(prefix + key).uploadId(uploadId).partNumber(1).contentLength(4096L),
        AsyncRequestBody.fromBytes(new byte[4096])).join();
  }

  private int unfinishedUploads() {
    return raw.listMultipartUploads(b -> b.bucket(BUCKET).prefix(prefix)).join().uploads().size();
  }

  @AfterEach
  void noUploadLeftBehind() {
    assertThat(unfinishedUploads()).as("unfinished multipart uploads under " + prefix).isZero();
  }

  @Test
  void shouldUploadLargeStreamInParts() throws IOException {
    OutputStreamSource source = newSource();
    Producer producer = Producer.start(source, LARGE, 21, Producer.CLOSE);

    run(() -> storage.put("hosts/db1/backups/b1/app.dump", source));

    // An S3 ETag of the form "<md5>-<parts>" marks an object completed from a multipart upload.
    String etag = raw.headObject(b -> b.bucket(BUCKET).key(prefix + "hosts/db1/backups/b1/app.dump")).join().eTag();
    assertThat(etag.replace("\"", "")).endsWith("-3");
    assertThat(sha256Of("hosts/db1/backups/b1/app.dump")).isEqualTo(producer.sha256());
    assertThat(storage.features()).contains(StorageFeature.MULTIPART_UPLOADS);
  }

  @Test
  void shouldAbortMultipartUploadWhenSourceFails() {
    // Given a stream that fails after 20 MiB: two parts uploaded or in flight
    OutputStreamSource source = newSource();
    Producer.start(source, LARGE, 22, out -> source.fail(new IOException("pg_dump was killed")));

    // When it is stored
    Throwable failure = failureOf(() -> storage.put("hosts/db1/backups/b1/app.dump", source));

    // Then the upload was aborted before the put reported its failure: nothing to clean up
    assertThat(messages(failure)).contains("pg_dump was killed");
    assertThat(unfinishedUploads()).isZero();
    assertThat(run(() -> storage.cleanupIncomplete(""))).isZero();
    assertThat(keys("")).isEmpty();
  }

  @Test
  void shouldFailWithRepositoryErrorWhenServerIsUnreachable() {
    // Given a repository whose endpoint has nothing listening
    URI down = URI.create("http://127.0.0.1:" + Processes.freePort());
    Storage unreachable = new S3Storage(context, config("offline", down));
    try {
      // When any operation runs, then it fails as a repository problem naming where
      FlotillaException stat = assertFlotilla(failureOf(() -> unreachable.stat("flotilla.repo.json")), ErrorCode.REPOSITORY);
      assertFlotilla(failureOf(() -> unreachable.putBytes("flotilla.repo.json", Buffer.buffer("{}"))), ErrorCode.REPOSITORY);
      assertFlotilla(failureOf(() -> unreachable.list("hosts/")), ErrorCode.REPOSITORY);
      OutputStreamSource source = newSource();
      Producer.start(source, 10L * MIB, 1, Producer.CLOSE);
      assertFlotilla(failureOf(() -> unreachable.put("hosts/db1/backups/b1/app.dump", source)), ErrorCode.REPOSITORY);
      source.cancel(new IOException("upload failed")); // releases the producer thread
      assertThat(stat.getMessage()).startsWith("cannot reach ").contains(down.toString());
    } finally {
      run(unreachable::close);
    }
  }

  private S3Storage storageWith(java.util.Map<String, String> classes, String sse, String kmsKeyId) {
    return new S3Storage(context, new RepositoryConfig("classy", URI.create("s3://" + BUCKET + "/" + prefix), URI.create(server.endpoint()),
        "us-east-1", true, null, null, classes, sse, kmsKeyId));
  }

  @Test
  void shouldStoreEachLabelInItsStorageClassWithServerSideEncryption() throws IOException {
    // Given a repository with a default class, a class for monthly backups, and SSE-S3
    S3Storage s3 = storageWith(java.util.Map.of("default", "STANDARD_IA", "monthly", "GLACIER_IR"), "AES256", null);
    try {
      // When a monthly backup's objects (one multipart, one whole) and a WAL file are written
      OutputStreamSource source = newSource();
      Producer.start(source, LARGE, 31, Producer.CLOSE);
      run(() -> s3.put("hosts/db1/backups/b1/app.dump", source, PutOptions.label("monthly")));
      run(() -> s3.putBytes("hosts/db1/backups/b1/manifest.json", Buffer.buffer("{}"), PutOptions.label("monthly")));
      run(() -> s3.putBytes("hosts/db1/wal/00000001/000000010000000000000001.zst.gpg", Buffer.buffer("wal")));

      // Then HeadObject reports the class and the encryption each was sent with
      assertThat(run(() -> s3.attributes("hosts/db1/backups/b1/manifest.json")))
          .isEqualTo(new S3Storage.ObjectAttributes("GLACIER_IR", "AES256", null));
      assertThat(run(() -> s3.attributes("hosts/db1/wal/00000001/000000010000000000000001.zst.gpg")))
          .isEqualTo(new S3Storage.ObjectAttributes("STANDARD_IA", "AES256", null));
      // S3Mock 4.12 keeps the class of a multipart upload but drops its SSE headers when the upload
      // completes (it echoes them in the CompleteMultipartUpload response only); the KMS tests below
      // prove CreateMultipartUpload carries them.
      assertThat(run(() -> s3.attributes("hosts/db1/backups/b1/app.dump")).storageClass()).isEqualTo("GLACIER_IR");
    } finally {
      run(s3::close);
    }
  }

  @Test
  void shouldEncryptWithTheConfiguredKmsKey() throws IOException {
    S3Storage s3 = storageWith(java.util.Map.of(), "aws:kms", S3Server.KMS_KEY_ID);
    try {
      OutputStreamSource source = newSource();
      Producer.start(source, LARGE, 32, Producer.CLOSE);
      run(() -> s3.put("hosts/db1/backups/b1/app.dump", source, PutOptions.label("daily")));
      run(() -> s3.putBytes("hosts/db1/backups/b1/manifest.json", Buffer.buffer("{}"), PutOptions.label("daily")));

      S3Storage.ObjectAttributes a = run(() -> s3.attributes("hosts/db1/backups/b1/manifest.json"));
      assertThat(a.sse()).isEqualTo("aws:kms");
      assertThat(a.kmsKeyId()).isEqualTo(S3Server.KMS_KEY_ID);
      assertThat(a.storageClass()).isIn(null, "STANDARD");
    } finally {
      run(s3::close);
    }
  }

  @Test
  void shouldSendTheKmsKeyWithEveryKindOfUpload() {
    // S3Mock refuses a KMS key it does not know: the refusal proves the key travels with each request.
    S3Storage s3 = storageWith(java.util.Map.of(), "aws:kms", "no-such-key");
    try {
      OutputStreamSource source = newSource();
      Producer.start(source, LARGE, 33, Producer.CLOSE);
      Throwable multipart = failureOf(() -> s3.put("hosts/db1/backups/b1/app.dump", source, PutOptions.label("daily")));
      source.cancel(new IOException("upload failed")); // releases the producer thread
      Throwable whole = failureOf(() -> s3.putBytes("hosts/db1/backups/b1/manifest.json", Buffer.buffer("{}")));

      assertThat(multipart.getMessage()).contains("CreateMultipartUpload").contains("KMS.NotFoundException");
      assertThat(whole.getMessage()).contains("PutObject").contains("KMS.NotFoundException");
    } finally {
      run(s3::close);
    }
  }
}
