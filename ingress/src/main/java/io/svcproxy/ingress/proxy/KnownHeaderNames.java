package io.svcproxy.ingress.proxy;

import io.netty.util.AsciiString;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The header names endpoints send on nearly every response, as cached {@link AsciiString}s: the endpoint
 * connection's decoder ({@link EndpointCodec}) returns one of these for a field name whose bytes equal it exactly
 * (case included, so what is relayed is what the endpoint sent) instead of a new {@code AsciiString} and its byte
 * array per field, as Netty's own request decoder does for Host, Accept, Connection, Content-Type and
 * Content-Length. Any other spelling or name is decoded as Netty does.
 */
final class KnownHeaderNames {
    private static final String[] RESPONSE = {
        "Age", "Date", "ETag", "Vary", "Server", "Pragma", "Expires", "Trailer", "Upgrade", "Location",
        "Connection", "Keep-Alive", "Set-Cookie", "Content-Type", "Accept-Ranges", "Cache-Control", "Last-Modified",
        "Content-Length", "Content-Encoding", "Transfer-Encoding", "Strict-Transport-Security",
        "X-Content-Type-Options", "Access-Control-Allow-Origin",
    };
    /** The names by length, each as its cached {@code AsciiString}. */
    private static final AsciiString[][] BY_LENGTH = byLength(RESPONSE);
    /** Each cached name (by identity) to its lower-case form, as HTTP/2 sends it. */
    private static final Map<AsciiString, AsciiString> LOWER_CASE = lowerCase(BY_LENGTH);

    private KnownHeaderNames() {
    }

    /** The cached name whose bytes equal {@code length} bytes of {@code bytes} at {@code start}; else null. */
    static AsciiString response(byte[] bytes, int start, int length) {
        if (length >= BY_LENGTH.length) {
            return null;
        }
        AsciiString[] candidates = BY_LENGTH[length];
        if (candidates == null) {
            return null;
        }
        for (AsciiString name : candidates) {
            if (equal(name.array(), bytes, start, length)) {
                return name;
            }
        }
        return null;
    }

    /**
     * {@code name} in lower case: for a name {@link #response} returned, a constant; for any other, as Netty's
     * conversion does it ({@code AsciiString.of(name).toLowerCase()}: itself when already lower case).
     */
    static AsciiString lowerCase(CharSequence name) {
        AsciiString lower = name instanceof AsciiString a ? LOWER_CASE.get(a) : null;
        return lower != null ? lower : AsciiString.of(name).toLowerCase();
    }

    /** The names {@link #response} knows, for tests. */
    static String[] responseNames() {
        return RESPONSE.clone();
    }

    private static boolean equal(byte[] name, byte[] bytes, int start, int length) {
        for (int i = 0; i < length; i++) {
            if (name[i] != bytes[start + i]) {
                return false;
            }
        }
        return true;
    }

    private static Map<AsciiString, AsciiString> lowerCase(AsciiString[][] byLength) {
        Map<AsciiString, AsciiString> map = new IdentityHashMap<>();
        for (AsciiString[] names : byLength) {
            if (names != null) {
                for (AsciiString name : names) {
                    map.put(name, AsciiString.cached(name.toString().toLowerCase(java.util.Locale.ROOT)));
                }
            }
        }
        return map;
    }

    private static AsciiString[][] byLength(String[] names) {
        int longest = 0;
        for (String n : names) {
            longest = Math.max(longest, n.length());
        }
        AsciiString[][] table = new AsciiString[longest + 1][];
        for (String n : names) {
            AsciiString[] old = table[n.length()];
            AsciiString[] grown = old == null ? new AsciiString[1] : java.util.Arrays.copyOf(old, old.length + 1);
            grown[grown.length - 1] = AsciiString.cached(n);
            table[n.length()] = grown;
        }
        return table;
    }
}
