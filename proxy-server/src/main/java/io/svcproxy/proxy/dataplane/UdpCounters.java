package io.svcproxy.proxy.dataplane;

import java.util.concurrent.atomic.LongAdder;

/**
 * The datagram counters of a UDP Service port: datagrams each way and datagrams dropped, by reason. Written by
 * the UDP data plane's event loops, read by the metrics and the admin API.
 */
public final class UdpCounters {
    /** Why a datagram was dropped: the {@code reason} label of {@code svcproxy_udp_dropped_total}. */
    public enum Drop {
        /** No endpoint was usable for a new flow. */
        NO_ENDPOINT("no_endpoint"),
        /** {@code proxy.maxUdpFlows} flows were held already. */
        FLOW_LIMIT("flow_limit"),
        /** The listener drains (shutdown): its flows go on, no new flow is taken, whatever the endpoints. */
        DRAINING("draining"),
        /** The endpoint refused (ICMP port unreachable): its flow ends, the next datagram is scheduled again. */
        UNREACHABLE("unreachable"),
        /** Larger than 65,507 bytes of payload. */
        TOO_BIG("too_big"),
        /**
         * Of 0 bytes, on the NIO transport: Netty's NIO datagram channel takes an empty message as written and sends
         * nothing (epoll relays it).
         */
        EMPTY("empty"),
        /** A send failed, or the socket's buffer was full (UDP is never queued without bound). */
        ERROR("error");

        private final String label;

        Drop(String label) {
            this.label = label;
        }

        /** Returns the metric label. */
        public String label() {
            return label;
        }
    }

    private final LongAdder toEndpoint = new LongAdder();
    private final LongAdder toClient = new LongAdder();
    private final LongAdder[] dropped = new LongAdder[Drop.values().length];

    UdpCounters() {
        for (int i = 0; i < dropped.length; i++) {
            dropped[i] = new LongAdder();
        }
    }

    /** Returns the datagrams relayed from clients to endpoints. */
    public long datagramsToEndpoint() {
        return toEndpoint.sum();
    }

    /** Returns the datagrams relayed from endpoints to clients. */
    public long datagramsToClient() {
        return toClient.sum();
    }

    /** Returns the datagrams dropped for {@code reason}. */
    public long dropped(Drop reason) {
        return dropped[reason.ordinal()].sum();
    }

    /** Counts a datagram relayed to an endpoint. */
    public void toEndpoint() {
        toEndpoint.increment();
    }

    /** Counts a datagram relayed to a client. */
    public void toClient() {
        toClient.increment();
    }

    /** Counts a dropped datagram. */
    public void drop(Drop reason) {
        dropped[reason.ordinal()].increment();
    }
}
