package io.svcproxy.proxy.simulate;

import java.util.HashMap;
import java.util.Map;

/**
 * Parses one JSON object whose values are strings, numbers, booleans or null (a connection log line) into its
 * keys and values as text. Nested values are refused.
 */
final class FlatJson {
    private final String s;
    private int i;
    /** The key whose value's column {@link #valueColumn} looks for, else {@code null}. */
    private String wanted;
    private int wantedAt = -1;

    private FlatJson(String s) {
        this.s = s;
    }

    /** @throws IllegalArgumentException with the column of the problem */
    static Map<String, String> parse(String line) {
        return new FlatJson(line).object();
    }

    /**
     * Returns the 1-based column where the value of {@code key} begins in {@code line}, a line {@link #parse} took,
     * for a message about that value; {@code -1} if it has no such key.
     */
    static int valueColumn(String line, String key) {
        FlatJson parser = new FlatJson(line);
        parser.wanted = key;
        parser.object();
        return parser.wantedAt < 0 ? -1 : parser.wantedAt + 1;
    }

    /**
     * Whether {@code line} is an object cut short: the parser ran out of text before the object ended (a line still
     * being written). A whole object with a problem, a key twice say, is not.
     */
    static boolean cutShort(String line) {
        FlatJson parser = new FlatJson(line);
        try {
            parser.object();
            return false;
        } catch (IllegalArgumentException e) {
            return parser.i >= line.length();
        }
    }

    private Map<String, String> object() {
        Map<String, String> map = new HashMap<>(32);
        skip();
        expect('{');
        skip();
        if (peek() == '}') {
            i++;
        } else {
            while (true) {
                skip();
                String key = string();
                skip();
                expect(':');
                skip();
                if (wanted != null && key.equals(wanted)) {
                    wantedAt = i;
                }
                String value = peek() == '"' ? string() : bare();
                if (map.containsKey(key)) {
                    throw error("\"" + key + "\" appears twice"); // which one counts would be a guess
                }
                map.put(key, value);
                skip();
                char c = next();
                if (c == '}') {
                    break;
                }
                if (c != ',') {
                    throw error("expected ',' or '}'");
                }
            }
        }
        skip();
        if (i < s.length()) {
            throw error("text after the object");
        }
        return map;
    }

    private String string() {
        expect('"');
        // fast path: no escape before the closing quote (every line svcproxy writes), one substring
        int close = s.indexOf('"', i);
        boolean plain = close >= 0;
        for (int k = i; plain && k < close; k++) {
            plain = s.charAt(k) != '\\';
        }
        if (plain) {
            String v = s.substring(i, close);
            i = close + 1;
            return v;
        }
        StringBuilder b = new StringBuilder();
        while (true) {
            char c = next();
            if (c == '"') {
                return b.toString();
            }
            if (c == '\\') {
                char e = next();
                switch (e) {
                    case '"', '\\', '/' -> b.append(e);
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'r' -> b.append('\r');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'u' -> {
                        if (i + 4 > s.length()) {
                            throw error("bad \\u escape");
                        }
                        try {
                            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        } catch (NumberFormatException x) {
                            throw error("bad \\u escape");
                        }
                        i += 4;
                    }
                    default -> throw error("bad escape \\" + e);
                }
            } else {
                b.append(c);
            }
        }
    }

    private String bare() {
        int from = i;
        while (i < s.length() && ",}] \t".indexOf(s.charAt(i)) < 0) {
            if (s.charAt(i) == '{' || s.charAt(i) == '[') {
                throw error("nested values are not expected");
            }
            i++;
        }
        if (from == i) {
            throw error("expected a value");
        }
        String v = s.substring(from, i);
        return v.equals("null") ? null : v;
    }

    private void expect(char c) {
        if (i >= s.length() || s.charAt(i) != c) {
            throw error("expected '" + c + "'");
        }
        i++;
    }

    private char next() {
        if (i >= s.length()) {
            throw error("unexpected end of line");
        }
        return s.charAt(i++);
    }

    private char peek() {
        return i < s.length() ? s.charAt(i) : '\0';
    }

    private void skip() {
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
            i++;
        }
    }

    private IllegalArgumentException error(String message) {
        return new IllegalArgumentException("column " + (i + 1) + ": " + message);
    }
}
