package io.svcproxy.proxy.dataplane;

import io.svcproxy.config.ServiceExposure;
import io.svcproxy.config.TrafficPolicy;
import java.net.InetAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the address a client came in on allows, the same for a TCP connection and a UDP flow: on a LoadBalancer IP
 * only clients inside {@code loadBalancerSourceRanges}; on node, external and LoadBalancer addresses of an {@code
 * externalTrafficPolicy: Local} Service only this node's endpoints (none: refused). The clusterIP admits every
 * client to every endpoint.
 */
public final class AddressRules {
    private static final Logger log = LoggerFactory.getLogger(AddressRules.class);

    /**
     * The outcome for one client.
     *
     * @param rejection why the client is refused, or {@code null} when admitted
     * @param eligible the endpoints the pick may take (Local policy), or {@code null} for every endpoint
     */
    public record Decision(Rejection rejection, LocalEndpoints eligible) {
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
        if (kind == AddressKind.CLUSTER) {
            return Decision.EVERY_ENDPOINT;
        }
        ServiceExposure exposure = port.spec().service().exposure();
        if (kind == AddressKind.LB && (client == null || !exposure.admitsOnLoadBalancer(client))) {
            return refuse(port, client, Rejection.SOURCE_RANGE);
        }
        if (exposure.externalTrafficPolicy() != TrafficPolicy.LOCAL) {
            return Decision.EVERY_ENDPOINT;
        }
        LocalEndpoints local = port.localEndpoints(settings.node().nodeName());
        if (local.isEmpty()) {
            return refuse(port, client, Rejection.NO_LOCAL_ENDPOINT);
        }
        return new Decision(null, local);
    }

    private static Decision refuse(ServicePort port, InetAddress client, Rejection reason) {
        port.countRejected(reason);
        log.debug("Refused service={} port={} client={} reason={}", port.serviceLabel(), port.portLabel(), client,
                reason.label());
        return new Decision(reason, null);
    }
}
