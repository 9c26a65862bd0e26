/**
 * The connection log ({@code proxy.connectionLog}): one JSON line per ended TCP connection or UDP flow, the trace
 * {@code svcproxy simulate} replays, and each Service port's ring of its last ended connections (the "what if"
 * card, which replays its open ones too, as {@link io.svcproxy.proxy.connlog.OpenConnection}s). The data plane hands entries of references and numbers over without blocking (a bounded lock-free queue,
 * drops counted; a lock-free ring); one writer thread of its own formats them into bytes and writes them in large
 * writes. Depends on nothing else of svcproxy (Netty only for its MPSC queue).
 */
package io.svcproxy.proxy.connlog;
