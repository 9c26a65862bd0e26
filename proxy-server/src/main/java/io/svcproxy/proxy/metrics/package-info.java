/**
 * Metrics: the {@link io.svcproxy.proxy.metrics.ProxyMetrics} events that core code reports (no-op by default)
 * and {@link io.svcproxy.proxy.metrics.MicrometerProxyMetrics}, which turns them and the data plane's live
 * counters into the Prometheus meters of SPEC.md. Events arrive on the control-plane thread (Service ports
 * added, changed, removed; reloads) and on event loops (connects, the Ingress's answered requests); scrapes run on the admin thread. Depends
 * on {@code balancer}, {@code config}, {@code dataplane} and Micrometer; nothing depends on it but the wiring.
 */
package io.svcproxy.proxy.metrics;
