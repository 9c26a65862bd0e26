package io.svcproxy.proxy.metrics;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.PortSpec;
import io.svcproxy.config.Protocol;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServiceSpec;
import io.svcproxy.config.TargetPort;
import io.svcproxy.proxy.dataplane.ServicePort;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Builds Service ports by hand for the metrics and admin tests, without a config file or a reconciler. */
public final class ServicePortFixtures {
    private ServicePortFixtures() {
    }

    /** Returns the address of a literal IP. */
    public static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }

    /** Returns a ready endpoint {@code ip:port} with fresh counters. */
    public static BackendState backend(String ip, int port, int weight) {
        return BackendState.of(ip(ip), port, weight);
    }

    /**
     * Returns a Service port {@code namespace/name} on {@code clusterIP:port} (named {@code portName}, empty
     * for none) with the scheduler and backends given, whose spec lists the backends as ready endpoints plus
     * {@code notReady} as not-ready ones.
     */
    public static ServicePort servicePort(String namespace, String name, String clusterIP, int port, String portName,
                                          String scheduler, List<BackendState> backends,
                                          List<EndpointTarget> notReady) {
        return servicePort(namespace, name, clusterIP, port, portName, Protocol.TCP, scheduler, backends, notReady);
    }

    /** Returns a Service port as {@link #servicePort(String, String, String, int, String, String, List, List)} of
     * {@code protocol}. */
    public static ServicePort servicePort(String namespace, String name, String clusterIP, int port, String portName,
                                          Protocol protocol, String scheduler, List<BackendState> backends,
                                          List<EndpointTarget> notReady) {
        PortSpec portSpec = new PortSpec(portName, protocol, port, TargetPort.of(8080));
        ServiceSpec service = new ServiceSpec(name, namespace, ip(clusterIP), Map.of("app", name), scheduler,
                Set.of(), SessionAffinity.NONE, List.of(portSpec), List.of());
        return new ServicePort(spec(service, portSpec, backends, notReady), set(scheduler, backends));
    }

    /** Returns {@code port}'s spec with another endpoint list. */
    public static ServicePortSpec respec(ServicePort port, List<BackendState> backends,
                                         List<EndpointTarget> notReady) {
        return spec(port.spec().service(), port.spec().port(), backends, notReady);
    }

    /** Returns an endpoint set of {@code backends} with no affinity. */
    public static BackendSet set(String scheduler, List<BackendState> backends) {
        return BackendSet.of(scheduler, Set.of(), SessionAffinity.NONE, backends, System::nanoTime);
    }

    /** Returns a not-ready endpoint. */
    public static EndpointTarget notReady(String ip, int port) {
        return new EndpointTarget(ip(ip), port, 1, false, false, false);
    }

    private static ServicePortSpec spec(ServiceSpec service, PortSpec portSpec, List<BackendState> backends,
                                        List<EndpointTarget> notReady) {
        List<EndpointTarget> targets = new ArrayList<>();
        for (BackendState b : backends) {
            if (b.state() == BackendState.State.READY) {
                targets.add(EndpointTarget.ready(b.address(), b.port(), b.weight()));
            }
        }
        targets.addAll(notReady);
        ServiceKey key = new ServiceKey(service.clusterIP(), portSpec.port(), portSpec.protocol());
        return new ServicePortSpec(key, service, portSpec, targets);
    }
}
