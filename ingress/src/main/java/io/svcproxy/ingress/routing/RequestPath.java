package io.svcproxy.ingress.routing;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The path a request is routed by, as nginx (and so ingress-nginx) matches its locations against {@code $uri}:
 * the target's path without query, percent-decoded, with {@code .} and {@code ..} segments resolved and runs of
 * {@code /} merged. So {@code /public/../api/x} and {@code /public/%2e%2e/api/x} route as {@code /api/x}, as the
 * endpoint will read them: matching the raw text would send them to {@code /public}'s backend. The request is
 * forwarded with its target as received, as ingress-nginx forwards it.
 *
 * <p>Decoded bytes are read as UTF-8 (a rule's path is text). A path whose {@code ..} climbs above the root, a
 * {@code %} not followed by two hex digits, and an encoded NUL are no path to route: {@code null}, answered 400 as
 * nginx answers them.
 */
public final class RequestPath {
    private RequestPath() {
    }

    /**
     * The path {@code target} (origin form, query allowed; anything else is {@code /}) is routed by, or {@code null}
     * when it is not a valid path.
     */
    public static String of(String target) {
        String path = Paths.pathOf(target);
        return plain(path) ? path : normalize(path);
    }

    /** Whether the path is its own normal form (the common case: no {@code %}, no {@code //}, no {@code /.}). */
    private static boolean plain(String path) {
        char previous = 0;
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '%' || c > 0x7f || previous == '/' && (c == '/' || c == '.')) {
                return false;
            }
            previous = c;
        }
        return true;
    }

    private static String normalize(String path) {
        String decoded = decode(path);
        if (decoded == null) {
            return null;
        }
        List<String> segments = new ArrayList<>();
        boolean directory = false; // ends with "/" (or with a dot segment, which names a directory)
        int start = 1;
        while (start <= decoded.length()) {
            int end = decoded.indexOf('/', start);
            if (end < 0) {
                end = decoded.length();
            }
            String segment = decoded.substring(start, end);
            directory = segment.isEmpty() || segment.equals(".") || segment.equals("..");
            if (segment.equals("..")) {
                if (segments.isEmpty()) {
                    return null; // above the root
                }
                segments.remove(segments.size() - 1);
            } else if (!directory) {
                segments.add(segment);
            }
            start = end + 1;
        }
        if (segments.isEmpty()) {
            return "/";
        }
        StringBuilder out = new StringBuilder(decoded.length());
        for (String segment : segments) {
            out.append('/').append(segment);
        }
        if (directory) {
            out.append('/');
        }
        return out.toString();
    }

    /**
     * Percent-decodes {@code path}, read as UTF-8; its other characters are the request's bytes (ISO-8859-1, as the
     * codecs give them) or, when some are not, text.
     */
    private static String decode(String path) {
        byte[] text = path.getBytes(allBytes(path) ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
        byte[] out = new byte[text.length];
        int n = 0;
        for (int i = 0; i < text.length; i++) {
            byte b = text[i];
            if (b == '%') {
                int high = i + 2 < text.length ? Character.digit(text[i + 1], 16) : -1;
                int low = high < 0 ? -1 : Character.digit(text[i + 2], 16);
                if (low < 0 || high == 0 && low == 0) {
                    return null;
                }
                out[n++] = (byte) (high << 4 | low);
                i += 2;
            } else {
                out[n++] = b;
            }
        }
        return new String(out, 0, n, StandardCharsets.UTF_8);
    }

    private static boolean allBytes(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 0xff) {
                return false;
            }
        }
        return true;
    }
}
