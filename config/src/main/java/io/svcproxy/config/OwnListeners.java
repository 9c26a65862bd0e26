package io.svcproxy.config;

import java.net.InetAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Refuses endpoints that make a loop through svcproxy itself: an endpoint at one of svcproxy's own listeners (a
 * Service port's clusterIP, externalIP or LoadBalancer IP) sends its connections through that Service port again,
 * and when that port's endpoints lead back (directly, or through more Service ports), each connection makes another
 * until the descriptors run out. An endpoint at another Service's listener with no way back is a chain, and
 * allowed, as kube-proxy allows it. NodePorts are left out: the node's addresses are known only when the config is
 * applied.
 */
final class OwnListeners {
    /** Where an endpoint is written: its {@code ip} (an explicit endpoint) or its Pod's name. */
    record WrittenAt(Problems problems, Node node, String path, String what) {
    }

    /** A Service port (by Service and port index) and what its listeners are, for the message. */
    private record PortId(int service, int port) {
    }

    /** An endpoint of a Service port at another (or the same) Service port's listener. */
    private record Edge(PortId to, String listener, WrittenAt at) {
    }

    private OwnListeners() {
    }

    /**
     * Checks the explicit endpoints ({@code endpointIps}: where each one's {@code ip} is written) and the Pods the
     * Services select, reporting each endpoint in a loop once, where it is written.
     */
    static void check(List<ServiceSpec> services, Map<EndpointSpec, WrittenAt> endpointIps,
                      List<PodBinder.BoundPod> pods) {
        Map<ServiceKey, PortId> owners = new HashMap<>();
        Map<ServiceKey, String> owned = new HashMap<>();
        for (int i = 0; i < services.size(); i++) {
            ServiceSpec s = services.get(i);
            if (s.clusterIP() == null || s.ports() == null) {
                continue;
            }
            String name = s.name() == null ? "?" : s.qualifiedName();
            Set<InetAddress> extra = s.extraAddresses();
            for (int j = 0; j < s.ports().size(); j++) {
                PortSpec port = s.ports().get(j);
                if (port.port() == 0 || port.protocol() == null) {
                    continue;
                }
                ServiceKey key = new ServiceKey(s.clusterIP(), port.port(), port.protocol());
                owners.putIfAbsent(key, new PortId(i, j));
                owned.putIfAbsent(key, "the clusterIP of " + name);
                for (InetAddress a : extra) {
                    ServiceKey k = new ServiceKey(a, port.port(), port.protocol());
                    owners.putIfAbsent(k, new PortId(i, j));
                    owned.putIfAbsent(k, "an externalIP or loadBalancerIP of " + name);
                }
            }
        }
        if (owners.isEmpty()) {
            return;
        }
        // only a Pod at one of the listeners' addresses can be an edge: those few are matched against every
        // Service port, not every Pod (a config of thousands of Services and Pods would pay Services x Pods again)
        Set<InetAddress> listenerIps = new HashSet<>();
        for (ServiceKey key : owners.keySet()) {
            listenerIps.add(key.clusterIP());
        }
        List<PodBinder.BoundPod> candidates = new ArrayList<>();
        for (PodBinder.BoundPod pod : pods) {
            if (pod.nameNode() != null && pod.spec().ip() != null && listenerIps.contains(pod.spec().ip())) {
                candidates.add(pod);
            }
        }
        Map<PortId, List<Edge>> edges = new HashMap<>();
        for (int i = 0; i < services.size(); i++) {
            ServiceSpec s = services.get(i);
            if (s.ports() == null) {
                continue;
            }
            for (int j = 0; j < s.ports().size(); j++) {
                PortSpec port = s.ports().get(j);
                if (port.protocol() == null) {
                    continue;
                }
                PortId from = new PortId(i, j);
                for (EndpointSpec e : s.endpoints() == null ? List.<EndpointSpec>of() : s.endpoints()) {
                    WrittenAt at = endpointIps.get(e);
                    int target = ServicePorts.targetOf(port, e);
                    if (at != null && e.ip() != null && target > 0) {
                        edge(edges, owners, owned, from, new ServiceKey(e.ip(), target, port.protocol()), at);
                    }
                }
                for (PodBinder.BoundPod pod : candidates) {
                    if (!ServicePorts.selects(s, pod.spec())) {
                        continue;
                    }
                    int target = ServicePorts.targetOf(port, pod.spec());
                    if (target > 0) {
                        edge(edges, owners, owned, from, new ServiceKey(pod.spec().ip(), target, port.protocol()),
                                new WrittenAt(pod.problems(), pod.nameNode(), pod.namePath(), "a Pod at "));
                    }
                }
            }
        }
        Map<Node, Boolean> reported = new IdentityHashMap<>();
        for (Map.Entry<PortId, List<Edge>> from : edges.entrySet()) {
            for (Edge edge : from.getValue()) {
                if (reaches(edges, edge.to(), from.getKey()) && reported.put(edge.at().node(), true) == null) {
                    WrittenAt at = edge.at();
                    Values.wrong(at.problems(), at.node(), at.path(), at.what() + "an address that is not svcproxy's "
                            + "own in a loop; " + edge.listener() + ", whose endpoints lead back here: each "
                            + "connection would come back to svcproxy and make another");
                }
            }
        }
    }

    private static void edge(Map<PortId, List<Edge>> edges, Map<ServiceKey, PortId> owners,
                             Map<ServiceKey, String> owned, PortId from, ServiceKey key, WrittenAt at) {
        PortId to = owners.get(key);
        if (to != null) {
            String listener = Addresses.format(key.clusterIP(), key.port()) + "/" + key.protocol() + " is "
                    + owned.get(key);
            edges.computeIfAbsent(from, k -> new ArrayList<>()).add(new Edge(to, listener, at));
        }
    }

    /** Whether {@code target} is {@code start} or can be reached from it along the edges. */
    private static boolean reaches(Map<PortId, List<Edge>> edges, PortId start, PortId target) {
        Set<PortId> seen = new HashSet<>();
        ArrayDeque<PortId> todo = new ArrayDeque<>();
        todo.add(start);
        while (!todo.isEmpty()) {
            PortId p = todo.poll();
            if (p.equals(target)) {
                return true;
            }
            if (seen.add(p)) {
                for (Edge e : edges.getOrDefault(p, List.of())) {
                    todo.add(e.to());
                }
            }
        }
        return false;
    }
}
