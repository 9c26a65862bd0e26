package io.svcproxy.config;

/** A Service's {@code externalTrafficPolicy}: which endpoints serve node, external and LoadBalancer addresses. */
public enum TrafficPolicy {
    /** Every endpoint (default). */
    CLUSTER,
    /** Only endpoints on this node ({@code nodeName} equal to {@code proxy.nodeName}). */
    LOCAL
}
