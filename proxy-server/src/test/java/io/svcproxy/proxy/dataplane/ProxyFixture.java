package io.svcproxy.proxy.dataplane;

import io.svcproxy.config.ConfigException;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/** Starts test backends and a proxy from YAML text; closes all of it. */
final class ProxyFixture implements AutoCloseable {
    private final Transport transport;
    private final List<TestBackend> backends = new ArrayList<>();
    private ProxyServer server;

    ProxyFixture(Transport transport) {
        this.transport = transport;
    }

    /** Starts a test backend on {@code ip}, port chosen by the kernel. */
    TestBackend backend(String ip, String name, TestBackend.Mode mode) throws BindException {
        TestBackend backend = TestBackend.start(new InetSocketAddress(ip, 0), name, mode);
        backends.add(backend);
        return backend;
    }

    /** Starts a proxy serving the config in {@code yaml}. */
    ProxyServer proxy(String yaml) throws ConfigException, BindException {
        ProxyConfig config = ConfigLoader.parse(yaml, "test.yaml");
        server = ProxyServer.start(config, transport, 2);
        return server;
    }

    ProxyServer server() {
        return server;
    }

    /** Returns the YAML of explicit endpoints for {@code backends} with weight 1. */
    static String endpoints(TestBackend... backends) {
        StringBuilder yaml = new StringBuilder("    endpoints:\n");
        for (TestBackend b : backends) {
            yaml.append("      - {ip: ").append(b.address().getAddress().getHostAddress()).append(", port: ")
                    .append(b.address().getPort()).append("}\n");
        }
        return yaml.toString();
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
        for (TestBackend backend : backends) {
            backend.close();
        }
    }
}
