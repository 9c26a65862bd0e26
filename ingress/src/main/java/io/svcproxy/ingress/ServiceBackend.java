package io.svcproxy.ingress;

import java.util.Objects;

/**
 * An Ingress backend: a Service port by number or by name ({@code port.number} or {@code port.name}). A value
 * (equal by its four fields, as a record) that keeps its {@link #service()} string: the Ingress looks its
 * Service up by it on every request, which with a record built and hashed a new string each time.
 */
public final class ServiceBackend {
    private final String namespace;
    private final String name;
    private final int portNumber;
    private final String portName;
    private final String service;

    /**
     * @param portNumber the port number, or 0 when named
     * @param portName   the port name, or {@code null} when numbered
     */
    public ServiceBackend(String namespace, String name, int portNumber, String portName) {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        if ((portNumber == 0) == (portName == null)) {
            throw new IllegalArgumentException("port: number=" + portNumber + " name=" + portName
                    + " (expected: exactly one of number 1-65535 or name)");
        }
        this.namespace = namespace;
        this.name = name;
        this.portNumber = portNumber;
        this.portName = portName;
        this.service = namespace + "/" + name;
    }

    public String namespace() {
        return namespace;
    }

    public String name() {
        return name;
    }

    /** The port number, or 0 when named. */
    public int portNumber() {
        return portNumber;
    }

    /** The port name, or {@code null} when numbered. */
    public String portName() {
        return portName;
    }

    /** {@code namespace/name}, the {@code service} label of the metrics; the same string each time. */
    public String service() {
        return service;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ServiceBackend b && portNumber == b.portNumber && namespace.equals(b.namespace)
                && name.equals(b.name) && Objects.equals(portName, b.portName);
    }

    @Override
    public int hashCode() {
        return Objects.hash(namespace, name, portNumber, portName);
    }

    @Override
    public String toString() {
        return service + ":" + (portName != null ? portName : Integer.toString(portNumber));
    }
}
