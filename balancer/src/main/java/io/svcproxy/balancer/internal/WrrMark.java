package io.svcproxy.balancer.internal;

import java.util.function.IntPredicate;

/**
 * The stepping state of {@code ip_vs_wrr.c} ({@code struct ip_vs_wrr_mark}): the current list position
 * {@code cl} (-1 is the list head), the current weight {@code cw}, the maximum weight {@code mw} (reduced by
 * {@code di - 1}) and the decreasing interval {@code di} (the gcd of the positive weights). Not thread-safe: the
 * owning scheduler serializes {@link #next}, as the kernel does with {@code svc->sched_lock}.
 */
public final class WrrMark {
    private static final int HEAD = -1;
    private static final int NONE = -2;

    private int cl;
    private int cw;
    private final int mw;
    private final int di;

    private WrrMark(int cl, int cw, int mw, int di) {
        this.cl = cl;
        this.cw = cw;
        this.mw = mw;
        this.di = di;
    }

    /** Returns the state of {@code ip_vs_wrr_init_svc}: at the head, {@code cw = mw}. */
    public static WrrMark init(int[] weights) {
        int di = di(weights);
        int mw = maxWeight(weights) - (di - 1);
        return new WrrMark(HEAD, mw, mw, di);
    }

    /**
     * Returns the state after {@code ip_vs_wrr_dest_changed} with the new weights: back at the head, with
     * {@code cw} kept when it still fits ({@code cw = mw} if it is above the new {@code mw} or 0, else rounded
     * to a multiple of the new {@code di} plus 1).
     */
    public WrrMark changed(int[] weights) {
        int newDi = di(weights);
        int newMw = maxWeight(weights) - (newDi - 1);
        int newCw;
        synchronized (this) {
            newCw = cw;
        }
        if (newCw > newMw || newCw == 0) {
            newCw = newMw;
        } else if (newDi > 1) {
            newCw = (newCw / newDi) * newDi + 1;
        }
        return new WrrMark(HEAD, newCw, newMw, newDi);
    }

    /**
     * Returns the index of the next destination, or -1 if none is available: {@code ip_vs_wrr_schedule}.
     * {@code unavailable} plays the part of {@code IP_VS_DEST_F_OVERLOAD}. Callers hold this object's lock.
     */
    public int next(int[] weights, IntPredicate unavailable) {
        int n = weights.length;
        int dest = cl;
        if (mw == 0) {
            return -1; // err_noavail: cl stays
        }
        int last = dest;
        int stop = NONE;
        boolean lastPass = false;
        boolean restarted = false;
        while (true) {
            for (dest = dest + 1; dest < n; dest++) {
                if (!unavailable.test(dest) && weights[dest] >= cw) {
                    cl = dest;
                    return dest;
                }
                if (dest == stop) {
                    cl = dest; // err_over
                    return -1;
                }
            }
            dest = HEAD;
            cw -= di;
            if (cw <= 0) {
                cw = mw;
                // Stop if the last pass (w >= 1) was already made from the first destination.
                if (lastPass || last == HEAD) {
                    cl = dest; // err_over
                    return -1;
                }
                restarted = true;
            }
            lastPass = cw <= di;
            if (lastPass && restarted && last != HEAD) {
                // The first traversal at w >= 1 covered only what follows 'last'; now check up to 'last'.
                stop = last;
            }
        }
    }

    /** Returns the current weight, for tests and diagnostics. */
    public synchronized int currentWeight() {
        return cw;
    }

    /** Returns the maximum weight reduced by {@code di - 1}. */
    public int maxWeight() {
        return mw;
    }

    /** Returns the decreasing interval, the gcd of the positive weights (1 if there is none). */
    public int interval() {
        return di;
    }

    private static int di(int[] weights) {
        int g = Gcd.ofPositive(weights);
        return g > 0 ? g : 1;
    }

    private static int maxWeight(int[] weights) {
        int max = 0;
        for (int w : weights) {
            max = Math.max(max, w);
        }
        return max;
    }
}
