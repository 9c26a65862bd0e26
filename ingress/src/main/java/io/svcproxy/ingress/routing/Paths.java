package io.svcproxy.ingress.routing;

/** Request paths as the table compares them. */
final class Paths {
    private Paths() {
    }

    /** The path of a request target: query and fragment removed; empty or not absolute is {@code /}. */
    static String pathOf(String target) {
        if (target == null) {
            return "/";
        }
        int end = target.length();
        for (int i = 0; i < end; i++) {
            char c = target.charAt(i);
            if (c == '?' || c == '#') {
                end = i;
                break;
            }
        }
        if (end == 0 || target.charAt(0) != '/') {
            return "/";
        }
        return end == target.length() ? target : target.substring(0, end);
    }

    /** {@code /a/b//} is {@code /a/b}; {@code /} and {@code //} are {@code /}. */
    static String stripTrailingSlashes(String path) {
        int end = path.length();
        while (end > 1 && path.charAt(end - 1) == '/') {
            end--;
        }
        return end == path.length() ? path : path.substring(0, end);
    }

    /** The path one element up, without trailing slashes: {@code /a/b} is {@code /a}, {@code /a} is {@code /}. */
    static String parent(String path) {
        int cut = path.lastIndexOf('/');
        return cut <= 0 ? "/" : stripTrailingSlashes(path.substring(0, cut));
    }
}
