package io.svcproxy.config;

import java.util.List;

/** Resolves a config's Services and Pods into the endpoint list of every Service port. */
public final class ServicePorts {
    private ServicePorts() {
    }

    /**
     * Returns one entry per Service port, in file order of Services then ports. A selector matches the Pods of
     * the Service's namespace whose labels contain all its pairs; a Pod that is not ready is left out; a named
     * targetPort resolves through the Pod's named container ports (a Pod without that name is left out, as
     * Kubernetes does); an explicit endpoint takes its {@code port}, its {@code ports[portName]}, or the numeric
     * targetPort.
     */
    public static List<ServicePortSpec> resolve(ProxyConfig config) {
        throw new UnsupportedOperationException("TODO: config helper implements this");
    }
}
