package io.svcproxy.ingress;

import io.netty.channel.Channel;
import io.svcproxy.balancer.Backend;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.PickContext;
import java.util.function.Predicate;

/**
 * The seam to the L4 data plane: the current endpoint list and scheduler of a Service port, the very
 * {@link BackendSet} its ClusterIP listener picks from (same rr position, same counters). proxy-server implements
 * it over its reconciled Service table; the Ingress never keeps a copy.
 */
@FunctionalInterface
public interface BackendLookup {
    /** The port's current set, or {@code null} if the Service or the port is not (or no longer) defined. */
    BackendSet backendSet(ServiceBackend backend);

    /**
     * The endpoints of the port's set a request may take, as traffic to its ClusterIP may (its traffic policy), or
     * {@code null} for every ready one (the common case, and a lookup that knows no policies).
     */
    default Predicate<Backend> eligible(ServiceBackend backend) {
        return null;
    }

    /**
     * What a request to {@code backend} needs of its Service port, found at once (one lookup per request): its set,
     * the endpoints it may take, and what its endpoint connections send first; {@code null} when the port is not
     * defined.
     */
    default Target target(ServiceBackend backend) {
        BackendSet set = backendSet(backend);
        return set == null ? null : new Target(set, eligible(backend), null, Outcomes.NONE);
    }

    /**
     * What a request's endpoint connects, and its finding no endpoint, tell the Service port: reported as its
     * ClusterIP's TCP connections report theirs (the connect metrics, the endpoint's failure counts that outlier
     * detection ejects on, the no-endpoint count). Event-loop thread.
     */
    interface Outcomes {
        /** Reports nothing (a lookup without metrics or health, as in tests). */
        Outcomes NONE = new Outcomes() {
            @Override
            public void connected(BackendState backend, long nanos) {
            }

            @Override
            public void connectFailed(BackendState backend, Throwable cause) {
            }

            @Override
            public void noEndpoint() {
            }
        };

        /** A connect to {@code backend} succeeded after {@code nanos}. */
        void connected(BackendState backend, long nanos);

        /**
         * A connect to {@code backend} failed with {@code cause} (refused, reset, unreachable, timed out), or for want
         * of something on the proxy's own host (no socket, no local port: EMFILE, EADDRNOTAVAIL), which the
         * implementation tells apart (the data plane's one classifier, as for the TCP relay's connects).
         */
        void connectFailed(BackendState backend, Throwable cause);

        /** No endpoint could take a request (answered 503). */
        void noEndpoint();
    }

    /**
     * Bytes an endpoint connection of a Service port sends before anything else, for one client connection: the PROXY
     * protocol header of a port with {@code proxyProtocol}. Such a connection carries that one client's identity, so
     * it serves that request only (it is never pooled for another).
     */
    @FunctionalInterface
    interface Preamble {
        /** Writes (without flushing) the preamble of {@code client}'s connection to {@code endpoint}. */
        void write(Channel endpoint, Channel client);
    }

    /**
     * A Service port as a request sees it.
     *
     * @param set      the port's endpoint set and scheduler
     * @param eligible the endpoints a request may take ({@link #eligible}), {@code null} for every ready one
     * @param preamble what its endpoint connections send first, or {@code null} for nothing
     * @param outcomes where its connects are reported
     */
    record Target(BackendSet set, Predicate<Backend> eligible, Preamble preamble, Outcomes outcomes) {
        public Target {
            java.util.Objects.requireNonNull(set, "set");
            java.util.Objects.requireNonNull(outcomes, "outcomes");
        }

        /** {@code context}, narrowed to what {@link #eligible} allows. */
        public PickContext narrow(PickContext context) {
            return eligible == null ? context : context.onlyEligible(eligible);
        }
    }
}
