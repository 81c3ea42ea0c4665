package io.flotilla.repo;

/** An object in a storage: its key and size in bytes. */
public record StoredObject(String key, long size) {}
