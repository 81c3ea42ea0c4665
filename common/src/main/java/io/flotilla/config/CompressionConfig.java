package io.flotilla.config;

/**
 * @param algorithm zstd, gzip or none
 * @param level codec level (zstd 1..19, gzip 1..9)
 * @param workers zstd worker threads (0 = single-threaded)
 */
public record CompressionConfig(String algorithm, int level, int workers) {}
