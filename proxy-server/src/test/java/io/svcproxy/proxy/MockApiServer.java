package io.svcproxy.proxy;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;

/**
 * A fabric8 mock API server in CRUD mode and a client of it, for the end-to-end Kubernetes tests: started by the
 * constructor, stopped by {@link #close}.
 */
public final class MockApiServer implements AutoCloseable {
    private final KubernetesMockServer server;
    private final KubernetesClient client;
    private boolean stopped;

    /** Starts a server over {@code dispatcher} (a {@link KubernetesCrudDispatcher}, or one that changes answers). */
    public MockApiServer(KubernetesCrudDispatcher dispatcher) {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, true);
        server.init();
        client = server.createClient();
    }

    public MockApiServer() {
        this(new KubernetesCrudDispatcher());
    }

    /** The client of the server. */
    public KubernetesClient client() {
        return client;
    }

    /** Writes {@code dir/kubeconfig} pointing at the server ({@link MockKubeconfig}) and returns its path. */
    public Path kubeconfig(Path dir) throws IOException {
        return MockKubeconfig.write(dir, client);
    }

    /** Stops the server, the client left open: nothing answers it any more. */
    public void stop() {
        if (!stopped) {
            stopped = true;
            server.destroy();
        }
    }

    @Override
    public void close() {
        client.close();
        stop();
    }
}
