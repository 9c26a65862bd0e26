package io.svcproxy.proxy;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.svcproxy.proxy.cli.TestBackend;
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
}
