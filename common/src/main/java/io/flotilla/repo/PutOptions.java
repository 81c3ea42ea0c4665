package io.flotilla.repo;

/**
 * Hints for one write that a backend may use and others ignore. Today: the label of the backup the
 * object belongs to (daily, monthly, ...), from which an S3 repository picks the storage class its
 * config names for that label; null for objects outside a backup (WAL, descriptors, records).
 *
 * @param label the backup's label, or null
 */
public record PutOptions(String label) {
  public static final PutOptions NONE = new PutOptions(null);

  public static PutOptions label(String label) {
    return new PutOptions(label);
  }
}
