package io.svcproxy.proxy.dataplane;

import static io.svcproxy.proxy.metrics.ServicePortFixtures.backend;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.servicePort;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.set;
import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class ServiceTableBackendLookupTest {
    private static final DataPlaneSettings SETTINGS = settings();
    /** The settings in force, on node-a. */
    static final Supplier<DataPlaneSettings> NODE_A = () -> SETTINGS;

    private static DataPlaneSettings settings() {
        try {
            return DataPlaneSettings.of(ConfigLoader.parse("services: []\n", "t.yaml"), "node-a", List::of);
        } catch (io.svcproxy.config.ConfigException e) {
            throw new AssertionError(e);
        }
    }

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
        ServiceTableBackendLookup lookup = new ServiceTableBackendLookup(table, NODE_A, ProxyMetrics.NOOP);

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

    @Test
    void anIngressRequestPicksAsTrafficToTheClusterIpDoesUnderItsPolicy() throws Exception {
        // node-a's endpoint only a Local policy takes (a terminating Pod while node-b's is ready), as the
        // Kubernetes source marks it: the Ingress leaves it out, as the ClusterIP does
        ServicePort port = servicePort("shop", "api", "127.0.10.10", 80, "http", "rr",
                List.of(backend("127.0.1.1", 8080, 1), backend("127.0.1.2", 8080, 1)), List.of());
        io.svcproxy.config.ServicePortSpec s = port.spec();
        List<io.svcproxy.config.EndpointTarget> marked = List.of(
                new io.svcproxy.config.EndpointTarget(java.net.InetAddress.getByName("127.0.1.1"), 8080, 1, true,
                        true, true, "node-a", true),
                io.svcproxy.config.EndpointTarget.ready(java.net.InetAddress.getByName("127.0.1.2"), 8080, 1,
                        "node-b"));
        port.update(new io.svcproxy.config.ServicePortSpec(s.key(), s.service(), s.port(), marked),
                port.backendSet());
        ServiceTable table = new ServiceTable();
        table.put(port);
        ServiceTableBackendLookup lookup = new ServiceTableBackendLookup(table, NODE_A, ProxyMetrics.NOOP);
        ServiceBackend api = new ServiceBackend("shop", "api", 80, null);

        java.util.function.Predicate<io.svcproxy.balancer.Backend> eligible = lookup.eligible(api);

        assertThat(eligible).isNotNull();
        assertThat(port.backendSet().backends()).filteredOn(b -> eligible.test(b))
                .extracting(b -> b.address().getHostAddress()).containsExactly("127.0.1.2");
        assertThat(lookup.eligible(new ServiceBackend("shop", "web", 80, null))).isNull();
        var target = lookup.target(api);
        assertThat(target.set()).isSameAs(port.backendSet());
        assertThat(target.eligible()).isSameAs(eligible);
        assertThat(target.preamble()).as("no proxyProtocol").isNull();
        assertThat(lookup.target(new ServiceBackend("shop", "web", 80, null))).isNull();
    }

    /** A port with proxyProtocol: the Ingress's endpoint connections start with the relay's PROXY header. */
    @Test
    void aPortWithProxyProtocolGivesTheIngressItsHeader() {
        ServicePort port = servicePort("shop", "api", "127.0.10.10", 80, "http", "rr",
                List.of(backend("127.0.1.1", 8080, 1)), List.of());
        io.svcproxy.config.ServicePortSpec s = port.spec();
        io.svcproxy.config.PortSpec p = s.port();
        port.update(new io.svcproxy.config.ServicePortSpec(s.key(), s.service(), new io.svcproxy.config.PortSpec(
                p.name(), p.protocol(), p.port(), p.targetPort(), p.udpIdleTimeout(), p.udpResponses(),
                io.svcproxy.config.ProxyProtocol.V2), s.endpoints()), port.backendSet());
        ServiceTable table = new ServiceTable();
        table.put(port);
        var target = new ServiceTableBackendLookup(table, NODE_A, ProxyMetrics.NOOP).target(new ServiceBackend("shop", "api", 80,
                null));

        io.netty.channel.embedded.EmbeddedChannel endpoint = new io.netty.channel.embedded.EmbeddedChannel();
        io.netty.channel.embedded.EmbeddedChannel client = new io.netty.channel.embedded.EmbeddedChannel() {
            @Override
            protected java.net.SocketAddress remoteAddress0() {
                return new java.net.InetSocketAddress("127.0.60.7", 40001);
            }

            @Override
            protected java.net.SocketAddress localAddress0() {
                return new java.net.InetSocketAddress("127.0.10.176", 8080);
            }
        };
        target.preamble().write(endpoint, client);
        endpoint.flush();
        io.netty.buffer.ByteBuf header = endpoint.readOutbound();
        io.netty.channel.embedded.EmbeddedChannel decoder = new io.netty.channel.embedded.EmbeddedChannel(
                new io.netty.handler.codec.haproxy.HAProxyMessageDecoder());
        decoder.writeInbound(header);
        io.netty.handler.codec.haproxy.HAProxyMessage m = decoder.readInbound();
        assertThat(m.protocolVersion()).isEqualTo(io.netty.handler.codec.haproxy.HAProxyProtocolVersion.V2);
        assertThat(m.sourceAddress() + ":" + m.sourcePort()).isEqualTo("127.0.60.7:40001");
        assertThat(m.destinationAddress() + ":" + m.destinationPort()).isEqualTo("127.0.10.176:8080");
        m.release();
        endpoint.finishAndReleaseAll();
        client.finishAndReleaseAll();
        decoder.finishAndReleaseAll();
    }

    /**
     * The Ingress's connect failures are classified by the relay's own ConnectErrors: one for want of a socket or a
     * local port on this host (Netty's ChannelException for EMFILE, EADDRNOTAVAIL as the native transport writes it)
     * is counted as reason "local" and leaves the endpoint's failures in a row alone; a refused one counts against
     * it (helper-148: Exchange used to keep the ChannelException from the outcomes altogether).
     */
    @Test
    void anIngressConnectThatFailedOnThisHostIsCountedLocalNotAgainstTheEndpoint() {
        ServiceTable table = new ServiceTable();
        ServicePort http = servicePort("shop", "api", "127.0.10.10", 80, "http", "rr",
                List.of(backend("127.0.148.7", 8080, 1)), List.of());
        table.put(http);
        List<String> reasons = new java.util.ArrayList<>();
        ProxyMetrics metrics = new ProxyMetrics() {
            @Override
            public void connectFailed(ServicePort port, io.svcproxy.balancer.BackendState backend, String reason) {
                reasons.add(reason);
            }
        };
        ServiceTableBackendLookup lookup = new ServiceTableBackendLookup(table, NODE_A, metrics);
        io.svcproxy.ingress.BackendLookup.Outcomes outcomes = lookup.target(new ServiceBackend("shop", "api", 80, null))
                .outcomes();
        io.svcproxy.balancer.BackendState endpoint = http.backendSet().backends().get(0);

        outcomes.connectFailed(endpoint, new io.netty.channel.ChannelException("Failed to open a socket.",
                new java.net.SocketException("Too many open files")));
        outcomes.connectFailed(endpoint, new java.net.ConnectException(
                "connect(..) failed with error(-99): Cannot assign requested address"));
        assertThat(reasons).containsExactly("local", "local");
        assertThat(endpoint.counters().health().consecutiveFailures()).isZero();

        outcomes.connectFailed(endpoint, new java.net.ConnectException("Connection refused"));
        assertThat(reasons).containsExactly("local", "local", "refused");
        assertThat(endpoint.counters().health().consecutiveFailures()).isEqualTo(1);
    }
}
