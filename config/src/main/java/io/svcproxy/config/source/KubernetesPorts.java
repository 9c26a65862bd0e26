package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.svcproxy.config.PortSpec;
import io.svcproxy.config.Protocol;
import io.svcproxy.config.TargetPort;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Kubernetes Service's {@code spec.ports} as the ports of its listeners: only TCP and UDP ports with a valid port
 * are mapped, each with its target port, its node port (NodePort and LoadBalancer Services) and, for UDP, its
 * {@code udpResponses}. Pure: called from the mapper's caller, the source's single thread.
 */
final class KubernetesPorts {
    /** The mapper's logger: operators follow one name for what the mapping skips. */
    private static final Logger log = LoggerFactory.getLogger(KubernetesServiceMapper.class);
    /** Service ports skipped for their protocol (SCTP), logged once each. */
    private static final Set<String> SKIPPED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private KubernetesPorts() {
    }

    /**
     * Returns the Service's TCP and UDP ports as the ports of its listeners, in the order of {@code spec.ports}.
     *
     * @param udpResponses the annotation's value, or {@code -1}: then {@link KubernetesServiceMapper#DNS_RESPONSES}
     *     for a UDP port 53, else 0
     */
    static List<PortSpec> ports(io.fabric8.kubernetes.api.model.ServiceSpec spec, String service,
                                int udpResponses) {
        List<PortSpec> out = new ArrayList<>();
        if (spec.getPorts() == null) {
            return out;
        }
        for (ServicePort p : spec.getPorts()) {
            String name = p.getName() == null ? "" : p.getName();
            String protocol = p.getProtocol() == null ? "TCP" : p.getProtocol();
            if (!protocol.equals("TCP") && !protocol.equals("UDP")) {
                if (SKIPPED.add(service + ":" + p.getPort() + "/" + protocol)) {
                    log.info("Skipping service port service={} port={} protocol={} (only TCP and UDP are proxied)",
                            service, p.getPort(), protocol);
                }
                continue;
            }
            if (p.getPort() == null || p.getPort() < 1 || p.getPort() > 65535) {
                log.debug("Skipping service port service={} port={} (expected: 1..65535)", service, p.getPort());
                continue;
            }
            int nodePort = p.getNodePort() != null && p.getNodePort() >= 1 && p.getNodePort() <= 65535
                    && !"ClusterIP".equals(spec.getType()) && spec.getType() != null ? p.getNodePort() : 0;
            int responses = !protocol.equals("UDP") ? 0
                    : udpResponses >= 0 ? udpResponses : p.getPort() == 53 ? KubernetesServiceMapper.DNS_RESPONSES : 0;
            out.add(new PortSpec(name, Protocol.valueOf(protocol), p.getPort(),
                    targetPort(p.getTargetPort(), p.getPort()), null, responses, null, nodePort));
        }
        return out;
    }

    private static TargetPort targetPort(IntOrString target, int port) {
        if (target == null) {
            return TargetPort.of(port);
        }
        if (target.getIntVal() != null) {
            int n = target.getIntVal();
            return n >= 1 && n <= 65535 ? TargetPort.of(n) : TargetPort.of(port);
        }
        String s = target.getStrVal();
        return s == null || s.isEmpty() ? TargetPort.of(port) : TargetPort.named(s);
    }
}
