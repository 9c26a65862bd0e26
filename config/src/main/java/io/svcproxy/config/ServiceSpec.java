package io.svcproxy.config;

import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.SessionAffinity;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One Service.
 *
 * @param name a DNS-1035 label
 * @param namespace {@code default} unless set
 * @param clusterIP the virtual IP svcproxy binds
 * @param selector the labels a Pod must carry to be an endpoint; {@code null} for a Service with explicit
 *     endpoints
 * @param scheduler the IPVS scheduler (the proxy default when the Service names none)
 * @param schedulerFlags its flags
 * @param sessionAffinity None or ClientIP with its timeout
 * @param ports the ports, at least one
 * @param endpoints the explicit endpoints; empty for a Service with selector
 * @param maxConnections client connections open at once on each port of the Service; 0 for no limit (default)
 * @param maxConnectionsPerClient connections open at once from one client address on each port; 0 for no limit
 * @param healthCheck active TCP health checks of the endpoints; {@code null} for none (default)
 * @param exposure the type, external and LoadBalancer addresses, source ranges and traffic policy
 */
public record ServiceSpec(String name, String namespace, InetAddress clusterIP, Map<String, String> selector,
                          String scheduler, Set<SchedulerFlag> schedulerFlags, SessionAffinity sessionAffinity,
                          List<PortSpec> ports, List<EndpointSpec> endpoints, int maxConnections,
                          int maxConnectionsPerClient, HealthCheckSpec healthCheck, ServiceExposure exposure) {
    public ServiceSpec {
        selector = selector == null ? null : Map.copyOf(selector);
        schedulerFlags = Set.copyOf(schedulerFlags);
        ports = List.copyOf(ports);
        endpoints = List.copyOf(endpoints);
        java.util.Objects.requireNonNull(exposure, "exposure");
    }

    /** Returns a ClusterIP Service. */
    public ServiceSpec(String name, String namespace, InetAddress clusterIP, Map<String, String> selector,
                       String scheduler, Set<SchedulerFlag> schedulerFlags, SessionAffinity sessionAffinity,
                       List<PortSpec> ports, List<EndpointSpec> endpoints, int maxConnections,
                       int maxConnectionsPerClient, HealthCheckSpec healthCheck) {
        this(name, namespace, clusterIP, selector, scheduler, schedulerFlags, sessionAffinity, ports, endpoints,
                maxConnections, maxConnectionsPerClient, healthCheck, ServiceExposure.clusterIP());
    }

    /** Returns a Service without connection limits or health checks. */
    public ServiceSpec(String name, String namespace, InetAddress clusterIP, Map<String, String> selector,
                       String scheduler, Set<SchedulerFlag> schedulerFlags, SessionAffinity sessionAffinity,
                       List<PortSpec> ports, List<EndpointSpec> endpoints) {
        this(name, namespace, clusterIP, selector, scheduler, schedulerFlags, sessionAffinity, ports, endpoints, 0, 0,
                null);
    }

    /** Returns this Service with {@code scheduler}, every other field kept. */
    public ServiceSpec withScheduler(String scheduler) {
        return new ServiceSpec(name, namespace, clusterIP, selector, scheduler, schedulerFlags, sessionAffinity, ports,
                endpoints, maxConnections, maxConnectionsPerClient, healthCheck, exposure);
    }

    /** Returns {@code namespace/name}, the {@code service} label of the metrics. */
    public String qualifiedName() {
        return namespace + "/" + name;
    }

    /**
     * Returns the addresses its ports listen on besides the clusterIP: its externalIPs and LoadBalancer IPs, each
     * once, in that order (none without an exposure).
     */
    public java.util.Set<java.net.InetAddress> extraAddresses() {
        java.util.Set<java.net.InetAddress> extra = new java.util.LinkedHashSet<>();
        if (exposure != null) {
            extra.addAll(exposure.externalIPs());
            extra.addAll(exposure.loadBalancerIPs());
        }
        extra.remove(clusterIP);
        return extra;
    }
}
