package io.svcproxy.config;

import java.math.BigInteger;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The config's durations: {@code 250ms}, {@code 2s}, {@code 5m}, {@code 1h}, or a bare integer of seconds. */
public final class Durations {
    /** What a duration looks like, for error messages. */
    public static final String EXPECTED = "a duration: 250ms, 2s, 5m, 1h, or a whole number of seconds";

    private static final Pattern FORM = Pattern.compile("([0-9]+)(ms|s|m|h)?");
    private static final BigInteger MAX_MILLIS = BigInteger.valueOf(Long.MAX_VALUE);

    private Durations() {
    }

    /**
     * Returns the duration written in {@code text}. A value too large for a {@link Duration} of milliseconds
     * is clamped to {@code Long.MAX_VALUE} ms, so that a range check rejects it with its own message.
     *
     * @throws IllegalArgumentException {@code "2 sec (expected: a duration: 250ms, 2s, 5m, 1h, ...)"}
     */
    public static Duration parse(String text) {
        Matcher m = FORM.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException(text + " (expected: " + EXPECTED + ")");
        }
        BigInteger n = new BigInteger(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        long factor = switch (unit) {
            case "ms" -> 1;
            case "s" -> 1_000;
            case "m" -> 60_000;
            default -> 3_600_000;
        };
        BigInteger millis = n.multiply(BigInteger.valueOf(factor));
        return Duration.ofMillis(millis.compareTo(MAX_MILLIS) > 0 ? Long.MAX_VALUE : millis.longValue());
    }

    /** Returns the shortest config form of {@code d}: {@code 1h}, {@code 90s}, {@code 250ms}. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0 && ms != 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0 && ms != 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1_000 == 0) {
            return ms / 1_000 + "s";
        }
        return ms + "ms";
    }
}
