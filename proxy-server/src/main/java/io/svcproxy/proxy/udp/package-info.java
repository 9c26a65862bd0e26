/**
 * The UDP data plane, a sibling of {@code proxy.dataplane}'s TCP relay: one datagram listener per UDP Service port,
 * a flow per client address and port, one connected socket per flow toward its endpoint. Fed by the same
 * reconciler, endpoint sets, schedulers and metrics seams as TCP. Each listener's flows live on its event loop,
 * which runs every method here except where a javadoc says otherwise.
 */
package io.svcproxy.proxy.udp;
