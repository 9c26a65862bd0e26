package io.svcproxy.balancer.internal;

/**
 * The kernel's {@code hsiphash} on 64-bit machines ({@code lib/siphash.c}, {@code BITS_PER_LONG == 64}): there
 * "HalfSipHash" is in fact SipHash-1-3 with a 2x64-bit key, and the 64-bit result truncated to 32 bits. Messages
 * are read little-endian, as on x86-64 and arm64.
 */
public final class HalfSipHash {
    private HalfSipHash() {
    }

    /** Returns {@code hsiphash(data, data.length, {k0, k1})}. */
    public static int hash(byte[] data, long k0, long k1) {
        long v0 = 0x736f6d6570736575L ^ k0;
        long v1 = 0x646f72616e646f6dL ^ k1;
        long v2 = 0x6c7967656e657261L ^ k0;
        long v3 = 0x7465646279746573L ^ k1;
        int len = data.length;
        long b = ((long) len) << 56;
        int end = len - (len & 7);
        for (int i = 0; i < end; i += 8) {
            long m = 0;
            for (int j = 7; j >= 0; j--) {
                m = m << 8 | (data[i + j] & 0xFFL);
            }
            v3 ^= m;
            // one compression round (SipHash-1-3)
            v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
            v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
            v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
            v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
            v0 ^= m;
        }
        for (int j = (len & 7) - 1; j >= 0; j--) {
            b |= (data[end + j] & 0xFFL) << (8 * j);
        }
        return finish(v0, v1, v2, v3, b);
    }

    /** Returns {@code hsiphash_1u32(first, {k0, k1})}, equal to {@link #hash} of the 4 bytes of {@code first}. */
    public static int hash1u32(int first, long k0, long k1) {
        return finish(0x736f6d6570736575L ^ k0, 0x646f72616e646f6dL ^ k1, 0x6c7967656e657261L ^ k0,
                0x7465646279746573L ^ k1, 4L << 56 | (first & 0xFFFFFFFFL));
    }

    // HPOSTAMBLE: the last block, one compression round, then three finalization rounds.
    private static int finish(long v0, long v1, long v2, long v3, long b) {
        v3 ^= b;
        for (int round = 0; round < 4; round++) {
            if (round == 1) {
                v0 ^= b;
                v2 ^= 0xff;
            }
            v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
            v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
            v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
            v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
        }
        return (int) ((v0 ^ v1) ^ (v2 ^ v3));
    }
}
