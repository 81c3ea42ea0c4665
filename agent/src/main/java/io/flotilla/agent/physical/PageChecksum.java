package io.flotilla.agent.physical;

/**
 * PostgreSQL's data page checksum (storage/checksum_impl.h): 32 parallel FNV-1a-style sums over
 * the 8 KiB page read as little-endian 32-bit words with pd_checksum taken as zero, two mixing
 * rounds of zeros, XOR-folded, mixed with the block number and reduced to 1..65535.
 */
final class PageChecksum {
  static final int BLOCK_SIZE = 8192;
  /** Blocks per 1 GiB relation segment file. */
  static final long RELSEG_BLOCKS = 131072;
  private static final int N_SUMS = 32;
  private static final int FNV_PRIME = 16777619;
  private static final int[] BASE = {
      0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
      0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
      0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
      0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756};

  private PageChecksum() {}

  private static int comp(int checksum, int value) {
    int tmp = checksum ^ value;
    return tmp * FNV_PRIME ^ (tmp >>> 17);
  }

  private static int word(byte[] page, int offset, int index) {
    int o = offset + index * 4;
    int w = (page[o] & 0xff) | (page[o + 1] & 0xff) << 8 | (page[o + 2] & 0xff) << 16 | (page[o + 3] & 0xff) << 24;
    if (index == 2) {
      w &= 0xffff0000; // pd_checksum (bytes 8-9) counts as zero
    }
    return w;
  }

  /** The checksum PostgreSQL would store for the page at {@code offset} as block {@code blockNumber}. */
  static int compute(byte[] page, int offset, long blockNumber) {
    int[] sums = BASE.clone();
    int rows = BLOCK_SIZE / (4 * N_SUMS);
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < N_SUMS; j++) {
        sums[j] = comp(sums[j], word(page, offset, i * N_SUMS + j));
      }
    }
    for (int i = 0; i < 2; i++) {
      for (int j = 0; j < N_SUMS; j++) {
        sums[j] = comp(sums[j], 0);
      }
    }
    int result = 0;
    for (int s : sums) {
      result ^= s;
    }
    result ^= (int) blockNumber;
    return (int) (Integer.toUnsignedLong(result) % 65535) + 1;
  }

  static int stored(byte[] page, int offset) {
    return (page[offset + 8] & 0xff) | (page[offset + 9] & 0xff) << 8;
  }

  /** pd_upper == 0: a new, never-initialised page, which carries no checksum. */
  static boolean isNew(byte[] page, int offset) {
    return ((page[offset + 14] & 0xff) | (page[offset + 15] & 0xff) << 8) == 0;
  }

  static long pageLsn(byte[] page, int offset) {
    long hi = (page[offset] & 0xffL) | (page[offset + 1] & 0xffL) << 8 | (page[offset + 2] & 0xffL) << 16 | (page[offset + 3] & 0xffL) << 24;
    long lo = (page[offset + 4] & 0xffL) | (page[offset + 5] & 0xffL) << 8 | (page[offset + 6] & 0xffL) << 16 | (page[offset + 7] & 0xffL) << 24;
    return hi << 32 | lo;
  }
}
