package io.svcproxy.config;

/**
 * One port of a Service.
 *
 * @param name the port name; empty when the Service has a single unnamed port
 * @param protocol TCP (UDP and SCTP are rejected by validation)
 * @param port the port on the clusterIP
 * @param targetPort the Pod port, a number or a name (default: {@code port})
 */
public record PortSpec(String name, Protocol protocol, int port, TargetPort targetPort) {
    /** Returns the label of this port in metrics: its name, or its number when it has none. */
    public String label() {
        return name.isEmpty() ? Integer.toString(port) : name;
    }
}
