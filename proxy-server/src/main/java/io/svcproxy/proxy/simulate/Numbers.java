package io.svcproxy.proxy.simulate;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** Exact parsing of the trace's values: seconds with decimals to nanoseconds, IP literals without DNS. */
final class Numbers {
    private static final long NANOS = 1_000_000_000L;
    /** The most whole seconds whose nanoseconds, with any fraction, fit a {@code long}. */
    static final long MAX_SECONDS = Long.MAX_VALUE / NANOS - 1;

    private Numbers() {
    }

    /**
     * Parses {@code 12}, {@code 12.5} or {@code 1764812345.123456789} seconds into nanoseconds, exactly (digits
     * past the ninth decimal are cut). At most {@link #MAX_SECONDS} whole seconds: the nanoseconds must fit a
     * {@code long} (year 2262 as a Unix time).
     *
     * @throws IllegalArgumentException not a non-negative decimal number of seconds, or too large
     */
    static long seconds(String s, String what) {
        int dot = s.indexOf('.');
        String whole = dot < 0 ? s : s.substring(0, dot);
        String fraction = dot < 0 ? "" : s.substring(dot + 1);
        if (whole.isEmpty() && fraction.isEmpty() || !digits(whole) || !digits(fraction) || whole.length() > 10) {
            throw new IllegalArgumentException(what + ": '" + s + "' (expected: seconds, such as 12 or 12.5)");
        }
        long n = whole.isEmpty() ? 0 : Long.parseLong(whole);
        if (n > MAX_SECONDS) {
            throw new IllegalArgumentException(what + ": " + s + " (expected: at most " + MAX_SECONDS + " seconds)");
        }
        n *= NANOS;
        long scale = NANOS / 10;
        for (int i = 0; i < fraction.length() && scale > 0; i++, scale /= 10) {
            n += (fraction.charAt(i) - '0') * scale;
        }
        return n;
    }

    /** Parses a decimal integer in {@code [min, max]}. */
    static long integer(String s, String what, long min, long max) {
        if (s.isEmpty() || s.length() > 18 || !digits(s)) {
            throw new IllegalArgumentException(what + ": '" + s + "' (expected: " + min + ".." + max + ")");
        }
        long v = Long.parseLong(s);
        if (v < min || v > max) {
            throw new IllegalArgumentException(what + ": " + v + " (expected: " + min + ".." + max + ")");
        }
        return v;
    }

    /**
     * Parses an IPv4 or IPv6 literal, never a host name (the config's strict parser: no DNS, no short forms). An IPv6
     * literal's scope ({@code %eth0}, {@code %2}: a link-local client in a log of an older version) is left out:
     * the address is what the schedulers hash.
     */
    static InetAddress ip(String s, String what) {
        int zone = s.indexOf('%');
        String literal = zone > 0 && s.indexOf(':') >= 0 ? s.substring(0, zone) : s;
        try {
            return io.svcproxy.config.Addresses.parseIp(literal);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": '" + s + "' (expected: an IPv4 or IPv6 address)");
        }
    }

    private static boolean digits(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }
}
