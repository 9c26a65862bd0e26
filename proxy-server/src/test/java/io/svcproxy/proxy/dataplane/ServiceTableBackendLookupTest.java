package io.svcproxy.proxy.dataplane;

import static io.svcproxy.proxy.metrics.ServicePortFixtures.backend;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.servicePort;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.set;
import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.ingress.ServiceBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServiceTableBackendLookupTest {

    @Test
    void anIngressBackendResolvesToTheClusterIpListenersOwnBackendSetByPortNumberOrName() {
        ServiceTable table = new ServiceTable();
        ServicePort http = servicePort("shop", "api", "127.0.10.10", 80, "http", "rr",
                List.of(backend("127.0.1.1", 8080, 1), backend("127.0.1.2", 8080, 1)), List.of());
        ServicePort admin = servicePort("shop", "api", "127.0.10.10", 9090, "admin", "rr",
                List.of(backend("127.0.1.1", 9090, 1)), List.of());
        ServicePort otherNamespace = servicePort("other", "api", "127.0.10.11", 80, "http", "rr",
                List.of(backend("10.2.0.1", 8080, 1)), List.of());
        table.put(http);
        table.put(admin);
        table.put(otherNamespace);
        ServiceTableBackendLookup lookup = new ServiceTableBackendLookup(table);

        assertThat(lookup.backendSet(new ServiceBackend("shop", "api", 80, null))).isSameAs(http.backendSet());
        assertThat(lookup.backendSet(new ServiceBackend("shop", "api", 0, "http"))).isSameAs(http.backendSet());
        assertThat(lookup.backendSet(new ServiceBackend("shop", "api", 0, "admin"))).isSameAs(admin.backendSet());
        assertThat(lookup.backendSet(new ServiceBackend("other", "api", 80, null)))
                .isSameAs(otherNamespace.backendSet());
        assertThat(lookup.backendSet(new ServiceBackend("shop", "api", 81, null))).isNull();
        assertThat(lookup.backendSet(new ServiceBackend("shop", "api", 0, "grpc"))).isNull();
        assertThat(lookup.backendSet(new ServiceBackend("shop", "web", 80, null))).isNull();

        // a reload that replaces the set is seen by the next lookup; a removed Service is gone
        BackendSet reloaded = set("rr", List.of(backend("127.0.1.3", 8080, 1)));
        http.update(http.spec(), reloaded);
        assertThat(lookup.backendSet(new ServiceBackend("shop", "api", 80, null))).isSameAs(reloaded);
        table.remove(admin.key());
        assertThat(lookup.backendSet(new ServiceBackend("shop", "api", 0, "admin"))).isNull();
    }
}
