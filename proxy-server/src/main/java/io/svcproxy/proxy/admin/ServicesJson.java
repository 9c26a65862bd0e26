package io.svcproxy.proxy.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.PortSpec;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServiceSpec;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import java.io.UncheckedIOException;

/**
 * Renders {@code GET /api/v1/services}: the fields of SPEC.md ("Admin HTTP") in that order, one entry per
 * Service port, plus {@code targetPort}, {@code schedulerFlags}, {@code sessionAffinityTimeoutSeconds},
 * {@code connections} (client connections open now), {@code bytesToEndpoint}, {@code bytesToClient} and
 * {@code noEndpoint} per Service port. Reads the live objects without locking: each Service port's spec and
 * endpoint set are read once, so an entry is consistent with itself while counters move on.
 */
final class ServicesJson {
    private final ObjectMapper mapper = new ObjectMapper();

    /** Returns the document as UTF-8 bytes. */
    byte[] render(ServiceTable table) {
        ObjectNode root = mapper.createObjectNode();
        root.put("version", table.version());
        ArrayNode services = root.putArray("services");
        for (ServicePort port : table.servicePorts()) {
            services.add(servicePort(port));
        }
        try {
            return mapper.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e); // a tree of plain nodes always serializes
        }
    }

    private ObjectNode servicePort(ServicePort servicePort) {
        ServicePortSpec spec = servicePort.spec();
        BackendSet set = servicePort.backendSet();
        ServiceSpec service = spec.service();
        PortSpec port = spec.port();
        ObjectNode node = mapper.createObjectNode();
        node.put("namespace", service.namespace());
        node.put("name", service.name());
        node.put("clusterIP", spec.key().clusterIP().getHostAddress());
        node.put("port", spec.key().port());
        node.put("portName", port.name());
        node.put("protocol", spec.key().protocol().name());
        node.put("targetPort", port.targetPort().toString());
        node.put("scheduler", set != null ? set.schedulerName() : service.scheduler());
        // sorted so that the document is stable from one request to the next
        ArrayNode flags = node.putArray("schedulerFlags");
        (set != null ? set.flags() : service.schedulerFlags()).stream()
                .map(SchedulerFlag::configName).sorted().forEach(flags::add);
        SessionAffinity affinity = set != null ? set.affinity() : service.sessionAffinity();
        node.put("sessionAffinity", affinity.label());
        node.put("sessionAffinityTimeoutSeconds", affinity.timeout().toSeconds());
        node.put("connections", servicePort.connections().size());
        node.put("bytesToEndpoint", servicePort.bytesToEndpoint());
        node.put("bytesToClient", servicePort.bytesToClient());
        node.put("noEndpoint", servicePort.noEndpointCount());
        ArrayNode endpoints = node.putArray("endpoints");
        if (set != null) {
            for (BackendState backend : set.backends()) {
                ObjectNode e = endpoints.addObject();
                e.put("ip", backend.address().getHostAddress());
                e.put("port", backend.port());
                e.put("weight", backend.weight());
                e.put("state", backend.state().label());
                e.put("active", backend.counters().active());
                e.put("inactive", backend.counters().inactive());
                e.put("total", backend.counters().total());
            }
        }
        return node;
    }
}
