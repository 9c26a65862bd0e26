package io.svcproxy.balancer.sim;

import java.util.ArrayList;
import java.util.List;

/**
 * Active connections per endpoint over time, in bounded memory: at most {@link #MAX_BUCKETS} buckets of equal
 * width, each holding the highest count each endpoint reached in it. When the trace outgrows them, adjacent
 * buckets merge and the width doubles.
 */
public final class Timeline {
    /** The most buckets kept. */
    public static final int MAX_BUCKETS = 512;
    private static final long FIRST_WIDTH = 1_000_000L; // 1 ms

    private long origin = Long.MIN_VALUE;
    private long width = FIRST_WIDTH;
    private final List<int[]> buckets = new ArrayList<>();
    private int[] current = new int[0];

    /** Records that endpoint {@code index} has {@code active} connections from time {@code at} on. */
    void record(long at, int index, int active) {
        if (origin == Long.MIN_VALUE) {
            origin = at;
        }
        if (current.length <= index) {
            current = java.util.Arrays.copyOf(current, index + 1);
        }
        long offset = Math.max(0, at - origin);
        while (offset / width >= MAX_BUCKETS) {
            merge();
        }
        int b = (int) (offset / width);
        while (buckets.size() <= b) {
            // a new bucket starts from the counts of the moment: nothing may start or end in it
            buckets.add(current.clone());
        }
        current[index] = active;
        int[] row = buckets.get(b);
        if (row.length <= index) {
            row = java.util.Arrays.copyOf(row, index + 1);
            buckets.set(b, row);
        }
        row[index] = Math.max(row[index], active);
    }

    private void merge() {
        List<int[]> merged = new ArrayList<>((buckets.size() + 1) / 2);
        for (int i = 0; i < buckets.size(); i += 2) {
            int[] a = buckets.get(i);
            int[] b = i + 1 < buckets.size() ? buckets.get(i + 1) : new int[0];
            int[] m = new int[Math.max(a.length, b.length)];
            for (int j = 0; j < m.length; j++) {
                m[j] = Math.max(j < a.length ? a[j] : 0, j < b.length ? b[j] : 0);
            }
            merged.add(m);
        }
        buckets.clear();
        buckets.addAll(merged);
        width *= 2;
    }

    /** Returns the time of the first bucket's start, in nanoseconds of the trace's clock (0 when empty). */
    public long origin() {
        return origin == Long.MIN_VALUE ? 0 : origin;
    }

    /** Returns the width of a bucket in nanoseconds. */
    public long width() {
        return width;
    }

    /** Returns the number of buckets. */
    public int size() {
        return buckets.size();
    }

    /** Returns the peak of endpoint {@code index} in bucket {@code bucket}. */
    public int peak(int bucket, int index) {
        int[] row = buckets.get(bucket);
        return index < row.length ? row[index] : 0;
    }
}
