package io.svcproxy.config;

import io.svcproxy.balancer.Backends;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Resolves a config's Services and Pods into the endpoint list of every Service port. */
public final class ServicePorts {
    private static final Comparator<EndpointTarget> ORDER = Comparator
            .comparing(EndpointTarget::ip, Backends::compareAddresses)
            .thenComparingInt(EndpointTarget::port);

    private ServicePorts() {
    }

    /**
     * Returns one entry per Service port, in file order of Services then ports. A selector matches the Pods of
     * the Service's namespace whose labels contain all its pairs; a Pod that is not ready is a not-ready endpoint
     * (listed and counted as such, never picked: neither serving nor terminating); a named
     * targetPort resolves through the Pod's named container ports (a Pod without that name is left out, as
     * Kubernetes does); an explicit endpoint takes its {@code port}, its {@code ports[portName]}, or the numeric
     * targetPort (and is left out when it has none of them).
     *
     * <p>A Service with an empty selector selects no Pod: Kubernetes drops an empty selector, which makes the
     * Service one without selector, whose endpoints are managed by hand. Endpoints are sorted by IP address then
     * port ({@link Backends#compareAddresses}); a second endpoint with the same address and port is dropped.
     * Every other endpoint is ready: termination comes with the Kubernetes source.
     */
    public static List<ServicePortSpec> resolve(ProxyConfig config) {
        List<ServicePortSpec> out = new ArrayList<>();
        for (ServiceSpec service : config.services()) {
            for (PortSpec port : service.ports()) {
                List<EndpointTarget> endpoints = service.selector() != null
                        ? fromPods(service, port, config.pods())
                        : fromEndpoints(service, port);
                out.add(new ServicePortSpec(new ServiceKey(service.clusterIP(), port.port(), port.protocol()),
                        service, port, sortedUnique(endpoints)));
            }
        }
        return out;
    }

    private static List<EndpointTarget> fromPods(ServiceSpec service, PortSpec port, List<PodSpec> pods) {
        List<EndpointTarget> endpoints = new ArrayList<>();
        Map<String, String> selector = service.selector();
        if (selector.isEmpty()) {
            return endpoints;
        }
        for (PodSpec pod : pods) {
            if (!pod.namespace().equals(service.namespace())
                    || !pod.labels().entrySet().containsAll(selector.entrySet())) {
                continue;
            }
            int target = targetPort(port);
            if (port.targetPort() != null && port.targetPort().isNamed()) {
                Integer named = pod.port(port.targetPort().name(), port.protocol());
                if (named == null) {
                    continue;
                }
                target = named;
            }
            endpoints.add(pod.ready() ? EndpointTarget.ready(pod.ip(), target, pod.weight(), pod.nodeName())
                    : new EndpointTarget(pod.ip(), target, pod.weight(), false, false, false, pod.nodeName()));
        }
        return endpoints;
    }

    private static List<EndpointTarget> fromEndpoints(ServiceSpec service, PortSpec port) {
        List<EndpointTarget> endpoints = new ArrayList<>();
        for (EndpointSpec e : service.endpoints()) {
            int target = e.port();
            if (target == 0) {
                Integer byName = e.ports().get(port.name());
                target = byName != null ? byName : targetPort(port);
            }
            if (target > 0) {
                endpoints.add(EndpointTarget.ready(e.ip(), target, e.weight(), e.nodeName()));
            }
        }
        return endpoints;
    }

    /** Returns the numeric target port, or 0 when it is named. */
    private static int targetPort(PortSpec port) {
        TargetPort t = port.targetPort();
        if (t == null) {
            return port.port();
        }
        return t.isNamed() ? 0 : t.number();
    }

    private static List<EndpointTarget> sortedUnique(List<EndpointTarget> endpoints) {
        endpoints.sort(ORDER); // stable: of two equal addresses the first written stays first
        List<EndpointTarget> out = new ArrayList<>(endpoints.size());
        Set<String> seen = new HashSet<>();
        for (EndpointTarget e : endpoints) {
            if (seen.add(Backends.format(e.ip(), e.port()))) {
                out.add(e);
            }
        }
        return out;
    }
}
