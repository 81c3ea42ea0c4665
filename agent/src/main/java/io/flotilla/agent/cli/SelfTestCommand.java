package io.flotilla.agent.cli;

import io.flotilla.agent.transfer.ObjectTransfers;
import io.flotilla.codec.CodecChain;
import io.flotilla.config.CompressionConfig;
import io.flotilla.config.EncryptionConfig;
import io.flotilla.config.HostConfig;
import io.flotilla.config.PostgresConfig;
import io.flotilla.config.RepositoryConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifest;
import io.flotilla.repo.Repository;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import picocli.CommandLine.Command;

/**
 * Checks this installation without a database or a config: a throwaway file repository, one
 * object through zstd and OpenPGP and back, digests compared. The build also runs it to record
 * the classes Flotilla loads, for the launcher's class-data-sharing archive (faster start-up).
 */
@Command(name = "self-test", description = "Check this installation: codecs and a file repository round trip, in a temporary directory.")
final class SelfTestCommand extends AgentCommand {
  private Path dir;

  @Override
  Session openSession() {
    try {
      dir = Files.createTempDirectory("flotilla-self-test-");
      Path pass = Files.writeString(dir.resolve("passphrase"), "self-test\n");
      HostConfig config = new HostConfig("self-test", new PostgresConfig("postgresql://localhost/postgres", null, null),
          List.of(new RepositoryConfig("self-test", dir.resolve("repo").toUri(), null, "us-east-1", false)),
          new EncryptionConfig("aes-256", pass), new CompressionConfig("zstd", 3, 0), dir, null, io.flotilla.retention.RetentionPolicy.KEEP_ALL);
      return Session.open(config, common, err());
    } catch (java.io.IOException e) {
      throw new FlotillaException(ErrorCode.LOCAL_IO, "cannot create a temporary directory: " + e.getMessage());
    }
  }

  @Override
  int execute(Session s) throws Exception {
    try {
      byte[] data = new byte[4 * 1024 * 1024];
      new Random(42).nextBytes(data);
      for (int i = 0; i < data.length; i += 3) {
        data[i] = 'x';
      }
      String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
      String[] actual = new String[1];
      s.await(() -> s.repository(null, true).compose(r -> {
        CodecChain codecs = CodecChain.from(s.config.compression(), s.config.encryption());
        String key = "self-test/object" + codecs.suffix();
        return ObjectTransfers.upload(r, codecs, key, key, "self-test", "bytes", "self-test", null, out -> out.write(data))
            .compose((Manifest.ObjectEntry entry) -> ObjectTransfers.download(r, codecs, key, entry, true, "self-test", null, in -> {
              MessageDigest md = MessageDigest.getInstance("SHA-256");
              in.transferTo(new java.security.DigestOutputStream(OutputStream.nullOutputStream(), md));
              actual[0] = HexFormat.of().formatHex(md.digest());
            }))
            .compose(v -> r.listBackups("self-test"))
            .eventually(r::close);
      }));
      if (!expected.equals(actual[0])) {
        throw new FlotillaException(ErrorCode.INTEGRITY, "self-test: the object read back differs from the one written");
      }
      out().println("self-test passed: zstd + OpenPGP round trip through a file repository");
      return 0;
    } finally {
      try (var walk = Files.walk(dir)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
