/**
 * Ingress routing: the rules of all Ingresses of the class, compiled per reload into an immutable
 * {@link io.svcproxy.ingress.routing.RoutingTable} that a request reads with one volatile read through
 * {@link io.svcproxy.ingress.routing.Router}. Pure Java: no Netty, YAML or I/O; the backend is a type parameter,
 * so the table knows nothing of Services. Matching is safe from any event loop at once.
 */
package io.svcproxy.ingress.routing;
