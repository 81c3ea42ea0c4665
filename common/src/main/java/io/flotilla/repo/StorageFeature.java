package io.flotilla.repo;

/** What a storage backend can do, so callers ask for a capability rather than a type. */
public enum StorageFeature {
  /** Objects can be opened as local files (a restore can hand the path to a tool directly). */
  LOCAL_PATH,
  /** Interrupted uploads leave server-side state that {@link Storage#cleanupIncomplete} removes. */
  MULTIPART_UPLOADS
}
