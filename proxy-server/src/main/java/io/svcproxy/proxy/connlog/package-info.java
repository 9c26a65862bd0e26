/**
 * The connection log ({@code proxy.connectionLog}): one JSON line per ended TCP connection or UDP flow, the trace
 * {@code svcproxy simulate} replays. The data plane hands entries over without blocking (a bounded queue, drops
 * counted); one writer thread of its own formats and writes them. Not yet wired to the config and the relay.
 */
package io.svcproxy.proxy.connlog;
