package io.flotilla.config;

import java.nio.file.Path;
import java.util.List;

/**
 * A directory the agent backs up as a tar archive ({@code volumes:} in the host config).
 *
 * @param name names the archive in the repository ({@code volumes/<name>.tar...}); letters, digits,
 *     '.', '_' or '-', unique per host
 * @param path the absolute directory; it must exist when a backup runs
 * @param exclude glob patterns of paths left out. A pattern without '/' matches a file or directory
 *     name at any depth ({@code *.tmp}, {@code cache}); one with '/' matches the path relative to
 *     {@code path} ({@code logs/*.gz}). An excluded directory is left out with all it holds.
 */
public record VolumeConfig(String name, Path path, List<String> exclude) {}
