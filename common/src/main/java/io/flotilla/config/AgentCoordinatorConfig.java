package io.flotilla.config;

import java.net.URI;
import java.nio.file.Path;

/**
 * How the agent daemon reaches the coordinator.
 *
 * @param url the WebSocket URL of any coordinator member, {@code ws://host:port/api/v1/agents/connect}
 * @param tokenFile file holding the agent's API token (never logged)
 * @param heartbeatSeconds seconds between heartbeats
 */
public record AgentCoordinatorConfig(URI url, Path tokenFile, int heartbeatSeconds) {}
