package io.svcproxy.proxy;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The kubeconfig file that points svcproxy at a fabric8 mock API server, for the end-to-end tests. */
public final class MockKubeconfig {
    private MockKubeconfig() {
    }

    /** Writes {@code dir/kubeconfig} for the server {@code client} talks to, and returns its path. */
    public static Path write(Path dir, KubernetesClient client) throws IOException {
        Path kubeconfig = dir.resolve("kubeconfig");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters:
                  - name: mock
                    cluster: {server: "%s", insecure-skip-tls-verify: true}
                users:
                  - name: svcproxy
                    user: {token: test-token}
                contexts:
                  - name: mock
                    context: {cluster: mock, user: svcproxy, namespace: default}
                current-context: mock
                """.formatted(client.getConfiguration().getMasterUrl()));
        return kubeconfig;
    }
}
