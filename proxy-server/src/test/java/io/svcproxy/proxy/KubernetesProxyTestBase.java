package io.svcproxy.proxy;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.dataplane.Transport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fixture of the tests that run svcproxy against the fabric8 mock API server: the server and its client, the
 * backends a test starts (closed after it), and the proxy it starts (closed first).
 */
abstract class KubernetesProxyTestBase {
    @TempDir
    Path dir;

    final List<TestBackend> backends = new ArrayList<>();
    MockApiServer apiServer;
    KubernetesClient client;
    ProxyServer proxy;

    @BeforeEach
    void startApiServer() {
        apiServer = new MockApiServer();
        client = apiServer.client();
    }

    @AfterEach
    void closeAll() {
        if (proxy != null) {
            proxy.close();
        }
        backends.forEach(TestBackend::close);
        apiServer.close();
    }

    /** Starts the proxy on the config {@link #writeConfig} writes. */
    void startProxy(String proxyKeys, String kubernetesLines) throws Exception {
        proxy = ProxyServer.start(ConfigLoader.load(writeConfig(proxyKeys, kubernetesLines)), Transport.select(), 2);
    }

    /**
     * Writes the config of a proxy on the mock API server (namespace {@code default}, rr): {@code proxyKeys} added to
     * its {@code proxy} map, {@code kubernetesLines} to its source's.
     */
    Path writeConfig(String proxyKeys, String kubernetesLines) throws Exception {
        Path kubeconfig = apiServer.kubeconfig(dir);
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy: {admin: "127.0.0.1:0", scheduler: rr%s}
                registry:
                  kubernetes:
                    kubeconfig: %s
                    namespaces: [default]
                %s""".formatted(proxyKeys, kubeconfig, kubernetesLines));
        return config;
    }
}
