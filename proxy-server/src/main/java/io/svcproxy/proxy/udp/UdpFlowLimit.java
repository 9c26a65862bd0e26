package io.svcproxy.proxy.udp;

import java.util.concurrent.atomic.AtomicInteger;

/** The proxy-wide count of UDP flows against {@code proxy.maxUdpFlows}; shared by every UDP Service port. */
public final class UdpFlowLimit {
    private final AtomicInteger flows = new AtomicInteger();
    private volatile int max;

    public UdpFlowLimit(int max) {
        this.max = max;
    }

    /** Sets the limit for flows started from now on. */
    public void setMax(int max) {
        this.max = max;
    }

    /** Takes a place for a new flow; {@code false} when the limit is reached. Any thread. */
    boolean tryAcquire() {
        int limit = max;
        while (true) {
            int n = flows.get();
            if (n >= limit) {
                return false;
            }
            if (flows.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** Gives back the place of a flow that ended. */
    void release() {
        flows.decrementAndGet();
    }

    /** Returns the flows held now, on every UDP Service port. */
    public int flows() {
        return flows.get();
    }
}
