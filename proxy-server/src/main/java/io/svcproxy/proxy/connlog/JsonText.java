package io.svcproxy.proxy.connlog;

import java.util.Locale;

/** Writes JSON string literals: the one escaper of the connection log, the simulator's reports and the what-if API. */
public final class JsonText {
    private JsonText() {
    }

    /** Returns {@code s} as a JSON string literal: quotes, backslashes and control characters escaped. */
    public static String quote(String s) {
        return appendQuoted(new StringBuilder(s.length() + 2), s).toString();
    }

    /** Appends {@code s} to {@code b} as a JSON string literal and returns {@code b}. */
    public static StringBuilder appendQuoted(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"');
    }
}
