package io.svcproxy.config;

/**
 * One port of a Service.
 *
 * @param name the port name; empty when the Service has a single unnamed port
 * @param protocol TCP or UDP (SCTP is rejected by validation)
 * @param port the port on the clusterIP
 * @param targetPort the Pod port, a number or a name (default: {@code port})
 * @param udpIdleTimeout UDP: this port's flow idle timeout, overriding {@code proxy.udpIdleTimeout}; {@code null}
 *     when not set (always for TCP)
 * @param udpResponses UDP: a flow ends once its endpoint sent this many datagrams (DNS: 1); 0 when not set
 * @param proxyProtocol the PROXY protocol header sent to endpoints before the first byte, or {@code null} for none
 * @param nodePort NodePort and LoadBalancer Services: the port on each node address; 0 for none
 */
public record PortSpec(String name, Protocol protocol, int port, TargetPort targetPort, java.time.Duration udpIdleTimeout,
                       int udpResponses, ProxyProtocol proxyProtocol, int nodePort) {
    /** Returns a port without nodePort. */
    public PortSpec(String name, Protocol protocol, int port, TargetPort targetPort, java.time.Duration udpIdleTimeout,
                    int udpResponses, ProxyProtocol proxyProtocol) {
        this(name, protocol, port, targetPort, udpIdleTimeout, udpResponses, proxyProtocol, 0);
    }

    /** Returns a port without UDP settings and without PROXY protocol. */
    public PortSpec(String name, Protocol protocol, int port, TargetPort targetPort) {
        this(name, protocol, port, targetPort, null, 0, null);
    }

    /** Returns a port without PROXY protocol. */
    public PortSpec(String name, Protocol protocol, int port, TargetPort targetPort, java.time.Duration udpIdleTimeout,
                    int udpResponses) {
        this(name, protocol, port, targetPort, udpIdleTimeout, udpResponses, null);
    }

    /** Returns the label of this port in metrics: its name, or its number when it has none. */
    public String label() {
        return name.isEmpty() ? Integer.toString(port) : name;
    }
}
