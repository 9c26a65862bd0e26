package io.svcproxy.proxy.dataplane;

import java.util.Locale;

/** Which of a Service port's addresses a connection came in on. */
public enum AddressKind {
    /** The clusterIP at the Service port. */
    CLUSTER,
    /** A {@code proxy.nodeAddresses} address at the port's nodePort. */
    NODE,
    /** One of the Service's {@code externalIPs} at the Service port. */
    EXTERNAL,
    /** A LoadBalancer ingress IP at the Service port (source ranges apply). */
    LB;

    /** Returns the label, as {@code lb}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
