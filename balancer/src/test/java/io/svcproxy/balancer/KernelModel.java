package io.svcproxy.balancer;

import io.svcproxy.balancer.internal.HalfSipHash;
import java.util.ArrayList;
import java.util.List;

/**
 * A small reference model of each IPVS scheduler, written straight from the pseudo-code of docs/ipvs.md and the
 * kernel sources, independently of the implementation. Decisions are list indices, -1 for none. "unavailable"
 * stands for IP_VS_DEST_F_OVERLOAD, which is how svcproxy treats a backend already tried.
 */
final class KernelModel {
    record Dest(int weight, int lastWeight, long active, long inactive, boolean unavailable, int fold, int port) {
        boolean eligible() {
            return !unavailable && weight > 0;
        }
    }

    private KernelModel() {
    }

    static List<Dest> dests(List<? extends Backend> backends, PickContext ctx) {
        List<Dest> out = new ArrayList<>();
        for (Backend b : backends) {
            out.add(new Dest(b.weight(), b.lastWeight(), b.activeConnections(), b.inactiveConnections(),
                    ctx.isAvoided(b), fold(b.address().getAddress()), b.port()));
        }
        return out;
    }

    static int fold(byte[] a) {
        long f = 0;
        for (int i = 0; i < a.length; i += 4) {
            f ^= ((a[i] & 0xFFL) << 24) + ((a[i + 1] & 0xFFL) << 16) + ((a[i + 2] & 0xFFL) << 8) + (a[i + 3] & 0xFFL);
        }
        return (int) f;
    }

    /** rr: the cursor (-1 = list head) moves to each pick; a pick scans one full cycle after it. */
    static final class Rr {
        int cursor = -1;

        int pick(List<Dest> list) {
            int n = list.size();
            List<Integer> order = new ArrayList<>();
            for (int i = cursor + 1; i < n; i++) {
                order.add(i);
            }
            for (int i = 0; i <= cursor && i < n; i++) {
                order.add(i);
            }
            for (int i : order) {
                if (list.get(i).eligible()) {
                    cursor = i;
                    return i;
                }
            }
            return -1;
        }
    }

    /** wrr without unavailable backends: the classic cycle, cw from mw down by di, picking w >= cw in order. */
    static List<Integer> wrrCycle(List<Dest> list) {
        int di = 0;
        int max = 0;
        for (Dest d : list) {
            if (d.weight > 0) {
                di = di == 0 ? d.weight : java.math.BigInteger.valueOf(di).gcd(java.math.BigInteger.valueOf(d.weight)).intValue();
            }
            max = Math.max(max, d.weight);
        }
        if (di == 0) {
            di = 1;
        }
        List<Integer> cycle = new ArrayList<>();
        for (int cw = max - (di - 1); cw > 0; cw -= di) {
            for (int i = 0; i < list.size(); i++) {
                if (list.get(i).weight >= cw) {
                    cycle.add(i);
                }
            }
        }
        return cycle;
    }

    static int lc(List<Dest> list) {
        int least = -1;
        for (int i = 0; i < list.size(); i++) {
            Dest d = list.get(i);
            if (d.eligible() && (least < 0 || (d.active << 8) + d.inactive < overhead(list.get(least)))) {
                least = i;
            }
        }
        return least;
    }

    private static long overhead(Dest d) {
        return (d.active << 8) + d.inactive;
    }

    /** wlc and sed: the first eligible index whose cost / weight is minimal. */
    static int weightedMin(List<Dest> list, boolean sed) {
        int best = -1;
        for (int i = 0; i < list.size(); i++) {
            Dest d = list.get(i);
            if (!d.eligible()) {
                continue;
            }
            if (best < 0 || lessThan(list.get(i), list.get(best), sed)) {
                best = i;
            }
        }
        return best;
    }

    /** cost(a) / w(a) < cost(b) / w(b), exactly. */
    private static boolean lessThan(Dest a, Dest b, boolean sed) {
        long ca = sed ? a.active + 1 : overhead(a);
        long cb = sed ? b.active + 1 : overhead(b);
        return java.math.BigInteger.valueOf(ca).multiply(java.math.BigInteger.valueOf(b.weight))
                .compareTo(java.math.BigInteger.valueOf(cb).multiply(java.math.BigInteger.valueOf(a.weight))) < 0;
    }

    static int nq(List<Dest> list) {
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i).eligible() && list.get(i).active == 0) {
                return i;
            }
        }
        return weightedMin(list, true);
    }

    /** hash_32(val, 8), computed in longs. */
    static int hash8(long val) {
        return (int) ((((val & 0xFFFFFFFFL) * 0x61C88647L) & 0xFFFFFFFFL) >>> 24);
    }

    static int shKey(int fold, int port, long offset) {
        return (int) ((offset + hash8((fold & 0xFFFFFFFFL) + port)) & 255);
    }

    static int[] dhTable(int n) {
        int[] t = new int[256];
        for (int i = 0; i < 256; i++) {
            t[i] = n == 0 ? -1 : i % n;
        }
        return t;
    }

    static int[] shTable(List<Dest> list) {
        int[] t = new int[256];
        int cur = 0;
        int cnt = 0;
        for (int i = 0; i < 256; i++) {
            if (list.isEmpty()) {
                t[i] = -1;
                continue;
            }
            t[i] = cur;
            cnt++;
            if (cnt >= list.get(cur).weight) {
                cur = (cur + 1) % list.size();
                cnt = 0;
            }
        }
        return t;
    }

    /** sh (and dh on retries): lookup, with the kernel's fallback walk when asked. */
    static int shPick(List<Dest> list, int[] table, int fold, int port, boolean fallback) {
        int ih = shKey(fold, port, 0);
        int d = table[ih];
        if (d < 0) {
            return -1;
        }
        if (list.get(d).eligible()) {
            return d;
        }
        if (!fallback) {
            return -1;
        }
        for (int off = 0; off < 256; off++) {
            int roff = (off + ih) % 256;
            d = table[shKey(fold, port, roff)];
            if (d < 0) {
                break;
            }
            if (list.get(d).eligible()) {
                return d;
            }
        }
        return -1;
    }

    static final int M = 4093;
    static final long HASH1 = 2654435761L;
    static final long HASH2 = 2654446892L;

    static long mhKey(int fold, int port, long key, long offset) {
        long v = (offset + port + (fold & 0xFFFFFFFFL)) & 0xFFFFFFFFL;
        byte[] le = {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
        return HalfSipHash.hash(le, key, key) & 0xFFFFFFFFL;
    }

    static int[] mhTable(List<Dest> list) {
        int[] table = new int[M];
        java.util.Arrays.fill(table, -1);
        int g = 0;
        int mw = 0;
        for (Dest d : list) {
            if (d.lastWeight > 0) {
                g = g == 0 ? d.lastWeight : java.math.BigInteger.valueOf(g).gcd(java.math.BigInteger.valueOf(d.lastWeight)).intValue();
            }
            mw = Math.max(mw, d.lastWeight);
        }
        if (g < 1) {
            return table;
        }
        int fls = 0;
        while ((mw / g) >> fls != 0) {
            fls++;
        }
        int rshift = Math.max(0, fls - 6);
        int n = list.size();
        long[] next = new long[n];
        long[] skip = new long[n];
        int[] turns = new int[n];
        for (int i = 0; i < n; i++) {
            Dest d = list.get(i);
            next[i] = mhKey(d.fold, d.port, HASH1, 0) % M;
            skip[i] = mhKey(d.fold, d.port, HASH2, 0) % (M - 1) + 1;
            int t = (d.lastWeight / g) >> rshift;
            turns[i] = t > 0 ? t : (d.lastWeight != 0 ? 1 : 0);
        }
        boolean[] filled = new boolean[M];
        int filledCount = 0;
        while (true) {
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < turns[i]; k++) {
                    while (filled[(int) next[i]]) {
                        next[i] = (next[i] + skip[i]) % M;
                    }
                    filled[(int) next[i]] = true;
                    table[(int) next[i]] = i;
                    if (++filledCount == M) {
                        return table;
                    }
                }
            }
        }
    }

    static int mhPick(List<Dest> list, int[] table, int fold, int port, boolean fallback) {
        int h = (int) (mhKey(fold, port, HASH1, 0) % M);
        int d = table[h];
        if (d < 0) {
            return -1;
        }
        if (list.get(d).eligible()) {
            return d;
        }
        if (!fallback) {
            return -1;
        }
        for (int off = 0; off < M; off++) {
            int roff = (off + h) % M;
            d = table[(int) (mhKey(fold, port, HASH1, roff) % M)];
            if (d < 0) {
                break;
            }
            if (list.get(d).eligible()) {
                return d;
            }
        }
        return -1;
    }
}
