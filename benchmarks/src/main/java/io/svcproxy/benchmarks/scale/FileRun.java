package io.svcproxy.benchmarks.scale;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The cluster in the config file itself: one flow-style line per Service. A change rewrites the whole file (by a
 * rename, as a ConfigMap update does); svcproxy parses and validates all of it again, as it must.
 */
final class FileRun extends Run {
    private Path config;

    FileRun(Cluster cluster, ScaleBench.Options options) throws IOException {
        super(cluster, options);
    }

    @Override
    Path prepare() throws IOException {
        config = dir.resolve("svcproxy.yaml");
        write();
        return config;
    }

    private void write() throws IOException {
        StringBuilder y = new StringBuilder(proxySection()).append("services:\n");
        for (int i = 0; i < cluster.services(); i++) {
            y.append("  - {name: ").append(Cluster.name(i)).append(", clusterIP: ").append(Cluster.clusterIP(i))
                    .append(", ports: [{port: ").append(Cluster.port(i)).append(", targetPort: 8080}], endpoints: [");
            for (int j = 0; j < cluster.endpoints(); j++) {
                y.append(j == 0 ? "" : ", ").append("{ip: ").append(Cluster.endpointIP(j, 0)).append('}');
            }
            y.append("]}\n");
        }
        y.append("  - {name: probe, clusterIP: ").append(Cluster.PROBE_IP).append(", ports: [{port: ")
                .append(Cluster.PROBE_PORT).append("}], endpoints: [{ip: ").append(probeTarget).append(", port: ")
                .append(probe.port(probeTarget)).append("}]}\n");
        Path next = dir.resolve(".svcproxy.yaml.next");
        Files.writeString(next, y);
        Files.move(next, config, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    void pointProbe(String ip) throws IOException {
        probeTarget = ip;
        write();
    }

    @Override
    void changeService(int i, int generation) {
        throw new UnsupportedOperationException("a config file takes no burst");
    }

    @Override
    boolean burst() {
        return false;
    }
}
