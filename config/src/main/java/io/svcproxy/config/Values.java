package io.svcproxy.config;

import java.net.InetAddress;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import org.yaml.snakeyaml.DumperOptions.ScalarStyle;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeId;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Typed reads of YAML nodes. Each returns {@code null} after recording a problem of the form
 * {@code "weight: -1 (expected: 0..65535)"}, pointing at the value. Public for the few rules other YAML readers
 * (the simulator's events file) share with the config: booleans, leading zeros and the advice on how a value was
 * written.
 */
public final class Values {
    private static final Set<String> TRUE = Set.of("true", "yes", "on", "y");
    private static final Set<String> FALSE = Set.of("false", "no", "off", "n");
    /** The resolver YamlDocuments composes with: read only, so shared. */
    private static final Resolver RESOLVER = new Resolver();

    private Values() {
    }

    static boolean isNull(Node node) {
        return node instanceof ScalarNode && node.getTag().equals(Tag.NULL);
    }

    /** Returns how a node reads in a message: a scalar's text ({@code ""} when empty), "a map" or "a list". */
    static String describe(Node node) {
        if (node instanceof ScalarNode s) {
            String v = s.getValue();
            if (v.isEmpty()) {
                return "\"\"";
            }
            v = visible(v);
            return v.length() > 80 ? v.substring(0, 77) + "..." : v;
        }
        if (node instanceof MappingNode) {
            return "a map";
        }
        if (node instanceof SequenceNode) {
            return "a list";
        }
        return "a " + node.getNodeId();
    }

    /**
     * Returns {@code text} with what the eye cannot tell apart spelled out as YAML escapes: a line break or a tab as
     * backslash n, r or t, and every other control or format character (a byte order mark, a zero-width space), a
     * space other than U+0020 (a non-breaking one), and a private, unassigned or lone surrogate code point as
     * backslash, u and its four hex digits. A message then shows what was written, the escape before "pods" in
     * "unknown key: pods (did you mean 'pods'?)", not a key that looks the same as the one it suggests. Text without
     * such a character is returned as it is.
     */
    static String visible(String text) {
        if (text.codePoints().noneMatch(Values::invisible)) {
            return text;
        }
        StringBuilder b = new StringBuilder(text.length() + 16);
        text.codePoints().forEach(c -> {
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (!invisible(c)) {
                        b.appendCodePoint(c);
                    } else if (c <= 0xFFFF) {
                        b.append(String.format("\\u%04X", c));
                    } else {
                        b.append(String.format("\\U%08X", c));
                    }
                }
            }
        });
        return b.toString();
    }

    private static boolean invisible(int c) {
        int type = Character.getType(c);
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR || type == Character.SPACE_SEPARATOR && c != ' '
                || type == Character.PRIVATE_USE || type == Character.UNASSIGNED || type == Character.SURROGATE;
    }

    /** Returns the last segment of a path, which begins every message: {@code services[0].ports[1].port} → {@code port}. */
    static String label(String path) {
        int depth = 0;
        for (int i = path.length() - 1; i >= 0; i--) {
            char c = path.charAt(i);
            if (c == ']') {
                depth++;
            } else if (c == '[') {
                depth--;
            } else if (c == '.' && depth == 0) {
                return path.substring(i + 1);
            }
        }
        return path;
    }

    static void problem(Problems p, Node at, String path, String value, String expected) {
        p.at(at, path, label(path) + ": " + value + " (expected: " + expected + ")");
    }

    static void wrong(Problems p, Node at, String path, String expected) {
        problem(p, at, path, describe(at), expected);
    }

    /** The value of {@code key} in {@code node} when it is a map that has it, else {@code null}. */
    static Node valueOf(Node node, String key) {
        if (node instanceof MappingNode map) {
            for (org.yaml.snakeyaml.nodes.NodeTuple t : map.getValue()) {
                if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) {
                    return t.getValueNode();
                }
            }
        }
        return null;
    }

    static void missing(Problems p, Fields f, String key, String expected) {
        p.at(f.missingAt(key), f.child(key), key + ": missing (expected: " + expected + ")");
    }

    static MappingNode map(Node node, String path, String expected, Problems p) {
        if (node instanceof MappingNode m) {
            return m;
        }
        wrong(p, node, path, expected);
        return null;
    }

    static SequenceNode list(Node node, String path, String expected, Problems p) {
        if (node instanceof SequenceNode s) {
            return s;
        }
        wrong(p, node, path, expected);
        return null;
    }

    /** Returns a scalar's text (of any scalar type: labels such as {@code version: 1} read as text). */
    static String text(Node node, String path, String expected, Problems p) {
        if (node instanceof ScalarNode s && !isNull(node)) {
            return s.getValue();
        }
        wrong(p, node, path, expected);
        return null;
    }

    /**
     * Returns a path written in the config: {@code ~} is the home folder; a relative one is against {@code base}
     * (the config's folder; {@code null} leaves it relative).
     */
    static Path path(Node node, String path, Path base, Problems p) {
        String expected = "a file path";
        String v = text(node, path, expected, p);
        if (v == null) {
            return null;
        }
        if (v.isEmpty() || v.indexOf('\0') >= 0) {
            wrong(p, node, path, expected);
            return null;
        }
        try {
            if (v.equals("~") || v.startsWith("~/")) {
                Path home = home();
                return v.length() <= 2 ? home : home.resolve(v.substring(2));
            }
            Path file = Path.of(v);
            return base == null || file.isAbsolute() ? file : base.resolve(file);
        } catch (InvalidPathException e) {
            wrong(p, node, path, expected);
            return null;
        }
    }

    /**
     * Returns the home folder {@code ~} stands for: {@code $HOME} when set and not empty, as the shell, kubectl and
     * client-go read it (a container user with no passwd entry, or a HOME set for the process), else Java's
     * {@code user.home} (the passwd entry's).
     */
    static Path home() {
        return home(System.getenv("HOME"), System.getProperty("user.home"));
    }

    /** As {@link #home()}, for {@code env} (the value of HOME, {@code null} when unset) and {@code userHome}. */
    static Path home(String env, String userHome) {
        return Path.of(env == null || env.isEmpty() ? userHome : env);
    }

    /** Returns a YAML integer (plain decimal digits) in {@code min..max}. */
    static Integer integer(Node node, String path, int min, int max, Problems p) {
        String expected = min + ".." + max;
        if (!(node instanceof ScalarNode s) || !node.getTag().equals(Tag.INT)) {
            // "80" or !!str 80: a number written as a string, which Kubernetes refuses too
            String why = node instanceof ScalarNode other && other.getValue().matches("[-+]?[0-9]{1,18}")
                    ? writtenAs(other) : null;
            wrong(p, node, path, why == null ? expected : "a number " + expected + ", " + why);
            return null;
        }
        String v = s.getValue();
        if (hasLeadingZero(v)) {
            wrong(p, node, path, expected + ", without a leading zero");
            return null;
        }
        if (!v.matches("[-+]?[0-9]{1,18}")) {
            wrong(p, node, path, expected);
            return null;
        }
        long n = Long.parseLong(v.startsWith("+") ? v.substring(1) : v);
        if (n < min || n > max) {
            wrong(p, node, path, expected);
            return null;
        }
        return (int) n;
    }

    /**
     * Whether an integer's text has a leading zero, which the config refuses: YAML 1.1 (kubectl's) reads 010 as
     * octal 8, YAML 1.2 as 10, and neither is meant.
     */
    public static boolean hasLeadingZero(String integer) {
        return integer.matches("[-+]?0[0-9]+");
    }

    /** Returns a YAML boolean's value ({@code true}, {@code True}, {@code yes}...), or {@code null} if not one. */
    public static Boolean booleanOf(Node node) {
        if (node instanceof ScalarNode s && node.getTag().equals(Tag.BOOL)) {
            String v = s.getValue().toLowerCase(Locale.ROOT);
            if (TRUE.contains(v)) {
                return true;
            }
            if (FALSE.contains(v)) {
                return false;
            }
        }
        return null;
    }

    static Boolean bool(Node node, String path, Problems p) {
        Boolean b = booleanOf(node);
        if (b != null) {
            return b;
        }
        String expected = "true or false";
        if (node instanceof ScalarNode s && (TRUE.contains(s.getValue().toLowerCase(Locale.ROOT))
                || FALSE.contains(s.getValue().toLowerCase(Locale.ROOT)))) {
            String why = writtenAs(s);
            // else y or n: YAML 1.1 (kubectl's) reads them as booleans, SnakeYAML's resolver (as YAML 1.2) as text
            expected += why != null ? ", " + why : "; an unquoted " + s.getValue() + " is text, not a boolean";
        }
        wrong(p, node, path, expected);
        return null;
    }

    /**
     * Why a scalar whose text reads as the type expected was not taken as one, as advice: it was quoted, or tagged
     * with another type; {@code null} when it was written plain and untagged.
     */
    public static String writtenAs(ScalarNode s) {
        ScalarStyle style = s.getScalarStyle();
        if (style == ScalarStyle.SINGLE_QUOTED || style == ScalarStyle.DOUBLE_QUOTED) {
            return "not a string: without quotes";
        }
        // the node does not say whether its tag was written; a tag other than the one its text resolves to was
        if (!s.getTag().equals(RESOLVER.resolve(NodeId.scalar, s.getValue(), style == ScalarStyle.PLAIN))) {
            String tag = s.getTag().getValue();
            return "not tagged " + (tag.startsWith(Tag.PREFIX) ? "!!" + tag.substring(Tag.PREFIX.length()) : tag)
                    + ": without the tag";
        }
        return null;
    }

    /** Returns a duration in {@code min..max}; {@code range} is how the message spells that range. */
    static Duration duration(Node node, String path, Duration min, Duration max, String range, Problems p) {
        if (!(node instanceof ScalarNode s) || isNull(node)) {
            wrong(p, node, path, Durations.EXPECTED);
            return null;
        }
        Duration d;
        try {
            d = Durations.parse(s.getValue());
        } catch (IllegalArgumentException e) {
            wrong(p, node, path, Durations.EXPECTED);
            return null;
        }
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            wrong(p, node, path, range);
            return null;
        }
        return d;
    }

    /** Returns a unicast IPv4 or IPv6 literal (not unspecified, multicast or IPv4's limited broadcast). Never resolves a name. */
    static InetAddress ip(Node node, String path, Problems p) {
        String expected = "an IPv4 or IPv6 address";
        String text = text(node, path, expected, p);
        if (text == null) {
            return null;
        }
        InetAddress ip;
        try {
            ip = Addresses.parseIp(text);
        } catch (IllegalArgumentException e) {
            wrong(p, node, path, expected);
            return null;
        }
        if (text.indexOf(':') >= 0 && ip instanceof java.net.Inet4Address) {
            // ::ffff:127.0.0.1 would be taken as 127.0.0.1 silently; Kubernetes refuses the mapped form
            wrong(p, node, path, expected + "; an IPv4 address is written as IPv4, not IPv4-mapped IPv6");
            return null;
        }
        boolean broadcast = ip instanceof java.net.Inet4Address && java.util.Arrays.equals(ip.getAddress(),
                new byte[] {-1, -1, -1, -1});
        if (ip.isAnyLocalAddress() || ip.isMulticastAddress() || broadcast) {
            // nothing can be served at these (the limited broadcast address binds only for UDP, and answers nothing)
            wrong(p, node, path, "a unicast address, not " + (ip.isAnyLocalAddress() ? "unspecified"
                    : broadcast ? "broadcast" : "multicast"));
            return null;
        }
        return ip;
    }
}
