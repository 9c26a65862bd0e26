package io.svcproxy.proxy.simulate;

import io.svcproxy.balancer.sim.EndpointChange;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.Values;
import io.svcproxy.config.YamlDocuments;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.events.AliasEvent;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.ReaderException;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Reads EVENTS.yaml: a list of {@code {at, endpoint: IP:PORT, weight: N}}, {@code {at, endpoint, remove: true}}
 * or {@code {at, add: {ip, port, weight}}}, checked against the Service's endpoints as they change (a weight for
 * or removal of an endpoint not in the list, or an add of one already there, is an error). Returns them in time
 * order (ties: file order).
 */
final class EventsReader {
    private final String file;

    private EventsReader(String file) {
        this.file = file;
    }

    static List<EndpointChange> read(Path path, Set<String> endpoints) throws IOException, InputException {
        EventsReader r = new EventsReader(path.toString());
        if (Files.isDirectory(path)) {
            throw new InputException(r.file, "a directory (expected: an events file)");
        }
        Node root;
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setMaxAliasesForCollections(0);
        // the alias limit has no mark of its own: the last event the composer took is the alias that crossed it
        Event[] last = new Event[1];
        String text;
        try {
            text = ConfigLoader.read(path);
        } catch (ConfigLoader.NotUtf8Exception e) {
            throw new InputException(r.file, e.line(), "not UTF-8 text");
        }
        try {
            ParserImpl parser = new ParserImpl(new StreamReader(text), options) {
                @Override
                public Event getEvent() {
                    Event e = super.getEvent();
                    if (e != null) {
                        last[0] = e;
                    }
                    return e;
                }
            };
            root = new Composer(parser, new Resolver(), options).getSingleNode();
        } catch (MarkedYAMLException e) {
            throw new InputException(r.file, e.getProblemMark().getLine() + 1, e.getProblem());
        } catch (ReaderException e) {
            // no mark of its own, as the config reports it (YamlDocuments)
            throw new InputException(r.file, YamlDocuments.lineColumn(text, e.getPosition())[0],
                    String.format("unacceptable code point U+%04X (%s)", e.getCodePoint(), e.getMessage()));
        } catch (org.yaml.snakeyaml.error.YAMLException e) {
            String message = String.valueOf(e.getMessage());
            if (last[0] instanceof AliasEvent alias && message.startsWith("Number of aliases")) {
                throw new InputException(r.file, alias.getStartMark().getLine() + 1, "*" + alias.getAnchor()
                        + ": an alias of a list or map is not supported in an events file (expected: the event"
                        + " written out)");
            }
            if (message.startsWith("Nesting Depth exceeded")) {
                message = "nested too deep: more than " + options.getNestingDepthLimit()
                        + " levels of collections (the limit)";
            }
            // the limits have no mark either: the last event the composer took is where one was crossed
            throw new InputException(r.file, last[0] == null ? 1 : last[0].getStartMark().getLine() + 1, message);
        } catch (RuntimeException e) {
            throw new InputException(r.file, 1, String.valueOf(e.getMessage()));
        }
        if (root == null) {
            return List.of();
        }
        if (!(root instanceof SequenceNode seq)) {
            throw r.error(root, "expected a list of events");
        }
        record Read(EndpointChange change, Node node) {
        }
        List<Read> events = new ArrayList<>();
        for (Node item : seq.getValue()) {
            events.add(new Read(r.event(item), item));
        }
        events.sort(Comparator.comparingLong(e -> e.change().at())); // stable: ties keep file order
        Set<String> live = new LinkedHashSet<>(endpoints);
        List<EndpointChange> out = new ArrayList<>();
        for (Read e : events) {
            EndpointChange c = e.change();
            String key = io.svcproxy.balancer.Backends.format(c.address(), c.port());
            if (c.kind() == EndpointChange.Kind.ADD) {
                if (!live.add(key)) {
                    throw r.error(e.node(), "add: endpoint " + key + " is already in the list");
                }
            } else if (!live.contains(key)) {
                throw r.error(e.node(), "endpoint " + key + " is not in the list at that time (expected one of: "
                        + String.join(", ", live) + ")");
            } else if (c.kind() == EndpointChange.Kind.REMOVE) {
                live.remove(key);
            }
            out.add(c);
        }
        return out;
    }

    private EndpointChange event(Node item) throws InputException {
        Map<String, Node> m = mapping(item, "an event such as {at: 10, endpoint: 10.0.0.1:8080, weight: 2}");
        for (String k : m.keySet()) {
            if (!Set.of("at", "endpoint", "weight", "remove", "add").contains(k)) {
                throw error(m.get(k), "unknown key '" + k + "' (expected: at, endpoint, weight, remove, add)");
            }
        }
        Node atNode = m.get("at");
        if (atNode == null) {
            throw error(item, "missing 'at' (seconds)");
        }
        long at = convert(atNode, () -> Numbers.seconds(number(atNode, "at", "seconds, such as 12 or 12.5"), "at"));
        if (m.containsKey("add")) {
            if (m.containsKey("endpoint") || m.containsKey("weight") || m.containsKey("remove")) {
                throw error(item, "'add' goes alone with 'at'");
            }
            Map<String, Node> add = mapping(m.get("add"), "{ip, port, weight}");
            for (String k : add.keySet()) {
                if (!Set.of("ip", "port", "weight").contains(k)) {
                    throw error(add.get(k), "unknown key '" + k + "' (expected: ip, port, weight)");
                }
            }
            for (String k : List.of("ip", "port")) {
                if (!add.containsKey(k)) {
                    throw error(m.get("add"), "add: missing '" + k + "'");
                }
            }
            InetAddress ip = convert(add.get("ip"), () -> Numbers.ip(scalar(add.get("ip")), "ip"));
            int port = (int) (long) convert(add.get("port"),
                    () -> Numbers.integer(number(add.get("port"), "port", "a number 1..65535"), "port", 1, 65535));
            int weight = add.containsKey("weight") ? (int) (long) convert(add.get("weight"),
                    () -> Numbers.integer(number(add.get("weight"), "weight", "a number 0..65535"), "weight", 0,
                            65535)) : 1;
            return new EndpointChange(at, EndpointChange.Kind.ADD, ip, port, weight);
        }
        Node endpoint = m.get("endpoint");
        if (endpoint == null) {
            throw error(item, "missing 'endpoint' (or 'add')");
        }
        String text = convert(endpoint, () -> scalar(endpoint));
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            throw error(endpoint, "endpoint: '" + text + "' (expected: IP:PORT)");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        String h = host;
        InetAddress ip = convert(endpoint, () -> Numbers.ip(h, "endpoint"));
        int port = (int) (long) convert(endpoint,
                () -> Numbers.integer(text.substring(colon + 1), "endpoint port", 1, 65535));
        boolean remove = m.containsKey("remove");
        if (remove == m.containsKey("weight")) {
            throw error(item, "expected exactly one of 'weight' and 'remove: true'");
        }
        if (remove) {
            Node r = m.get("remove");
            String value = convert(r, () -> scalar(r));
            // a YAML true as the config reads one (true, True, yes...)
            if (!Boolean.TRUE.equals(Values.booleanOf(r))) {
                String why = "true".equalsIgnoreCase(value) ? Values.writtenAs((ScalarNode) r) : null;
                throw error(r, why != null ? "remove: " + value + " (expected: true, " + why + ")"
                        : "remove: '" + value + "' (expected: true)");
            }
            return new EndpointChange(at, EndpointChange.Kind.REMOVE, ip, port, 0);
        }
        int weight = (int) (long) convert(m.get("weight"),
                () -> Numbers.integer(number(m.get("weight"), "weight", "a number 0..65535"), "weight", 0, 65535));
        return new EndpointChange(at, EndpointChange.Kind.WEIGHT, ip, port, weight);
    }

    private interface Conversion<T> {
        T get();
    }

    private <T> T convert(Node node, Conversion<T> c) throws InputException {
        try {
            return c.get();
        } catch (IllegalArgumentException e) {
            throw error(node, e.getMessage());
        }
    }

    private Map<String, Node> mapping(Node node, String expected) throws InputException {
        if (!(node instanceof MappingNode map)) {
            throw error(node, "expected " + expected);
        }
        Map<String, Node> m = new HashMap<>();
        Map<String, Node> keys = new HashMap<>();
        for (NodeTuple t : map.getValue()) {
            String key = convert(t.getKeyNode(), () -> scalar(t.getKeyNode()));
            Node first = keys.putIfAbsent(key, t.getKeyNode());
            if (first != null) { // SnakeYAML's compose() does not check them: as the config file, each key once
                throw error(t.getKeyNode(), "duplicate key '" + key + "' (also at line "
                        + (first.getStartMark().getLine() + 1) + ")");
            }
            m.put(key, t.getValueNode());
        }
        return m;
    }

    /**
     * Returns a number's text, refusing as the config does one written as a string ({@code "3"}, {@code !!str 3}:
     * Kubernetes refuses those too, and a quoted number in one place and not another is a slip worth naming) and an
     * integer with a leading zero ({@code 010}: octal 8 to YAML 1.1, 10 to YAML 1.2).
     */
    private String number(Node node, String what, String expected) {
        String v = scalar(node);
        if (node.getTag().equals(Tag.STR) && v.matches("[0-9]*\\.?[0-9]+|[0-9]+\\.")) {
            String why = Values.writtenAs((ScalarNode) node); // null: written plain, such as 09
            if (why != null) {
                throw new IllegalArgumentException(what + ": " + v + " (expected: " + expected + ", " + why + ")");
            }
        }
        if (Values.hasLeadingZero(v)) {
            throw new IllegalArgumentException(what + ": " + v + " (expected: " + expected
                    + ", without a leading zero)");
        }
        return v;
    }

    private String scalar(Node node) {
        if (!(node instanceof ScalarNode s)) {
            throw new IllegalArgumentException("expected a plain value");
        }
        return s.getValue();
    }

    private InputException error(Node node, String message) {
        return new InputException(file, node.getStartMark().getLine() + 1, message);
    }
}
