package io.svcproxy.proxy.dataplane;

import io.netty.channel.Channel;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The live state of one Service port: its desired spec, the endpoint set the data plane picks from, its open
 * connections and its byte and refusal counters. The reconciler swaps the spec and the endpoint set; the data
 * plane reads each with one volatile read per connection and never waits on the control plane.
 */
public final class ServicePort {
    private final ServiceKey key;
    private volatile ServicePortSpec spec;
    private volatile BackendSet backendSet;
    private final Set<Channel> connections = ConcurrentHashMap.newKeySet();
    private final LongAdder bytesToEndpoint = new LongAdder();
    private final LongAdder bytesToClient = new LongAdder();
    private final LongAdder noEndpoint = new LongAdder();

    public ServicePort(ServicePortSpec spec, BackendSet backendSet) {
        this.key = spec.key();
        this.spec = spec;
        this.backendSet = backendSet;
    }

    /** Returns the clusterIP, port and protocol this Service port listens on. */
    public ServiceKey key() {
        return key;
    }

    /** Returns the desired state in force. */
    public ServicePortSpec spec() {
        return spec;
    }

    /** Returns the endpoint set in force. */
    public BackendSet backendSet() {
        return backendSet;
    }

    /** Swaps in a new spec and endpoint set; called by the reconciler only. */
    public void update(ServicePortSpec spec, BackendSet backendSet) {
        this.spec = spec;
        this.backendSet = backendSet;
    }

    /** Returns {@code namespace/name}, the {@code service} label of the metrics. */
    public String serviceLabel() {
        return spec.service().qualifiedName();
    }

    /** Returns the Service port's name, or its number when it has none: the {@code port} label of the metrics. */
    public String portLabel() {
        return spec.port().label();
    }

    /** Returns the client channels of the connections open on this Service port. */
    public Set<Channel> connections() {
        return connections;
    }

    /**
     * Closes the open connections served by the endpoint {@code ip:port} (a drain that outlived
     * {@code drainTimeout}).
     *
     * @return how many were closed
     */
    public int closeConnectionsTo(String endpoint) {
        int closed = 0;
        for (Channel channel : connections) {
            io.svcproxy.balancer.BackendState backend = channel.attr(FrontendHandler.BACKEND).get();
            if (backend != null && backend.endpoint().equals(endpoint)) {
                channel.close();
                closed++;
            }
        }
        return closed;
    }

    /** Closes every open connection of this Service port; returns how many. */
    public int closeConnections() {
        int closed = connections.size();
        connections.forEach(Channel::close);
        return closed;
    }

    /** Returns the bytes relayed from clients to endpoints. */
    public long bytesToEndpoint() {
        return bytesToEndpoint.sum();
    }

    /** Returns the bytes relayed from endpoints to clients. */
    public long bytesToClient() {
        return bytesToClient.sum();
    }

    /** Returns the client connections closed because no endpoint was usable. */
    public long noEndpointCount() {
        return noEndpoint.sum();
    }

    void addBytesToEndpoint(long n) {
        bytesToEndpoint.add(n);
    }

    void addBytesToClient(long n) {
        bytesToClient.add(n);
    }

    void countNoEndpoint() {
        noEndpoint.increment();
    }

    @Override
    public String toString() {
        return serviceLabel() + " " + key;
    }
}
