package io.svcproxy.proxy.udp;

import io.svcproxy.balancer.BackendState;
import java.net.InetSocketAddress;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The clients (address and port) whose flow ended with its endpoint's refusal, each with that endpoint: the client's
 * next flow is scheduled as a TCP connect's retry is, with the refusing endpoint avoided (so ignoring ClientIP
 * affinity, and walking on under dh, sh and mh). The refusal is seen by the flow socket's read or at its next send,
 * after the flow's datagram is lost; only the client's next datagram can go elsewhere (SPEC: a flow refused is
 * scheduled again on its next datagram). A client is remembered for the idle timeout of the flow that was refused,
 * and once: the flow its next datagram starts is the retry. Sources cost nothing to forge, so at most {@link #MAX}
 * clients are remembered per listener, the longest-remembered forgotten first (that client's next datagram is then
 * scheduled as a first one). Owned by the listener's event loop; time is passed in.
 */
final class RefusedClients {
    /** Clients remembered at most (some 150 bytes each), under a flood of refusals from forged sources. */
    static final int MAX = 4096;

    private record Refusal(BackendState endpoint, long until) {
    }

    /** In the order of the refusals: the eldest entry is the first to expire (but for a reload of the timeout). */
    private final LinkedHashMap<ClientKey, Refusal> refused = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<ClientKey, Refusal> eldest) {
            return size() > MAX;
        }
    };
    private final ClientKey probe = new ClientKey();

    /** Remembers that {@code endpoint} refused {@code client}'s flow, until {@code until} (System.nanoTime()). */
    void add(InetSocketAddress client, BackendState endpoint, long now, long until) {
        for (Iterator<Refusal> it = refused.values().iterator(); it.hasNext(); ) {
            if (it.next().until - now > 0) {
                break;
            }
            it.remove();
        }
        ClientKey key = ClientKey.of(client);
        refused.remove(key); // put again at the end: the map stays in the order of the refusals
        refused.put(key, new Refusal(endpoint, until));
    }

    /** Returns the endpoint that refused {@code client}'s last flow and forgets it, or {@code null}. */
    BackendState take(InetSocketAddress client, long now) {
        if (refused.isEmpty()) { // nearly always: no lookup for a new flow
            return null;
        }
        Refusal r = refused.remove(probe.set(client));
        return r != null && r.until - now > 0 ? r.endpoint : null;
    }

    /** Returns the clients remembered, expired or not. */
    int size() {
        return refused.size();
    }
}
