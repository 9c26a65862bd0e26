package io.svcproxy.balancer.sim;

import java.util.List;

/**
 * What one scheduler did with the trace.
 *
 * @param scheduler the scheduler's IPVS name
 * @param endpoints every endpoint that was in the list, in the order they first appeared (the first list's, in
 *     the scheduling order, then added ones)
 * @param connections connections given an endpoint
 * @param refused connections no endpoint could take (the proxy closes them at once)
 * @param imbalance the largest endpoint's connections over the mean of the endpoints that had a weight above 0
 * @param peakImbalance the same for {@code peakActive}
 * @param moved the fraction of clients seen before and after the first event whose endpoint changed
 * @param timeline active connections per endpoint over time
 */
public record SchedulerResult(String scheduler, List<EndpointResult> endpoints, long connections, long refused,
                              double imbalance, double peakImbalance, double moved, Timeline timeline) {
    /**
     * One endpoint's numbers.
     *
     * @param endpoint {@code ip:port}
     * @param index its index in the timeline
     * @param connections connections it was given
     * @param peakActive the most connections it held at once
     * @param share its connections over all given an endpoint
     */
    public record EndpointResult(String endpoint, int index, long connections, int peakActive, double share) {
    }

    /** Returns the connections of {@code endpoint} ({@code ip:port}), 0 if it never appeared. */
    public long connectionsOf(String endpoint) {
        for (EndpointResult e : endpoints) {
            if (e.endpoint().equals(endpoint)) {
                return e.connections();
            }
        }
        return 0;
    }
}
