package io.svcproxy.proxy.dataplane;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ServiceExposure;
import io.svcproxy.config.TrafficPolicy;
import java.net.InetAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the address a client came in on allows, the same for a TCP connection and a UDP flow: on a LoadBalancer IP
 * only clients inside {@code loadBalancerSourceRanges}; then the traffic policy of the address, as kube-proxy
 * applies them: on node, external and LoadBalancer addresses {@code externalTrafficPolicy}, on the clusterIP
 * {@code internalTrafficPolicy}. Local: only this node's ready endpoints (none, or none that takes new connections:
 * refused, {@link #countNoEndpoint}); Cluster: every ready endpoint but those only a Local policy may use
 * ({@link EligibleEndpoints#cluster}, in force only when the Service's other traffic uses a Local policy that took
 * such an endpoint).
 */
public final class AddressRules {
    private static final Logger log = LoggerFactory.getLogger(AddressRules.class);

    /**
     * The outcome for one client.
     *
     * @param rejection why the client is refused, or {@code null} when admitted
     * @param eligible the endpoints the pick may take, or {@code null} for every endpoint
     */
    public record Decision(Rejection rejection, EligibleEndpoints eligible) {
        private static final Decision EVERY_ENDPOINT = new Decision(null, null);

        /** Returns whether the client is refused. */
        public boolean refused() {
            return rejection != null;
        }
    }

    private AddressRules() {
    }

    /**
     * Decides for a client of {@code port} that came in on an address of kind {@code kind}; a refusal is counted on
     * the Service port ({@code svcproxy_rejected_connections_total}) and logged at debug.
     */
    public static Decision decide(ServicePort port, AddressKind kind, InetAddress client, DataPlaneSettings settings) {
        ServiceExposure exposure = port.spec().service().exposure();
        TrafficPolicy policy;
        if (kind == AddressKind.CLUSTER) {
            policy = exposure.internalTrafficPolicy();
        } else {
            if (kind == AddressKind.LB && !exposure.admitsOnLoadBalancer(client, settings.node().nodeAddresses())) {
                return refuse(port, client, Rejection.SOURCE_RANGE);
            }
            policy = exposure.externalTrafficPolicy();
        }
        if (policy != TrafficPolicy.LOCAL) {
            EligibleEndpoints cluster = port.clusterEndpoints();
            return cluster == null ? Decision.EVERY_ENDPOINT : new Decision(null, cluster);
        }
        EligibleEndpoints local = port.localEndpoints(settings.node().nodeName());
        if (local.isEmpty()) {
            return refuse(port, client, Rejection.NO_LOCAL_ENDPOINT);
        }
        return new Decision(null, local);
    }

    /**
     * Counts a client for whom the pick in {@code set} under {@code eligible} (the decision's) found no endpoint:
     * refused as {@code no_local_endpoint} when it was held to this node's endpoints and none of them takes new
     * connections in {@code set} (each at weight 0: so configured, draining, ejected or failing its checks), which
     * SPEC counts as a Local policy with no endpoint, as {@link #decide} does when none is local; else as
     * {@code no_endpoint}. Called only once a first pick failed: admitted clients pay nothing for it (the filter
     * stays the spec's, so that dh, sh and mh keep their slots while a local endpoint is out of service).
     *
     * @return whether it was counted as {@code no_local_endpoint}
     */
    public static boolean countNoEndpoint(ServicePort port, BackendSet set, EligibleEndpoints eligible,
                                          InetAddress client) {
        if (eligible != null && eligible.nodeName() != null && !takesConnections(set, eligible)) {
            refuse(port, client, Rejection.NO_LOCAL_ENDPOINT);
            return true;
        }
        port.countNoEndpoint();
        return false;
    }

    private static boolean takesConnections(BackendSet set, EligibleEndpoints eligible) {
        for (BackendState b : set.backends()) {
            if (b.weight() > 0 && eligible.test(b)) {
                return true;
            }
        }
        return false;
    }

    private static Decision refuse(ServicePort port, InetAddress client, Rejection reason) {
        port.countRejected(reason);
        log.debug("Refused service={} port={} client={} reason={}", port.serviceLabel(), port.portLabel(), client,
                reason.label());
        return new Decision(reason, null);
    }
}
