package io.svcproxy.balancer.internal;

/** The greatest common divisor of weights, as {@code lib/gcd.c} and the schedulers' {@code *_gcd_weight}. */
public final class Gcd {
    private Gcd() {
    }

    /** Returns the gcd of two non-negative numbers; {@code gcd(a, 0) == a}. */
    public static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    /** Returns the gcd of the positive values, ignoring zeros and negatives, or 0 if there is none. */
    public static int ofPositive(int[] values) {
        int g = 0;
        for (int v : values) {
            if (v > 0) {
                g = g > 0 ? gcd(v, g) : v;
            }
        }
        return g;
    }
}
