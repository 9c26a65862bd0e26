package io.svcproxy.balancer.internal;

/**
 * The Maglev lookup table of {@code ip_vs_mh.c} (Eisenbud et al., NSDI 2016, §3.4): {@value #SIZE} slots
 * ({@code CONFIG_IP_VS_MH_TAB_INDEX} 12), each destination's permutation from two {@code hsiphash} keys of its
 * address and port, populated in list order, each destination taking {@code turns} slots per round
 * ({@code last_weight / gcd}, shifted right so the largest fits in {@value #TAB_BITS} bits). Building costs
 * O(M log M) expected; a lookup is one {@code hsiphash}.
 */
public final class MaglevTable {
    /** The table size M, a prime: {@code primes[12 - 8]}. */
    public static final int SIZE = 4093;

    /** {@code IP_VS_MH_TAB_BITS}: {@code CONFIG_IP_VS_MH_TAB_INDEX / 2}. */
    public static final int TAB_BITS = 6;

    /** {@code hash1} key word of {@code generate_hash_secret}, both halves. */
    public static final long HASH1 = 2654435761L;

    /** {@code hash2} key word of {@code generate_hash_secret}, both halves. */
    public static final long HASH2 = 2654446892L;

    private MaglevTable() {
    }

    /**
     * Returns {@code ip_vs_mh_hashkey}: {@code hsiphash} of the 32-bit value {@code offset + port + fold} with
     * the key {@code {key, key}}, as an unsigned number in a long.
     */
    public static long hashKey(int fold, int port, long key, int offset) {
        return HalfSipHash.hash1u32(offset + port + fold, key, key) & 0xFFFFFFFFL;
    }

    /** Returns the slot of a client: {@code hashKey(fold, port, HASH1, offset) % M}. */
    public static int slot(int fold, int port, int offset) {
        return (int) (hashKey(fold, port, HASH1, offset) % SIZE);
    }

    /**
     * Returns the table as destination indices, -1 for an empty slot ({@code ip_vs_mh_permutate} and
     * {@code ip_vs_mh_populate}).
     *
     * @param folds the folded address of each destination, in list order
     * @param ports the port of each destination
     * @param lastWeights the latest non-zero weight of each destination (0: it never had one and gets no slot)
     */
    public static int[] build(int[] folds, int[] ports, int[] lastWeights) {
        int count = folds.length;
        int[] table = new int[SIZE];
        java.util.Arrays.fill(table, -1);
        int g = Gcd.ofPositive(lastWeights);
        if (g < 1) {
            return table;
        }
        int maxWeight = 0;
        for (int w : lastWeights) {
            maxWeight = Math.max(maxWeight, w);
        }
        int rshift = Math.max(0, fls(maxWeight / g) - TAB_BITS);

        int[] perm = new int[count];
        int[] skip = new int[count];
        int[] turns = new int[count];
        for (int d = 0; d < count; d++) {
            perm[d] = (int) (hashKey(folds[d], ports[d], HASH1, 0) % SIZE);
            skip[d] = (int) (hashKey(folds[d], ports[d], HASH2, 0) % (SIZE - 1)) + 1;
            int lw = lastWeights[d];
            int t = (lw / g) >> rshift;
            turns[d] = t != 0 ? t : (lw != 0 ? 1 : 0);
        }

        boolean[] filled = new boolean[SIZE];
        int n = 0;
        int dtCount = 0;
        while (true) {
            int d = 0;
            while (d < count) {
                if (turns[d] < 1) {
                    d++;
                    continue;
                }
                int c = perm[d];
                while (filled[c]) {
                    perm[d] += skip[d];
                    if (perm[d] >= SIZE) {
                        perm[d] -= SIZE;
                    }
                    c = perm[d];
                }
                filled[c] = true;
                table[c] = d;
                if (++n == SIZE) {
                    return table;
                }
                if (++dtCount >= turns[d]) {
                    dtCount = 0;
                    d++;
                }
            }
        }
    }

    /** Returns {@code fls(x)}: the 1-based position of the highest set bit, 0 for 0. */
    static int fls(int x) {
        return 32 - Integer.numberOfLeadingZeros(x);
    }
}
