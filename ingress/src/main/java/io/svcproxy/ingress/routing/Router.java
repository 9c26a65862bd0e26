package io.svcproxy.ingress.routing;

/**
 * Holds the current {@link RoutingTable}: a reload publishes a new table, a request reads it with one volatile
 * read, as the L4 data plane reads its endpoint sets.
 */
public final class Router<B> {
    private volatile RoutingTable<B> table = RoutingTable.empty();

    /** Publishes a table compiled by a reload. */
    public void update(RoutingTable<B> next) {
        table = next;
    }

    /** The current table, for a request that needs more than {@link #route} (one read per request). */
    public RoutingTable<B> table() {
        return table;
    }

    /** The route of a request, or {@code null} for a 404. */
    public Route<B> route(String hostHeader, String target) {
        return table.match(hostHeader, target);
    }

}
