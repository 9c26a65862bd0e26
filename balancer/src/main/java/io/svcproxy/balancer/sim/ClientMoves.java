package io.svcproxy.balancer.sim;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;

/**
 * For {@code moved}: each client's endpoint before the first event (its last connection before) and after it
 * (its first connection after). Memory grows with the distinct client addresses, not with the connections.
 */
final class ClientMoves {
    private static final int NONE = -1;
    private final Map<InetAddress, int[]> clients = new HashMap<>();
    private boolean after;

    void startAfter() {
        after = true;
    }

    void saw(InetAddress client, int endpoint) {
        if (!after) {
            clients.computeIfAbsent(client, c -> new int[] {NONE, NONE})[0] = endpoint;
            return;
        }
        int[] e = clients.get(client);
        if (e != null && e[1] == NONE) {
            e[1] = endpoint;
        }
    }

    /** Returns the fraction of clients seen before and after whose endpoint changed; 0 when there are none. */
    double moved() {
        long both = 0;
        long changed = 0;
        for (int[] e : clients.values()) {
            if (e[1] != NONE) {
                both++;
                if (e[0] != e[1]) {
                    changed++;
                }
            }
        }
        return both == 0 ? 0 : (double) changed / both;
    }
}
