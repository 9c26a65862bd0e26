/**
 * The admin HTTP server: health and readiness probes, the Prometheus scrape, the {@code /api/v1/services} and
 * {@code /api/v1/ingresses} JSON, the what-if replay of {@code /api/v1/simulate} and the stats page (static files from the jar that poll that JSON). The last stage of the arrow (config →
 * reconciler → data plane → metrics/admin): it only reads the {@code dataplane} ServiceTable and the metrics
 * registry (and the Ingress's rules and counts), never writes them. Runs on its own single Netty event loop; depends on {@code balancer},
 * {@code config}, {@code dataplane}, Netty, Micrometer and Jackson.
 */
package io.svcproxy.proxy.admin;
