package io.svcproxy.proxy.connlog;

import java.net.InetAddress;

/**
 * A connection of a Service port given an endpoint and still open: the "what if" card replays it as holding its
 * endpoint from its start on, as the proxy's counts hold it (it has no end nor bytes yet, so no log line).
 *
 * @param startEpochNanos when the client connected, on the clock of {@link ConnectionLog.Entry#startEpochNanos}
 * @param clientAddress the client's address
 * @param clientPort the client's port
 */
public record OpenConnection(long startEpochNanos, InetAddress clientAddress, int clientPort) {
}
