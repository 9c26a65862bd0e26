package io.svcproxy.proxy.dataplane;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.proxy.connlog.EndReason;
import io.svcproxy.proxy.connlog.OpenConnection;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * How a relayed TCP connection ends and is recorded: a drain marks or aborts its client channel from any thread,
 * and once the client channel closed its end goes to the connection log and metrics ({@link ConnectionRecorder}).
 */
final class ConnectionEnds {
    /** Why svcproxy itself closes a client channel from outside its event loop (a drain); unset otherwise. */
    static final AttributeKey<EndReason> END = AttributeKey.valueOf("svcproxy.end");

    private ConnectionEnds() {
    }

    /** Marks {@code channel}, a client channel about to be closed from any thread, as ended for {@code reason}. */
    static void markEnd(Channel channel, EndReason reason) {
        channel.attr(END).setIfAbsent(reason);
    }

    /**
     * Cuts the connection of client channel {@code client} (a drain deadline): both its client and its endpoint are
     * reset, as the relay resets a failed connection, so that neither reads a stream cut short as complete (a FIN
     * would end a close-delimited response or a dump as if it were whole). Any thread; done when the future is.
     */
    static Future<?> abort(Channel client, EndReason reason) {
        markEnd(client, reason);
        return client.eventLoop().submit(() -> {
            FrontendHandler frontend = client.pipeline().get(FrontendHandler.class);
            resetBoth(client, frontend == null ? null : frontend.outbound());
        });
    }

    /**
     * Resets both channels of a relayed connection on its event loop, the endpoint's first: the client's close would
     * close it with a FIN ({@code endpoint} {@code null}: none yet).
     */
    static void resetBoth(Channel client, Channel endpoint) {
        Relay.reset(endpoint);
        Relay.reset(client);
    }

    /**
     * Records the connection of client channel {@code inbound}, if it was given an endpoint, once it closed: by then
     * neither direction relays another byte. A drain marked on the channel comes first, then what its handler saw
     * ({@code end}: idle, giving up, an error), then the relay's own failure; a connection closed otherwise ended
     * with FINs. {@code relay} is {@code null} when the endpoint never connected.
     */
    static void record(ConnectionRecorder recorder, ServicePort servicePort, Channel inbound, long started,
                       EndReason end, Relay relay) {
        BackendState backend = inbound.attr(FrontendHandler.BACKEND).get();
        if (backend == null) {
            return;
        }
        EndReason reason = inbound.hasAttr(END) ? inbound.attr(END).get() : null;
        if (reason == null) {
            reason = end;
        }
        if (reason == null && relay != null && relay.failure() != null) {
            reason = ConnectErrors.endReason(relay.failure());
        }
        if (reason == null) {
            reason = EndReason.FIN;
        }
        recorder.ended(servicePort, started, (InetSocketAddress) inbound.remoteAddress(), backend.endpoint(),
                relay == null ? 0 : relay.up.bytes(), relay == null ? 0 : relay.down.bytes(), reason);
    }

    /**
     * Returns the connections of {@code port} given an endpoint and still open, by start. A connection that closes
     * meanwhile may be among them or not; it leaves {@link ServicePort#connections} before it is recorded (in
     * {@link FrontendHandler#channelInactive}), so one taken from here after a {@code recent()} snapshot is not in
     * that snapshot too. Any thread.
     */
    static List<OpenConnection> stillOpen(ServicePort port) {
        List<OpenConnection> out = new ArrayList<>();
        for (Channel inbound : port.connections()) {
            FrontendHandler frontend = inbound.pipeline().get(FrontendHandler.class);
            // hasAttr first: attr() alone would add an empty attribute to the connection
            boolean picked = inbound.hasAttr(FrontendHandler.BACKEND)
                    && inbound.attr(FrontendHandler.BACKEND).get() != null;
            if (frontend == null || !picked || !(inbound.remoteAddress() instanceof InetSocketAddress client)) {
                continue; // closed meanwhile (its handler removed), or not given an endpoint yet: no lease to replay
            }
            out.add(new OpenConnection(ConnectionRecorder.epochNanos(frontend.started()), client.getAddress(),
                    client.getPort()));
        }
        out.sort(Comparator.comparingLong(OpenConnection::startEpochNanos));
        return out;
    }
}
