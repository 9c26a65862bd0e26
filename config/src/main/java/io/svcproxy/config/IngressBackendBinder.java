package io.svcproxy.config;

import static io.svcproxy.config.IngressBinder.BACKEND;
import static io.svcproxy.config.IngressBinder.PORT;
import static io.svcproxy.config.IngressBinder.SERVICE;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Binds the backends of Ingresses (a rule path's and a defaultBackend: a Service name and port number or name), and
 * then, with {@link #checkBackends}, checks that each names a Service port the file defines, unless
 * {@code registry.kubernetes} may define it.
 */
final class IngressBackendBinder extends BinderSupport {
    /** A backend as bound, with where it is written, for {@link #checkBackends}. */
    private record PlacedBackend(String namespace, IngressSpec.Backend backend, Node nameNode, String namePath,
                                 Node portNode, String portPath) {
    }

    private final List<PlacedBackend> backends = new ArrayList<>();

    IngressBackendBinder(Problems p) {
        super(p);
    }

    /** Binds {@code {service: {name, port: {number | name}}}}. */
    IngressSpec.Backend backend(Node node, String path, String namespace) {
        MappingNode map = Values.map(node, path, "a backend: a map of service", p);
        if (map == null) {
            return null;
        }
        Fields f = new Fields(map, path, p, BACKEND);
        if (f.has("resource")) {
            Values.wrong(p, f.value("resource"), f.child("resource"),
                    "a service backend; resource backends are not supported");
            return null;
        }
        if (!f.has("service")) {
            Values.missing(p, f, "service", "a map of name, port");
            return null;
        }
        MappingNode service = Values.map(f.value("service"), f.child("service"), "a map of name, port", p);
        if (service == null) {
            return null;
        }
        Fields s = new Fields(service, f.child("service"), p, SERVICE);
        String name = null;
        if (s.has("name")) {
            name = name(s.value("name"), s.child("name"), Names::isDns1035Label, Names.DNS1035_LABEL_EXPECTED);
        } else {
            Values.missing(p, s, "name", "a Service name");
        }
        if (!s.has("port")) {
            Values.missing(p, s, "port", "a map of number or name");
            return null;
        }
        MappingNode port = Values.map(s.value("port"), s.child("port"), "a map of number or name", p);
        if (port == null) {
            return null;
        }
        Fields pf = new Fields(port, s.child("port"), p, PORT);
        int number = 0;
        String portName = null;
        Node portNode;
        String portPath;
        if (pf.has("number") && pf.has("name")) {
            Values.wrong(p, pf.value("name"), pf.child("name"), "one of number or name, not both");
            return null;
        } else if (pf.has("number")) {
            portNode = pf.value("number");
            portPath = pf.child("number");
            Integer n = Values.integer(portNode, portPath, 1, 65535, p);
            if (n == null) {
                return null;
            }
            number = n;
        } else if (pf.has("name")) {
            portNode = pf.value("name");
            portPath = pf.child("name");
            portName = name(portNode, portPath, Names::isIanaSvcName, Names.IANA_SVC_NAME_EXPECTED);
            if (portName == null) {
                return null;
            }
        } else {
            Values.missing(p, pf, "number", "a port number, or a port name in name");
            return null;
        }
        if (name == null) {
            return null;
        }
        IngressSpec.Backend backend = new IngressSpec.Backend(name, number, portName);
        backends.add(new PlacedBackend(namespace, backend, s.value("name"), s.child("name"), portNode, portPath));
        return backend;
    }

    /**
     * Checks that each backend names a TCP port of a Service of the file. With {@code registry.kubernetes} a
     * Service the file does not define may come from the API (and answers 503 until it does), so only the ports of
     * the file's own Services are checked.
     */
    void checkBackends(List<ServiceSpec> services, boolean kubernetes) {
        Map<String, ServiceSpec> byName = new HashMap<>();
        for (ServiceSpec s : services) {
            if (s.name() != null && s.namespace() != null) {
                byName.putIfAbsent(s.qualifiedName(), s);
            }
        }
        for (PlacedBackend b : backends) {
            ServiceSpec service = byName.get(b.namespace() + "/" + b.backend().service());
            if (service == null) {
                if (!kubernetes) {
                    Values.wrong(p, b.nameNode(), b.namePath(), "a Service of namespace " + b.namespace()
                            + " defined in this file (without registry.kubernetes)");
                }
                continue;
            }
            // a port refused for its own value (0 here) is not one to name or to match
            List<PortSpec> tcp = service.ports().stream()
                    .filter(port -> port.protocol() == Protocol.TCP && port.port() > 0).toList();
            boolean found = tcp.stream().anyMatch(port -> b.backend().portName() != null
                    ? b.backend().portName().equals(port.name())
                    : b.backend().portNumber() == port.port());
            if (!found) {
                String known = String.join(", ", tcp.stream()
                        .map(port -> b.backend().portName() != null ? port.name() : Integer.toString(port.port()))
                        .filter(x -> !x.isEmpty()).toList());
                Values.wrong(p, b.portNode(), b.portPath(), (b.backend().portName() != null ? "a port name" : "a port")
                        + " of Service " + service.qualifiedName() + " (TCP): "
                        + (known.isEmpty() ? "it has none" : known));
            }
        }
    }
}
