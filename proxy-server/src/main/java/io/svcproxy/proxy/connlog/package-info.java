/**
 * The connection log ({@code proxy.connectionLog}): one JSON line per ended TCP connection or UDP flow, the trace
 * {@code svcproxy simulate} replays, and each Service port's ring of its last ended connections (the "what if"
 * card). The data plane hands entries over without blocking (a bounded queue, drops counted; a lock-free ring);
 * one writer thread of its own formats and writes them. Depends on nothing else of svcproxy.
 */
package io.svcproxy.proxy.connlog;
