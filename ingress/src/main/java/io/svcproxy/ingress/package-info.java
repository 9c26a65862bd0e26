/**
 * Ingress: HTTP routing by host and path to Services. Sits beside the L4 data plane: it reads the desired routing
 * rules ({@code io.svcproxy.ingress.routing}) and each Service port's live {@code BackendSet} through
 * {@link io.svcproxy.ingress.BackendLookup}, which proxy-server implements. Depends on balancer and Netty only.
 */
package io.svcproxy.ingress;
