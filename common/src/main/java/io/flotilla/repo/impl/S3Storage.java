package io.flotilla.repo.impl;

import io.flotilla.config.RepositoryConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.repo.ObjectReadStream;
import io.flotilla.repo.PutOptions;
import io.flotilla.repo.Storage;
import io.flotilla.repo.StorageFeature;
import io.flotilla.repo.StoredObject;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.AbortMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.NoSuchUploadException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.StorageClass;

/**
 * A repository in an S3 bucket (AWS or any S3-compatible endpoint), through the AWS SDK v2 async
 * client. Streams of unknown length go up as multipart uploads: parts of 8 MiB (growing for very
 * large objects so 10,000 parts reach past 400 GiB), at most two in flight, the source paused
 * meanwhile, so memory stays around 24 MiB per upload. A failed upload is aborted; nothing is
 * visible under the key until CompleteMultipartUpload succeeds. Transient errors are retried by
 * the SDK's standard retry strategy.
 */
public final class S3Storage implements Storage {
  private static final Logger LOG = LoggerFactory.getLogger(S3Storage.class);
  static final int MIN_PART = 8 * 1024 * 1024;
  private static final int MAX_PARTS_IN_FLIGHT = 2;

  private final Context context;
  private final S3AsyncClient s3;
  private final String bucket;
  private final String prefix;
  private final String description;
  private final RepositoryConfig config;

  public S3Storage(Context context, RepositoryConfig config) {
    this.context = context;
    this.config = config;
    this.bucket = config.url().getHost();
    String path = config.url().getPath() == null ? "" : config.url().getPath().replaceAll("^/+", "");
    this.prefix = path.isEmpty() || path.endsWith("/") ? path : path + "/";
    this.description = "s3://" + bucket + "/" + prefix + (config.endpoint() != null ? " at " + config.endpoint() : "");
    var builder = S3AsyncClient.builder()
        .region(Region.of(config.region()))
        .credentialsProvider(DefaultCredentialsProvider.builder().build())
        .forcePathStyle(config.pathStyle())
        .httpClientBuilder(NettyNioAsyncHttpClient.builder()
            .maxConcurrency(32)
            .connectionTimeout(Duration.ofSeconds(10))
            .readTimeout(Duration.ofSeconds(120))
            .writeTimeout(Duration.ofSeconds(120)))
        .overrideConfiguration(c -> c.retryStrategy(RetryMode.STANDARD)
            .apiCallAttemptTimeout(Duration.ofMinutes(5)));
    if (config.endpoint() != null) {
      builder.endpointOverride(config.endpoint());
    }
    this.s3 = builder.build();
  }

  @Override
  public String describe() {
    return description;
  }

  @Override
  public Set<StorageFeature> features() {
    return EnumSet.of(StorageFeature.MULTIPART_UPLOADS);
  }

  private String fullKey(String key) {
    return prefix + key;
  }

  private <T> Future<T> call(String what, String key, Supplier<CompletableFuture<T>> request) {
    CompletableFuture<T> cf;
    try {
      cf = request.get();
    } catch (RuntimeException e) {
      return Future.failedFuture(translate(what, key, e));
    }
    return Future.fromCompletionStage(cf, context).recover(t -> Future.failedFuture(translate(what, key, t)));
  }

  Throwable translate(String what, String key, Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof java.util.concurrent.ExecutionException) && c.getCause() != null) {
      c = c.getCause();
    }
    if (c instanceof FlotillaException) {
      return c;
    }
    if (c instanceof NoSuchKeyException) {
      return new FlotillaException(ErrorCode.NOT_FOUND, "no such object in " + description + ": " + key, c);
    }
    if (c instanceof NoSuchBucketException) {
      return new FlotillaException(ErrorCode.REPOSITORY, "bucket '" + bucket + "' does not exist (" + description + ")", c);
    }
    if (c instanceof S3Exception s3e) {
      if (s3e.statusCode() == 404 && "HeadObject".equals(what)) {
        return new FlotillaException(ErrorCode.NOT_FOUND, "no such object in " + description + ": " + key, c);
      }
      String code = s3e.awsErrorDetails() != null ? s3e.awsErrorDetails().errorCode() : null;
      if ("NoSuchBucket".equals(code)) {
        return new FlotillaException(ErrorCode.REPOSITORY, "bucket '" + bucket + "' does not exist (" + description + ")", c);
      }
      if (s3e.statusCode() == 403) {
        return new FlotillaException(ErrorCode.REPOSITORY, "access denied by " + description + " (" + what + " " + key + "): check credentials and bucket policy", c);
      }
      return new FlotillaException(ErrorCode.REPOSITORY, "S3 " + what + " " + key + " failed on " + description + ": HTTP " + s3e.statusCode()
          + (code != null ? " " + code : ""), c);
    }
    if (c instanceof SdkClientException) {
      Throwable root = c;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      String reason = root instanceof ConnectException ? "connection refused" : String.valueOf(root.getMessage());
      return new FlotillaException(ErrorCode.REPOSITORY, "cannot reach " + description + ": " + reason, c);
    }
    return new FlotillaException(ErrorCode.REPOSITORY, "S3 " + what + " " + key + " failed on " + description + ": " + c.getMessage(), c);
  }

  /** The storage class the config names for this write's label (null: the bucket's default). */
  private StorageClass storageClass(PutOptions options) {
    String c = config.storageClass(options.label());
    return c == null ? null : StorageClass.fromValue(c);
  }

  private ServerSideEncryption sse() {
    return config.sse() == null ? null : ServerSideEncryption.fromValue(config.sse());
  }

  @Override
  public Future<StoredObject> putBytes(String key, Buffer data) {
    return putBytes(key, data, PutOptions.NONE);
  }

  @Override
  public Future<StoredObject> putBytes(String key, Buffer data, PutOptions options) {
    byte[] bytes = data.getBytes();
    return call("PutObject", key, () -> s3.putObject(b -> b.bucket(bucket).key(fullKey(key)).contentLength((long) bytes.length)
            .storageClass(storageClass(options)).serverSideEncryption(sse()).ssekmsKeyId(config.kmsKeyId()),
            AsyncRequestBody.fromBytes(bytes)))
        .map(r -> new StoredObject(key, bytes.length));
  }

  @Override
  public Future<StoredObject> put(String key, ReadStream<Buffer> data) {
    return put(key, data, PutOptions.NONE);
  }

  @Override
  public Future<StoredObject> put(String key, ReadStream<Buffer> data, PutOptions options) {
    return new MultipartUpload0(key, data, options).start();
  }

  /** How an object is stored, as HeadObject reports it: for tests and {@code flotilla status}. */
  public Future<ObjectAttributes> attributes(String key) {
    return call("HeadObject", key, () -> s3.headObject(b -> b.bucket(bucket).key(fullKey(key))))
        .map(r -> new ObjectAttributes(r.storageClassAsString(), r.serverSideEncryptionAsString(), r.ssekmsKeyId()));
  }

  /** @param storageClass as reported (null: STANDARD); @param sse server-side encryption; @param kmsKeyId its key */
  public record ObjectAttributes(String storageClass, String sse, String kmsKeyId) {}

  /** One streaming upload: a single PUT when the stream is small, multipart otherwise. */
  private final class MultipartUpload0 {
    private final String key;
    private final ReadStream<Buffer> data;
    private final PutOptions options;
    private final Promise<StoredObject> result = Promise.promise();
    private final TreeMap<Integer, String> etags = new TreeMap<>();
    private Buffer current = Buffer.buffer();
    private Future<String> uploadId;
    private int nextPart = 1;
    private int inFlight;
    private long total;
    private boolean ended;
    private boolean failed;
    private boolean paused;

    MultipartUpload0(String key, ReadStream<Buffer> data, PutOptions options) {
      this.key = key;
      this.data = data;
      this.options = options;
    }

    Future<StoredObject> start() {
      data.exceptionHandler(this::fail);
      data.endHandler(v -> {
        ended = true;
        if (uploadId == null) {
          Buffer whole = current;
          current = null;
          putBytes(key, whole, options).onComplete(ar -> {
            if (ar.succeeded()) {
              result.tryComplete(ar.result());
            } else {
              fail(ar.cause());
            }
          });
        } else {
          if (current.length() > 0) {
            sendPart();
          }
          maybeComplete();
        }
      });
      data.handler(buffer -> {
        if (failed) {
          return;
        }
        current.appendBuffer(buffer);
        total += buffer.length();
        if (current.length() >= partSize(nextPart)) {
          sendPart();
        }
      });
      data.resume();
      return result.future();
    }

    private int partSize(int partNumber) {
      // 8 MiB for the first 2,000 parts, doubling every 2,000 after: 10,000 parts hold ~496 GiB.
      return MIN_PART << Math.min(4, (partNumber - 1) / 2000);
    }

    private void sendPart() {
      if (uploadId == null) {
        uploadId = call("CreateMultipartUpload", key, () -> s3.createMultipartUpload(b -> b.bucket(bucket).key(fullKey(key))
            .storageClass(storageClass(options)).serverSideEncryption(sse()).ssekmsKeyId(config.kmsKeyId())))
            .map(r -> r.uploadId());
      }
      int partNumber = nextPart++;
      byte[] bytes = current.getBytes();
      current = Buffer.buffer();
      inFlight++;
      if (inFlight >= MAX_PARTS_IN_FLIGHT && !paused) {
        paused = true;
        data.pause();
      }
      uploadId.compose(id -> call("UploadPart", key, () -> s3.uploadPart(b -> b.bucket(bucket).key(fullKey(key))
              .uploadId(id).partNumber(partNumber).contentLength((long) bytes.length), AsyncRequestBody.fromBytes(bytes))))
          .onComplete(ar -> {
            inFlight--;
            if (ar.failed()) {
              fail(ar.cause());
              return;
            }
            etags.put(partNumber, ar.result().eTag());
            if (paused && !ended && !failed) {
              paused = false;
              data.resume();
            }
            maybeComplete();
          });
    }

    private void maybeComplete() {
      if (!ended || inFlight > 0 || failed || result.future().isComplete()) {
        return;
      }
      List<CompletedPart> parts = new ArrayList<>();
      etags.forEach((n, e) -> parts.add(CompletedPart.builder().partNumber(n).eTag(e).build()));
      uploadId.compose(id -> call("CompleteMultipartUpload", key, () -> s3.completeMultipartUpload(b -> b.bucket(bucket).key(fullKey(key))
              .uploadId(id).multipartUpload(CompletedMultipartUpload.builder().parts(parts).build()))))
          .onSuccess(r -> result.tryComplete(new StoredObject(key, total)))
          .onFailure(this::fail);
    }

    private void fail(Throwable cause) {
      if (failed) {
        return;
      }
      failed = true;
      current = null;
      if (!ended) {
        data.handler(null);
        data.pause();
      }
      Future<Void> abort = uploadId == null || uploadId.failed() ? Future.succeededFuture()
          : uploadId.compose(id -> call("AbortMultipartUpload", key, () -> s3.abortMultipartUpload(
              AbortMultipartUploadRequest.builder().bucket(bucket).key(fullKey(key)).uploadId(id).build())).<Void>mapEmpty())
              .recover(t -> {
                LOG.warn("could not abort multipart upload of {} in {}: {} (a later run cleans it up)", key, description, t.getMessage());
                return Future.succeededFuture();
              });
      abort.onComplete(v -> result.tryFail(cause instanceof FlotillaException ? cause : translate("upload", key, cause)));
    }
  }

  @Override
  public Future<ObjectReadStream> get(String key) {
    return stat(key).compose(st -> {
      CompletableFuture<software.amazon.awssdk.core.async.ResponsePublisher<software.amazon.awssdk.services.s3.model.GetObjectResponse>> cf =
          s3.getObject(b -> b.bucket(bucket).key(fullKey(key)), AsyncResponseTransformer.toPublisher());
      return call("GetObject", key, () -> cf)
          .map(publisher -> (ObjectReadStream) new PublisherReadStream(context, publisher, st.size(), t -> translate("GetObject", key, t)));
    });
  }

  @Override
  public Future<Buffer> getBytes(String key) {
    return call("GetObject", key, () -> s3.getObject(b -> b.bucket(bucket).key(fullKey(key)), AsyncResponseTransformer.toBytes()))
        .map(r -> Buffer.buffer(r.asByteArray()));
  }

  @Override
  public Future<StoredObject> stat(String key) {
    return call("HeadObject", key, () -> s3.headObject(b -> b.bucket(bucket).key(fullKey(key))))
        .map(r -> new StoredObject(key, r.contentLength()));
  }

  @Override
  public Future<List<StoredObject>> list(String keyPrefix) {
    List<StoredObject> out = new ArrayList<>();
    return listPage(keyPrefix, null, out).map(v -> out);
  }

  private Future<Void> listPage(String keyPrefix, String token, List<StoredObject> out) {
    ListObjectsV2Request.Builder req = ListObjectsV2Request.builder().bucket(bucket).prefix(fullKey(keyPrefix));
    if (token != null) {
      req.continuationToken(token);
    }
    return call("ListObjectsV2", keyPrefix, () -> s3.listObjectsV2(req.build())).compose((ListObjectsV2Response r) -> {
      for (S3Object o : r.contents()) {
        out.add(new StoredObject(o.key().substring(prefix.length()), o.size()));
      }
      return Boolean.TRUE.equals(r.isTruncated()) ? listPage(keyPrefix, r.nextContinuationToken(), out) : Future.succeededFuture();
    });
  }

  @Override
  public Future<Void> delete(String key) {
    return call("DeleteObject", key, () -> s3.deleteObject(b -> b.bucket(bucket).key(fullKey(key)))).mapEmpty();
  }

  @Override
  public Future<Void> deletePrefix(String keyPrefix) {
    return cleanupIncomplete(keyPrefix).compose(n -> list(keyPrefix)).compose(objects -> {
      Future<Void> chain = Future.succeededFuture();
      for (int i = 0; i < objects.size(); i += 1000) {
        List<ObjectIdentifier> batch = objects.subList(i, Math.min(objects.size(), i + 1000)).stream()
            .map(o -> ObjectIdentifier.builder().key(fullKey(o.key())).build()).toList();
        chain = chain.compose(v -> call("DeleteObjects", keyPrefix, () -> s3.deleteObjects(b -> b.bucket(bucket)
            .delete(Delete.builder().objects(batch).quiet(true).build()))).mapEmpty());
      }
      return chain;
    });
  }

  @Override
  public Future<Integer> cleanupIncomplete(String keyPrefix) {
    return call("ListMultipartUploads", keyPrefix, () -> s3.listMultipartUploads(b -> b.bucket(bucket).prefix(fullKey(keyPrefix))))
        .compose((ListMultipartUploadsResponse r) -> {
          List<Future<Void>> aborts = new ArrayList<>();
          for (MultipartUpload u : r.uploads()) {
            aborts.add(call("AbortMultipartUpload", u.key(), () -> s3.abortMultipartUpload(b -> b.bucket(bucket).key(u.key()).uploadId(u.uploadId())))
                .<Void>mapEmpty()
                .recover(t -> t.getCause() instanceof NoSuchUploadException ? Future.succeededFuture() : Future.failedFuture(t)));
          }
          return Future.all(aborts).map(v -> aborts.size());
        });
  }

  @Override
  public Future<Void> close() {
    s3.close();
    return Future.succeededFuture();
  }
}
