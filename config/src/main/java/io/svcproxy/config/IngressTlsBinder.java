package io.svcproxy.config;

import static io.svcproxy.config.IngressBinder.TLS;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Binds an Ingress's {@code tls:} list: hosts, and certFile and keyFile, read and checked as a pair that loads
 * (unless only the config as written is bound); secretName is refused in the config file.
 */
final class IngressTlsBinder extends BinderSupport {
    /** Resolves a file path written in the config against the config's folder; {@code null} after a problem. */
    private final BiFunction<Node, String, Path> paths;

    /**
     * Whether the certificate files are read and checked ({@link ConfigLoader#loadAsWritten}: not; its TLS entries
     * are left out).
     */
    private final boolean runtimeFiles;

    IngressTlsBinder(Problems p, BiFunction<Node, String, Path> paths, boolean runtimeFiles) {
        super(p);
        this.paths = paths;
        this.runtimeFiles = runtimeFiles;
    }

    List<IngressSpec.Tls> tlsList(Node node, String path) {
        SequenceNode list = Values.list(node, path, "a list of TLS entries: maps of hosts, certFile, keyFile", p);
        if (list == null) {
            return List.of();
        }
        List<IngressSpec.Tls> out = new ArrayList<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String itemPath = path + "[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), itemPath, "a TLS entry: a map of hosts, certFile, "
                    + "keyFile", p);
            if (map == null) {
                continue;
            }
            Fields f = new Fields(map, itemPath, p, TLS);
            if (f.has("secretName")) {
                Values.wrong(p, f.value("secretName"), f.child("secretName"),
                        "certFile and keyFile in the config file; secretName is for Ingresses of the Kubernetes API");
            }
            List<String> hosts = new ArrayList<>();
            if (f.has("hosts")) {
                SequenceNode hostList = Values.list(f.value("hosts"), f.child("hosts"), "a list of host names", p);
                if (hostList != null) {
                    for (int j = 0; j < hostList.getValue().size(); j++) {
                        String h = IngressBinder.host(hostList.getValue().get(j), f.child("hosts") + "[" + j + "]", p);
                        if (h != null) {
                            hosts.add(h);
                        }
                    }
                }
            }
            Path certFile = null;
            String certPem = null;
            if (f.has("certFile")) {
                certFile = paths.apply(f.value("certFile"), f.child("certFile"));
                certPem = certFile == null || !runtimeFiles ? null : readPem(certFile, f.value("certFile"), f.child("certFile"));
            } else {
                Values.missing(p, f, "certFile", "a PEM file of the certificate chain, relative to this file");
            }
            Path keyFile = null;
            String keyPem = null;
            if (f.has("keyFile")) {
                keyFile = paths.apply(f.value("keyFile"), f.child("keyFile"));
                keyPem = keyFile == null || !runtimeFiles ? null : readPem(keyFile, f.value("keyFile"), f.child("keyFile"));
                keyPem = keyPem == null ? null : TlsPem.normalizeKey(keyPem);
            } else {
                Values.missing(p, f, "keyFile", "a PEM file of the private key, relative to this file");
            }
            if (certPem != null) {
                String problem = TlsPem.certificateProblem(certPem);
                if (problem != null) {
                    Values.wrong(p, f.value("certFile"), f.child("certFile"), problem);
                    certPem = null;
                }
            }
            if (keyPem != null) {
                String problem = TlsPem.keyProblem(keyPem, certPem == null ? "" : certPem);
                if (problem != null) {
                    Values.wrong(p, f.value("keyFile"), f.child("keyFile"), problem);
                    keyPem = null;
                }
            }
            if (certPem != null && keyPem != null) {
                out.add(new IngressSpec.Tls(hosts, certFile, keyFile, null, certPem, keyPem));
            }
        }
        return out;
    }

    private String readPem(Path file, Node node, String path) {
        try {
            return ConfigLoader.read(file);
        } catch (IOException e) {
            p.at(node, path, Values.label(path) + ": " + Values.describe(node) + " (cannot read " + file + ": "
                    + ConfigLoader.reason(e) + ")");
            return null;
        }
    }
}
