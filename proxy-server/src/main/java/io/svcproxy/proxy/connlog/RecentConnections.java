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
 *
 * <p>Memory: the ring is made at the first connection (a Service port without traffic holds none), then holds up
 * to {@code capacity} entries of about 130 bytes each (the entry and the client's address object, the channel's
 * own; the service, port and endpoint texts are shared): some 270 KB per Service port with traffic at the default capacity.
 */
public final class RecentConnections {
    /** The connections kept per Service port. */
    public static final int DEFAULT_CAPACITY = 2048;

    private final int capacity;
    private volatile AtomicReferenceArray<ConnectionLog.Entry> ring;
    private final AtomicLong next = new AtomicLong();

    /** Returns a ring of {@code capacity} entries. */
    public RecentConnections(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
        }
        this.capacity = capacity;
    }

    /** Keeps {@code entry}, forgetting the oldest when full. Any thread. */
    public void add(ConnectionLog.Entry entry) {
        AtomicReferenceArray<ConnectionLog.Entry> r = ring;
        if (r == null) {
            r = make();
        }
        long n = next.getAndIncrement();
        r.lazySet((int) (n % capacity), entry); // ordered store: no fence on the event loop, snapshot reads it
    }

    private synchronized AtomicReferenceArray<ConnectionLog.Entry> make() {
        if (ring == null) {
            ring = new AtomicReferenceArray<>(capacity);
        }
        return ring;
    }

    /** Returns the connections kept, oldest first (in the order they ended). */
    public List<ConnectionLog.Entry> snapshot() {
        AtomicReferenceArray<ConnectionLog.Entry> r = ring;
        if (r == null) {
            return List.of();
        }
        long end = next.get();
        int size = (int) Math.min(end, capacity);
        List<ConnectionLog.Entry> out = new ArrayList<>(size);
        for (long n = end - size; n < end; n++) {
            ConnectionLog.Entry e = r.get((int) (n % capacity));
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
        return capacity;
    }
}
