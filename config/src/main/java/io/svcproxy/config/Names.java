package io.svcproxy.config;

import java.util.regex.Pattern;

/** The Kubernetes name rules ({@code k8s.io/apimachinery/pkg/util/validation}) that the config uses. */
final class Names {
    private static final Pattern DNS1035_LABEL = Pattern.compile("[a-z]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern DNS1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern DNS1123_SUBDOMAIN =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Pattern IANA_SVC_NAME = Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?");
    private static final Pattern LETTER = Pattern.compile(".*[a-z].*");
    private static final Pattern QUALIFIED_NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");

    static final String DNS1035_LABEL_EXPECTED =
            "a DNS-1035 label: [a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters";
    static final String DNS1123_LABEL_EXPECTED =
            "a DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters";
    static final String DNS1123_SUBDOMAIN_EXPECTED =
            "a DNS-1123 subdomain: dot-separated DNS-1123 labels, at most 253 characters";
    static final String IANA_SVC_NAME_EXPECTED =
            "an IANA service name: at most 15 lowercase letters, digits and '-', with a letter, no '--'";
    static final String LABEL_KEY_EXPECTED = "a label key: [prefix/]name, name at most 63 of [-A-Za-z0-9_.]";
    static final String LABEL_VALUE_EXPECTED = "a label value: at most 63 of [-A-Za-z0-9_.], alphanumeric at the ends";

    private Names() {
    }

    static boolean isDns1035Label(String s) {
        return s.length() <= 63 && DNS1035_LABEL.matcher(s).matches();
    }

    static boolean isDns1123Label(String s) {
        return s.length() <= 63 && DNS1123_LABEL.matcher(s).matches();
    }

    static boolean isDns1123Subdomain(String s) {
        if (s.length() > 253 || !DNS1123_SUBDOMAIN.matcher(s).matches()) {
            return false;
        }
        for (String label : s.split("\\.")) {
            if (label.length() > 63) {
                return false;
            }
        }
        return true;
    }

    /** A port name that a targetPort or a container port may carry ({@code IsValidPortName}). */
    static boolean isIanaSvcName(String s) {
        return s.length() <= 15 && IANA_SVC_NAME.matcher(s).matches() && LETTER.matcher(s).matches()
                && !s.contains("--");
    }

    /** A label key: an optional DNS-1123 subdomain prefix and '/', then a qualified name. */
    static boolean isLabelKey(String s) {
        int slash = s.indexOf('/');
        String name = s;
        if (slash >= 0) {
            String prefix = s.substring(0, slash);
            name = s.substring(slash + 1);
            if (prefix.isEmpty() || !isDns1123Subdomain(prefix)) {
                return false;
            }
        }
        return !name.isEmpty() && name.length() <= 63 && QUALIFIED_NAME.matcher(name).matches();
    }

    static boolean isLabelValue(String s) {
        return s.isEmpty() || (s.length() <= 63 && QUALIFIED_NAME.matcher(s).matches());
    }

    /**
     * Returns the candidate closest to {@code key} for a "did you mean": one equal but for case, else the first
     * within an edit distance of 2 (and shorter than the candidate, so that "x" does not suggest "ip");
     * {@code null} when none is close.
     */
    static String closest(String key, Iterable<String> candidates) {
        for (String c : candidates) {
            if (c.equalsIgnoreCase(key)) {
                return c;
            }
        }
        String best = null;
        int bestDistance = 3;
        for (String c : candidates) {
            int d = levenshtein(key.toLowerCase(java.util.Locale.ROOT), c.toLowerCase(java.util.Locale.ROOT));
            if (d < bestDistance && d < c.length()) {
                best = c;
                bestDistance = d;
            }
        }
        return best;
    }

    static int levenshtein(String a, String b) {
        if (Math.abs(a.length() - b.length()) > 2 || a.length() > 200 || b.length() > 200) {
            return Math.abs(a.length() - b.length()) + 3;
        }
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
