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
     * port ({@link Backends#compareAddresses}); a second endpoint with the same address and port (two Pods of one
     * address, as EndpointSlices may list one twice; explicit endpoints written twice are a config error) is dropped.
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
            if (!selects(service, pod)) {
                continue;
            }
            int target = targetOf(port, pod);
            if (target == 0) {
                continue;
            }
            endpoints.add(pod.ready() ? EndpointTarget.ready(pod.ip(), target, pod.weight(), pod.nodeName())
                    : new EndpointTarget(pod.ip(), target, pod.weight(), false, false, false, pod.nodeName()));
        }
        return endpoints;
    }

    /** Whether {@code service}'s selector (not empty) picks {@code pod}: same namespace, every pair in its labels. */
    static boolean selects(ServiceSpec service, PodSpec pod) {
        Map<String, String> selector = service.selector();
        return selector != null && !selector.isEmpty() && pod.namespace().equals(service.namespace())
                && pod.labels().entrySet().containsAll(selector.entrySet());
    }

    /** The port of {@code pod} that {@code port} targets: its number, or the Pod's port of that name; 0: none. */
    static int targetOf(PortSpec port, PodSpec pod) {
        if (port.targetPort() != null && port.targetPort().isNamed()) {
            Integer named = pod.port(port.targetPort().name(), port.protocol());
            return named == null ? 0 : named;
        }
        return targetPort(port);
    }

    /** The port of the explicit endpoint {@code e} for {@code port}: its own, by the port's name, or the target. */
    static int targetOf(PortSpec port, EndpointSpec e) {
        if (e.port() != 0) {
            return e.port();
        }
        Integer byName = e.ports().get(port.name());
        return byName != null ? byName : targetPort(port);
    }

    private static List<EndpointTarget> fromEndpoints(ServiceSpec service, PortSpec port) {
        List<EndpointTarget> endpoints = new ArrayList<>();
        for (EndpointSpec e : service.endpoints()) {
            int target = targetOf(port, e);
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
