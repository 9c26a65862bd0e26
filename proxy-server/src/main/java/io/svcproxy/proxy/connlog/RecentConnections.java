package io.svcproxy.proxy.connlog;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The last connections of one Service port that ended, kept in memory for the "what if" card: a ring of a fixed
 * number of {@link ConnectionLog.Entry}s, the newest replacing the oldest. {@link #add} is lock-free (one atomic
 * increment and one store), so event loops of the same Service port never wait on each other; a {@link #snapshot}
 * taken while entries are added may miss the very newest ones, which the replay does not need.
 */
public final class RecentConnections {
    /** The connections kept per Service port. */
    public static final int DEFAULT_CAPACITY = 4096;

    private final AtomicReferenceArray<ConnectionLog.Entry> ring;
    private final AtomicLong next = new AtomicLong();

    /** Returns a ring of {@code capacity} entries. */
    public RecentConnections(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
        }
        this.ring = new AtomicReferenceArray<>(capacity);
    }

    /** Keeps {@code entry}, forgetting the oldest when full. Any thread. */
    public void add(ConnectionLog.Entry entry) {
        long n = next.getAndIncrement();
        ring.set((int) (n % ring.length()), entry);
    }

    /** Returns the connections kept, oldest first (in the order they ended). */
    public List<ConnectionLog.Entry> snapshot() {
        long end = next.get();
        int size = (int) Math.min(end, ring.length());
        List<ConnectionLog.Entry> out = new ArrayList<>(size);
        for (long n = end - size; n < end; n++) {
            ConnectionLog.Entry e = ring.get((int) (n % ring.length()));
            if (e != null) {
                out.add(e);
            }
        }
        return out;
    }

    /** Returns how many connections ended since this ring was made (kept or not). */
    public long total() {
        return next.get();
    }

    /** Returns how many it keeps at most. */
    public int capacity() {
        return ring.length();
    }
}
