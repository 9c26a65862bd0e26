/**
 * The realisation: one listener per Service port, and for each accepted connection a pick, a connect with
 * retries and a relay with backpressure. Runs on Netty event loops; a connection and its endpoint connection
 * share one loop, so per-connection state is plain. Reads the control plane's state with one volatile read per
 * connection. Depends on {@code balancer}, {@code config} and the {@code metrics} interface.
 */
package io.svcproxy.proxy.dataplane;
