package io.svcproxy.config;

/** A Service's {@code type} (ExternalName is ignored where it is read, as kube-proxy ignores it). */
public enum ServiceType {
    /** Only the clusterIP (and externalIPs). */
    CLUSTER_IP("ClusterIP"),
    /** Also every {@code proxy.nodeAddresses} address at the port's {@code nodePort}. */
    NODE_PORT("NodePort"),
    /** A NodePort Service that is also served on its LoadBalancer ingress IPs. */
    LOAD_BALANCER("LoadBalancer");

    private final String yaml;

    ServiceType(String yaml) {
        this.yaml = yaml;
    }

    /** Returns the name written in YAML and in the Kubernetes API. */
    public String yamlName() {
        return yaml;
    }

    /** Returns whether ports of this type listen on the node addresses at their nodePort. */
    public boolean hasNodePorts() {
        return this != CLUSTER_IP;
    }

    /** Returns the type with this API name, or {@code null}. */
    public static ServiceType of(String name) {
        for (ServiceType t : values()) {
            if (t.yaml.equals(name)) {
                return t;
            }
        }
        return null;
    }
}
