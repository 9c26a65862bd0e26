package io.svcproxy.proxy.simulate;

import java.net.InetAddress;

/**
 * One connection read from a trace.
 *
 * @param start start in nanoseconds since the epoch (or the trace's zero)
 * @param client the client's address
 * @param clientPort the client's port
 * @param duration nanoseconds
 * @param service {@code ns/name}, or {@code null} when the trace has no such column
 * @param port the port's name or number, or {@code null}
 * @param line the line in the file
 */
record TraceRow(long start, InetAddress client, int clientPort, long duration, String service, String port,
                long line) {
}
