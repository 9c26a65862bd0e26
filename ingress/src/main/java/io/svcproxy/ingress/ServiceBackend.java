package io.svcproxy.ingress;

import java.util.Objects;

/**
 * An Ingress backend: a Service port by number or by name ({@code port.number} or {@code port.name}).
 *
 * @param portNumber the port number, or 0 when named
 * @param portName   the port name, or {@code null} when numbered
 */
public record ServiceBackend(String namespace, String name, int portNumber, String portName) {
    public ServiceBackend {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        if ((portNumber == 0) == (portName == null)) {
            throw new IllegalArgumentException("port: number=" + portNumber + " name=" + portName
                    + " (expected: exactly one of number 1-65535 or name)");
        }
    }

    /** {@code namespace/name}, the {@code service} label of the metrics. */
    public String service() {
        return namespace + "/" + name;
    }

    @Override
    public String toString() {
        return service() + ":" + (portName != null ? portName : Integer.toString(portNumber));
    }
}
