package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.svcproxy.config.IngressSpec;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Compiling the desired state's Ingresses: routing order, default backends, notices logged once, unchanged input. */
class IngressListenersTest {
    /** Every Service port but those of the Service "missing" (a headless Service, say), and of {@link #gone}. */
    private static final io.svcproxy.balancer.BackendSet SET = io.svcproxy.balancer.BackendSet.of("rr",
            java.util.Set.of(), io.svcproxy.balancer.SessionAffinity.NONE, List.of(), System::nanoTime);
    /** A Service whose port went after the Ingress was applied. */
    private volatile String gone = "";
    private final IngressListeners listeners = new IngressListeners(
            backend -> backend.name().equals("missing") || backend.name().equals(gone) ? null : SET,
            new IngressStats(ProxyMetrics.NOOP));
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(IngressListeners.class);

    @BeforeEach
    void capture() {
        logged.start();
        logger.addAppender(logged);
    }

    @AfterEach
    void release() {
        logger.detachAppender(logged);
    }

    private static IngressSpec withDefault(String name, String service) {
        return new IngressSpec("default", name, new IngressSpec.Backend(service, 80, null), List.of(), List.of());
    }

    private static IngressSpec withRule(String name, String host, String path, String service) {
        return new IngressSpec("default", name, null, List.of(new IngressSpec.Rule(host, List.of(
                new IngressSpec.HttpPath(path, "Prefix", new IngressSpec.Backend(service, 0, "http"))))), List.of());
    }

    private List<String> warnings() {
        return logged.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
                .toList();
    }

    @Test
    void theFirstDefaultBackendWinsAndTheOthersAreLoggedOnceAcrossReloads() {
        List<IngressSpec> state = List.of(withDefault("first", "web"), withDefault("second", "other"),
                withRule("shop", "shop.example", "/api", "api"));
        listeners.apply(state);
        Route<ServiceBackend> route = listeners.table().match("unknown.example", "/");
        assertThat(route.ingress()).isEqualTo("default/first");
        assertThat(route.backend()).isEqualTo(new ServiceBackend("default", "web", 80, null));
        assertThat(listeners.table().match("shop.example", "/api/x").backend())
                .isEqualTo(new ServiceBackend("default", "api", 0, "http"));

        // a later state that keeps the same conflict, with a rule more: the notice is not repeated
        listeners.apply(List.of(withDefault("first", "web"), withDefault("second", "other"),
                withRule("shop", "shop.example", "/api", "api"), withRule("more", "more.example", "/", "web")));
        assertThat(listeners.table().match("more.example", "/").ingress()).isEqualTo("default/more");
        assertThat(warnings()).containsExactly("Ignoring defaultBackend ingress=default/second (the first one is "
                + "used: ingress=default/first)");
        assertThat(listeners.ingresses()).hasSize(4);
    }

    /** A backend no Service port answers for (503) is named once, whichever reload keeps it. */
    @Test
    void aBackendWithoutServicePortIsNamedOnce() {
        listeners.apply(List.of(withRule("shop", "shop.example", "/api", "missing")));
        listeners.apply(List.of(withRule("shop", "shop.example", "/api", "missing"),
                withRule("more", "more.example", "/", "web")));
        assertThat(warnings()).containsExactly("Ingress backend has no Service port ingress=default/shop "
                + "backend=default/missing:http (no such Service or port yet, or a headless or ExternalName Service or "
                + "one labelled service.kubernetes.io/service-proxy-name, which svcproxy does not proxy): its requests "
                + "answer 503");
    }

    /**
     * A backend whose Service port goes while the Ingresses stay (the port renamed, the Service deleted or made
     * ExternalName) is named too, once: the backends were looked up only when the Ingresses changed, so its requests
     * answered 503 with nothing logged (From helper-130's review).
     */
    @Test
    void aBackendWhosePortGoesLaterIsNamedOnce() {
        List<IngressSpec> state = List.of(withRule("shop", "shop.example", "/api", "api"));
        listeners.apply(state);
        assertThat(warnings()).isEmpty();
        gone = "api";
        listeners.apply(state);
        listeners.apply(state);
        assertThat(warnings()).singleElement().asString().startsWith("Ingress backend has no Service port "
                + "ingress=default/shop backend=default/api:http");
    }

    @Test
    void anUnchangedStateCompilesNothing() {
        List<IngressSpec> state = List.of(withRule("shop", "shop.example", "/api", "api"));
        listeners.apply(state);
        var table = listeners.table();
        listeners.apply(List.of(withRule("shop", "shop.example", "/api", "api")));
        assertThat(listeners.table()).isSameAs(table);
        listeners.apply(List.of());
        assertThat(listeners.table().match("shop.example", "/api")).isNull();
    }

    @Test
    void aListenerAddressInUseIsABindExceptionNamingIt() throws Exception {
        io.netty.channel.EventLoopGroup group = new io.netty.channel.MultiThreadIoEventLoopGroup(1,
                io.netty.channel.nio.NioIoHandler.newFactory());
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getByName("127.0.10.151"))) {
            java.net.InetSocketAddress at = (java.net.InetSocketAddress) taken.getLocalSocketAddress();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> listeners.start(
                            new io.svcproxy.config.IngressSettings(at, null, "svcproxy", java.time.Duration.ofSeconds(5)),
                            java.time.Duration.ofSeconds(2), group,
                            io.netty.channel.socket.nio.NioServerSocketChannel.class))
                    .isInstanceOf(io.svcproxy.proxy.dataplane.BindException.class)
                    .hasMessageStartingWith("cannot bind 127.0.10.151:" + at.getPort() + ": ");
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void theListenersAreBoundWithTheOptionsOfProxyConnectTimeout() throws Exception {
        io.netty.channel.EventLoopGroup group = new io.netty.channel.MultiThreadIoEventLoopGroup(1,
                io.netty.channel.nio.NioIoHandler.newFactory());
        try {
            java.net.InetSocketAddress at = new java.net.InetSocketAddress("127.0.10.151", 0);
            listeners.start(new io.svcproxy.config.IngressSettings(at, null, "svcproxy",
                    java.time.Duration.ofSeconds(5)), java.time.Duration.ofMillis(1500), group,
                    io.netty.channel.socket.nio.NioServerSocketChannel.class);
            assertThat(listeners.httpOptions().connectTimeout()).isEqualTo(java.time.Duration.ofMillis(1500));
            assertThat(logged.list).extracting(ILoggingEvent::getFormattedMessage)
                    .anyMatch(m -> m.startsWith("Ingress listening proto=http") && m.endsWith("connectTimeout=PT1.5S"));
        } finally {
            listeners.close();
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        }
    }
    /**
     * A reload that moves the HTTP listener drains the old one's connections as a shutdown would, instead of leaving
     * them to an idle timeout or cutting them: a kept-alive connection between requests is closed, and it counts in
     * {@link IngressListeners#connections} until then.
     */
    @Test
    void aMovedListenersConnectionsAreDrained() throws Exception {
        io.netty.channel.EventLoopGroup group = new io.netty.channel.MultiThreadIoEventLoopGroup(1,
                io.netty.channel.nio.NioIoHandler.newFactory());
        try {
            java.time.Duration timeout = java.time.Duration.ofSeconds(5);
            listeners.start(new io.svcproxy.config.IngressSettings(new java.net.InetSocketAddress("127.0.10.151", 0),
                    null, "svcproxy", timeout), timeout, group, io.netty.channel.socket.nio.NioServerSocketChannel.class);
            listeners.apply(List.of());
            java.net.InetSocketAddress old = listeners.httpAddress();
            try (HttpClientConnection kept = new HttpClientConnection(old)) {
                assertThat(kept.get("shop.example", "/").status()).isEqualTo(404); // no rules: answered, kept alive
                assertThat(listeners.connections()).isEqualTo(1);
                listeners.reconfigure(new io.svcproxy.config.IngressSettings(
                        new java.net.InetSocketAddress("127.0.10.152", 0), null, "svcproxy", timeout), timeout);
                assertThat(listeners.httpAddress().getAddress().getHostAddress()).isEqualTo("127.0.10.152");
                assertThat(kept.closedByPeer()).isTrue();
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                        .until(() -> listeners.connections() == 0);
            }
        } finally {
            listeners.close();
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        }
    }
}
