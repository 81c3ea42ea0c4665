package io.flotilla.agent.retention;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.wal.WalFile;
import org.junit.jupiter.api.Test;

/** Which repository objects expire treats as WAL files. */
class ExpiryTest {
  @Test
  void shouldReadWalFileNameWhateverTheCodecSuffix() {
    assertThat(Expiry.walFile("hosts/db1/wal/00000001/000000010000000000000003.zst.gpg")).map(WalFile::name).contains("000000010000000000000003");
    assertThat(Expiry.walFile("hosts/db1/wal/00000001/000000010000000000000003.gz")).map(WalFile::name).contains("000000010000000000000003");
    assertThat(Expiry.walFile("hosts/db1/wal/00000001/000000010000000000000003")).map(WalFile::name).contains("000000010000000000000003");
    assertThat(Expiry.walFile("hosts/db1/wal/00000002/00000002.history.zst.gpg")).map(WalFile::kind).contains(WalFile.Kind.HISTORY);
    assertThat(Expiry.walFile("hosts/db1/wal/00000001/000000010000000000000003.00000028.backup.zst.gpg")).map(WalFile::kind)
        .contains(WalFile.Kind.BACKUP_HISTORY);
  }

  @Test
  void shouldLeaveUnknownObjectsAlone() {
    assertThat(Expiry.walFile("hosts/db1/wal/00000001/.flotilla-tmp-000000010000000000000006.zst.gpg-1234")).isEmpty();
    assertThat(Expiry.walFile("hosts/db1/wal/00000001/notes.txt")).isEmpty();
  }
}
