package io.svcproxy.config;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.events.AliasEvent;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Puts a copy of the anchored node, marked at the alias, where each alias is written. SnakeYAML's composer puts the
 * anchored node itself there, so that a problem in what {@code *web} stands for was reported where {@code &web} is
 * (and twice at that place when the content is wrong in both). The copies keep the content, tags and styles; every
 * node of a copy starts and ends where its alias does, which is where that content is written.
 *
 * <p>The composer does not say which of a node's places is an alias; the events do, in document order. An anchor
 * comes before its aliases, so a walk of the tree in document order meets each node first where it is defined and
 * again only at its aliases, in the order of their events. Merge keys are not merged on compose (they are refused
 * by {@link Fields}), so the tree keeps that order.
 */
final class AliasCopies {
    /**
     * The nodes copied at most, for all the aliases of a document: within the composer's limit of aliases of
     * collections an alias of an alias of ... expands geometrically (a billion laughs). Past it an alias is the
     * anchored content itself again, reported at the anchor, as SnakeYAML gives it.
     */
    static final int MAX_COPIED = 100_000;

    private final Iterator<AliasEvent> aliases;
    private final Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    private int budget = MAX_COPIED;

    private AliasCopies(List<AliasEvent> aliases) {
        this.aliases = aliases.iterator();
    }

    /** Replaces, in the tree of {@code root}, each alias of {@code aliases} (in document order) by a copy. */
    static void place(Node root, List<AliasEvent> aliases) {
        if (root != null && !aliases.isEmpty()) {
            new AliasCopies(aliases).visit(root);
        }
    }

    /** Walks a node met first, where it is defined, placing copies at the aliases among its children. */
    private void visit(Node node) {
        seen.add(node);
        if (node instanceof SequenceNode sequence) {
            List<Node> items = sequence.getValue();
            for (int i = 0; i < items.size(); i++) {
                items.set(i, place(items.get(i)));
            }
        } else if (node instanceof MappingNode mapping) {
            List<NodeTuple> tuples = mapping.getValue();
            for (int i = 0; i < tuples.size(); i++) {
                NodeTuple t = tuples.get(i);
                Node key = place(t.getKeyNode());
                Node value = place(t.getValueNode());
                if (key != t.getKeyNode() || value != t.getValueNode()) {
                    tuples.set(i, new NodeTuple(key, value));
                }
            }
        }
    }

    private Node place(Node node) {
        if (!seen.contains(node)) {
            visit(node);
            return node;
        }
        return aliases.hasNext() ? copy(node, aliases.next(), new IdentityHashMap<>()) : node;
    }

    /** Copies {@code node} marked at {@code alias}; {@code copies} keeps a recursive node's copy recursive. */
    private Node copy(Node node, AliasEvent alias, Map<Node, Node> copies) {
        Node done = copies.get(node);
        if (done != null) {
            return done;
        }
        if (budget <= 0) {
            return node;
        }
        budget--;
        if (node instanceof ScalarNode s) {
            return new ScalarNode(s.getTag(), s.getValue(), alias.getStartMark(), alias.getEndMark(),
                    s.getScalarStyle());
        }
        if (node instanceof SequenceNode s) {
            List<Node> items = new java.util.ArrayList<>(s.getValue().size());
            SequenceNode copy = new SequenceNode(s.getTag(), true, items, alias.getStartMark(), alias.getEndMark(),
                    s.getFlowStyle());
            copies.put(node, copy);
            for (Node item : s.getValue()) {
                items.add(copy(item, alias, copies));
            }
            return copy;
        }
        if (node instanceof MappingNode m) {
            List<NodeTuple> tuples = new java.util.ArrayList<>(m.getValue().size());
            MappingNode copy = new MappingNode(m.getTag(), true, tuples, alias.getStartMark(), alias.getEndMark(),
                    m.getFlowStyle());
            copies.put(node, copy);
            for (NodeTuple t : m.getValue()) {
                tuples.add(new NodeTuple(copy(t.getKeyNode(), alias, copies), copy(t.getValueNode(), alias, copies)));
            }
            return copy;
        }
        return node;
    }
}
