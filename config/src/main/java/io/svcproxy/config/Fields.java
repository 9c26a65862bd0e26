package io.svcproxy.config;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * The keys of one YAML mapping, checked once: a key that is not a plain name, a duplicate (reported at the
 * second key) or, for a schema section, an unknown key (with a "did you mean") is a problem and is then
 * ignored. A key whose value is YAML null counts as not given.
 */
final class Fields {
    private final MappingNode node;
    private final String path;
    private final Map<String, NodeTuple> tuples = new LinkedHashMap<>();

    /**
     * @param allowed the keys of this section, in the order an error lists them; {@code null} for a free-form
     *     map (labels, selector, endpoint ports)
     */
    Fields(MappingNode node, String path, Problems problems, Collection<String> allowed) {
        this.node = node;
        this.path = path;
        for (NodeTuple t : node.getValue()) {
            Node keyNode = t.getKeyNode();
            if (!(keyNode instanceof ScalarNode scalar) || keyNode.getTag().equals(Tag.NULL)) {
                problems.at(keyNode, path, "key: " + Values.describe(keyNode) + " (expected: a name)");
                continue;
            }
            String key = scalar.getValue();
            if (keyNode.getTag().equals(Tag.MERGE)) {
                problems.at(keyNode, child(key), "unknown key: << (merge keys are not supported)");
                continue;
            }
            NodeTuple first = tuples.get(key);
            if (first != null) {
                problems.at(keyNode, child(key),
                        "duplicate key: " + key + " (first at " + Problems.line(first.getKeyNode()) + ")");
                continue;
            }
            if (allowed != null && !allowed.contains(key)) {
                String close = Names.closest(key, allowed);
                problems.at(keyNode, child(key), "unknown key: " + key + (close != null
                        ? " (did you mean '" + close + "'?)"
                        : " (expected: " + String.join(", ", allowed) + ")"));
                continue;
            }
            tuples.put(key, t);
        }
    }

    MappingNode node() {
        return node;
    }

    /** Returns the keys given, in file order (nulls included). */
    Set<String> keys() {
        return tuples.keySet();
    }

    /** Returns the value of {@code key}, or {@code null} when it is absent or YAML null. */
    Node value(String key) {
        NodeTuple t = tuples.get(key);
        if (t == null || Values.isNull(t.getValueNode())) {
            return null;
        }
        return t.getValueNode();
    }

    /**
     * Whether {@code key}'s value is written as an explicit null ({@code ~} or {@code null}), rather than left
     * empty ({@code key:} with nothing after it).
     */
    boolean explicitNull(String key) {
        NodeTuple t = tuples.get(key);
        return t != null && t.getValueNode() instanceof ScalarNode s && Values.isNull(s) && !s.getValue().isEmpty();
    }

    /** Returns the key node of {@code key}, or {@code null} when absent. */
    Node keyNode(String key) {
        NodeTuple t = tuples.get(key);
        return t == null ? null : t.getKeyNode();
    }

    boolean has(String key) {
        return value(key) != null;
    }

    /**
     * Returns where to point when {@code key} is required but has no value: its key, else the first key of the
     * mapping (in a flow mapping the mapping starts at its brace), else the mapping.
     */
    Node missingAt(String key) {
        Node k = keyNode(key);
        if (k != null) {
            return k;
        }
        return node.getValue().isEmpty() ? node : node.getValue().get(0).getKeyNode();
    }

    String path() {
        return path;
    }

    String child(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }
}
