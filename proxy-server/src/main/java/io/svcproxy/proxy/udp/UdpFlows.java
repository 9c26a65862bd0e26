package io.svcproxy.proxy.udp;

import io.netty.channel.EventLoop;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.config.PortSpec;
import io.svcproxy.proxy.dataplane.AddressKind;
import io.svcproxy.proxy.dataplane.AddressRules;
import io.svcproxy.proxy.dataplane.ConnectionRecorder;
import io.svcproxy.proxy.dataplane.DataPlaneSettings;
import io.svcproxy.proxy.dataplane.Rejection;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.UdpCounters.Drop;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The flows of one UDP listener, from start to end: a new flow's admission (draining, source ranges and traffic
 * policy, {@code maxUdpFlows}, the Service's connection limits) and its endpoint, picked by the Service port's
 * scheduler; its idle timer; its check against the endpoint list in force; and its end, once, with its lease, its
 * places and its socket given back and its line in the connection log. {@link UdpListener} relays the datagrams.
 * Owned by the listener's event loop, but for {@link #stopNew} and {@link #endpointsChanged} (any thread).
 */
final class UdpFlows {
    /** The UDP listener's logger: its flows' lines are the listener's. */
    private static final Logger log = LoggerFactory.getLogger(UdpListener.class);

    /** Opens the connected socket toward a new flow's endpoint. */
    interface Opener {
        FlowSocket open(UdpFlow flow, InetSocketAddress endpoint) throws IOException;
    }

    private final ServicePort servicePort;
    /** The listener's address: the destination the scheduler sees (dh, mh with the port flag). */
    private final InetSocketAddress address;
    private final Supplier<AddressKind> kind;
    private final EventLoop loop;
    private final UdpFlowLimit limit;
    private final Supplier<DataPlaneSettings> settings;
    private final ConnectionRecorder recorder;
    /** Where an endpoint's refusal, or its flow's answers owed at the end, are counted as a TCP connect's failure. */
    private final ProxyMetrics metrics;
    private final FlowTable table = new FlowTable();
    /** The clients whose last flow their endpoint refused: their next flow avoids it. */
    private final RefusedClients refusedClients = new RefusedClients();
    private volatile boolean accepting = true;

    UdpFlows(ServicePort servicePort, InetSocketAddress address, Supplier<AddressKind> kind, EventLoop loop,
             UdpFlowLimit limit, Supplier<DataPlaneSettings> settings, ConnectionRecorder recorder,
             ProxyMetrics metrics) {
        this.servicePort = servicePort;
        this.address = address;
        this.kind = kind;
        this.loop = loop;
        this.limit = limit;
        this.settings = settings;
        this.recorder = recorder;
        this.metrics = metrics;
    }

    /** Returns {@code client}'s flow if it has one that may go on, else {@code null} (ending one that may not). */
    UdpFlow current(InetSocketAddress client, long now) {
        UdpFlow flow = table.get(client, now);
        return flow != null && stillUsable(flow) ? flow : null;
    }

    /**
     * Starts a flow for {@code client}, or counts why not and returns {@code null}. When the endpoint of the client's
     * last flow refused it (seen by the flow socket's read, or at the send of this datagram), another endpoint is
     * picked when one can take it, as a TCP connect's retry, else that endpoint again (it may be back; SPEC: the next
     * datagram is scheduled again).
     */
    UdpFlow start(InetSocketAddress client, long now, Opener opener) {
        UdpFlow stale = table.find(client);
        if (stale != null) {
            endQuiet(stale, FlowEnd.EXPIRED);
        }
        if (!accepting) { // draining: no new flow is taken, whatever the endpoints
            servicePort.udp().drop(Drop.DRAINING);
            return null;
        }
        AddressKind arrivedOn = kind.get();
        servicePort.countArrival(arrivedOn); // every new flow, also one that a refusal met at a send starts
        AddressRules.Decision decision = AddressRules.decide(servicePort, arrivedOn, client.getAddress(),
                settings.get());
        if (decision.refused()) {
            return null;
        }
        if (!limit.tryAcquire()) {
            servicePort.udp().drop(Drop.FLOW_LIMIT);
            return null;
        }
        // the Service's maxConnections and maxConnectionsPerClient hold for its flows as for TCP's connections
        int perClient = servicePort.spec().service().maxConnectionsPerClient();
        Rejection refused = servicePort.admit(client.getAddress(), perClient);
        if (refused != null) {
            limit.release();
            servicePort.countRejected(refused);
            return null;
        }
        PickContext context = PickContext.of(client.getAddress(), client.getPort(), address.getAddress());
        if (decision.eligible() != null) {
            context = context.onlyEligible(decision.eligible());
        }
        BackendSet set = servicePort.backendSet(); // read once: the flow is checked against the list it came from
        BackendState backend = null;
        BackendState refusing = refusedClients.take(client, now);
        if (refusing != null) {
            backend = set.pick(context.withAvoided(refusing));
        }
        if (backend == null) {
            backend = set.pick(context);
        }
        if (backend == null) {
            limit.release();
            servicePort.release(client.getAddress(), perClient > 0);
            if (!AddressRules.countNoEndpoint(servicePort, set, decision.eligible(), client.getAddress())) {
                servicePort.udp().drop(Drop.NO_ENDPOINT);
            }
            return null;
        }
        UdpFlow flow = new UdpFlow(client, backend, backend.counters().lease(), idleNanos(),
                servicePort.spec().port().udpResponses(), now);
        flow.checkedAgainst = set;
        flow.perClient = perClient > 0;
        try {
            flow.socket = opener.open(flow, backend.socketAddress());
        } catch (IOException e) {
            log.debug("Flow socket failed service={} client={} endpoint={}: {}", servicePort.serviceLabel(),
                    client, backend.endpoint(), e.toString());
            servicePort.udp().drop(Drop.ERROR);
            end(flow, FlowEnd.SOCKET_FAILED); // releases the lease and the place, logs the flow as an error
            return null;
        }
        if (flow.ended) { // the channel's connect failed at once: counted and ended by failed()
            return null;
        }
        table.add(flow);
        scheduleExpiry(flow, table.nanosLeft(flow, now));
        log.debug("New flow service={} port={} client={} endpoint={}", servicePort.serviceLabel(),
                servicePort.portLabel(), client, backend.endpoint());
        return flow;
    }

    /** Records the client's datagram just sent on {@code flow}. */
    void clientSent(UdpFlow flow, long now) {
        long before = table.timeout(flow);
        table.clientSent(flow, now, idleNanos());
        retimeIfSooner(flow, before, now);
    }

    /**
     * Records the endpoint's datagram about to be relayed on {@code flow}; returns whether it is the last one the
     * flow waits for (then the caller ends it, with {@link FlowEnd#RESPONSES}, once it is relayed).
     */
    boolean endpointSent(UdpFlow flow, long now) {
        long before = table.timeout(flow);
        boolean last = table.endpointSent(flow, now, idleNanos());
        if (!last) {
            retimeIfSooner(flow, before, now);
        }
        return last;
    }

    /**
     * Returns whether {@code flow}'s endpoint is still usable in the list in force, ending the flow if not. The
     * list is scanned only when it changed since the flow's last check (one reference compare per datagram).
     */
    boolean stillUsable(UdpFlow flow) {
        BackendSet set = servicePort.backendSet(); // read once: the flow is checked against the list it came from
        if (set == flow.checkedAgainst) {
            return true;
        }
        // the spec (whose endpoints say which are bypassed) read after the list: at least as new as it, as
        // ServicePort.update writes the spec first; one newer than the list, in the moment between the two writes,
        // may at worst end a flow that the next list would keep
        if (!FlowTable.usable(flow, set, servicePort.spec().endpoints())) {
            end(flow, FlowEnd.NOT_USABLE);
            return false;
        }
        flow.checkedAgainst = set;
        return true;
    }

    /**
     * Ends, on the loop, the flows whose endpoint is no longer usable in the list in force: a flow never outlives
     * its endpoint, even when no datagram comes. Every flow is checked, also against a list it was checked against
     * already: the spec may have changed alone (a bypassed endpoint turned not ready is listed as draining both
     * before and after, and only the spec says it is no longer bypassed). Any thread.
     */
    void endpointsChanged() {
        loop.execute(() -> {
            for (UdpFlow flow : table.all()) {
                if (!flow.ended) {
                    flow.checkedAgainst = null;
                    stillUsable(flow);
                }
            }
        });
    }

    /**
     * Stops taking new flows (the shutdown drain); flows go on until they end, or go quiet for {@code quietNanos}
     * (when that is shorter than their idle timeout). Any thread.
     */
    void stopNew(long quietNanos) {
        accepting = false;
        loop.execute(() -> {
            table.draining(quietNanos);
            long now = System.nanoTime();
            for (UdpFlow flow : table.all()) {
                if (!flow.ended) {
                    if (flow.timer != null) {
                        flow.timer.cancel(false);
                    }
                    scheduleExpiry(flow, table.nanosLeft(flow, now));
                }
            }
        });
    }

    /** Takes no new flow and ends every flow, as the listener closes; on the loop. */
    void endAll() {
        accepting = false;
        for (UdpFlow flow : table.all()) {
            end(flow, FlowEnd.CLOSED);
        }
    }

    /** Returns the flows held now (an estimate off the loop). */
    int size() {
        return table.size();
    }

    /**
     * The endpoint refused, or its socket failed: the flow ends, and its client's next datagram is scheduled again
     * (after a refusal, with the refusing endpoint avoided).
     */
    void failed(UdpFlow flow, Throwable cause) {
        if (flow.ended) {
            return;
        }
        boolean refused = FlowEnd.refused(cause);
        if (refused) {
            flow.refused = true;
            servicePort.udp().drop(Drop.UNREACHABLE);
            servicePort.connectFailed(flow.backend, "refused", metrics, settings.get());
            log.debug("Endpoint refused service={} port={} endpoint={} client={}", servicePort.serviceLabel(),
                    servicePort.portLabel(), flow.backend.endpoint(), flow.client);
        } else if (cause instanceof IOException) {
            servicePort.udp().drop(Drop.ERROR);
            log.debug("Flow error service={} endpoint={} client={}: {}", servicePort.serviceLabel(),
                    flow.backend.endpoint(), flow.client, cause.toString());
        } else {
            servicePort.udp().drop(Drop.ERROR);
            log.warn("Unexpected error service={} endpoint={} client={}", servicePort.serviceLabel(),
                    flow.backend.endpoint(), flow.client, cause);
        }
        end(flow, refused ? FlowEnd.REFUSED : FlowEnd.ERROR);
        if (refused) {
            long now = System.nanoTime();
            refusedClients.add(flow.client, flow.backend, now, now + flow.idleNanos);
        }
    }

    /** Ends {@code flow} once: forgets it, releases its lease and its place, closes its socket. */
    void end(UdpFlow flow, FlowEnd why) {
        if (flow.ended) {
            return;
        }
        flow.ended = true;
        table.remove(flow);
        if (flow.timer != null) {
            flow.timer.cancel(false);
        }
        flow.lease.release();
        limit.release();
        servicePort.release(flow.client.getAddress(), flow.perClient);
        servicePort.leaseReleased(flow.backend);
        if (flow.socket != null) {
            flow.socket.close();
        }
        log.debug("Flow ended service={} client={} endpoint={} reason={} responses={}", servicePort.serviceLabel(),
                flow.client, flow.backend.endpoint(), why, flow.responses);
        recorder.ended(servicePort, flow.started, flow.client, flow.backend.endpoint(), flow.bytesToEndpoint,
                flow.bytesToClient, why.logged());
    }

    /** Returns the idle timeout in force for a new flow: the Service port's, else the proxy's. */
    private long idleNanos() {
        PortSpec port = servicePort.spec().port();
        return (port.udpIdleTimeout() != null ? port.udpIdleTimeout() : settings.get().udp().idleTimeout()).toNanos();
    }

    /**
     * When the datagram just recorded gave the flow a shorter timeout than {@code before} (a reload lowered its idle
     * timeout; during the shutdown drain, the answer it waited for came, so it goes quiet in the drain's quiet time),
     * its expiry check comes sooner; a longer one is seen at the check.
     */
    private void retimeIfSooner(UdpFlow flow, long before, long now) {
        if (table.timeout(flow) >= before) {
            return;
        }
        if (flow.timer != null) {
            flow.timer.cancel(false);
        }
        scheduleExpiry(flow, table.nanosLeft(flow, now));
    }

    private void scheduleExpiry(UdpFlow flow, long nanos) {
        flow.timer = loop.schedule(() -> checkExpiry(flow), Math.max(nanos, 1), TimeUnit.NANOSECONDS);
    }

    private void checkExpiry(UdpFlow flow) {
        if (flow.ended) {
            return;
        }
        long now = System.nanoTime();
        long left = table.nanosLeft(flow, now);
        if (left > 0) {
            scheduleExpiry(flow, left);
        } else {
            endQuiet(flow, FlowEnd.IDLE);
        }
    }

    /**
     * Ends {@code flow}, gone quiet, with {@code why}; when it still owed answers ({@code udpResponses}), counts that
     * as a failed connect of its endpoint ({@code timeout}), as nginx's stream module counts a UDP session that
     * timed out short of its {@code proxy_responses} ("upstream timed out") against its upstream: an endpoint that
     * takes datagrams and never answers (no ICMP comes back) is then ejected as one that refuses. Without
     * {@code udpResponses} nothing is owed, so nothing is counted.
     */
    private void endQuiet(UdpFlow flow, FlowEnd why) {
        if (flow.ended) {
            return;
        }
        long owed = FlowTable.owed(flow);
        if (owed > 0) {
            servicePort.connectFailed(flow.backend, "timeout", metrics, settings.get());
            log.debug("Endpoint did not answer service={} port={} endpoint={} client={} owed={}",
                    servicePort.serviceLabel(), servicePort.portLabel(), flow.backend.endpoint(), flow.client, owed);
        }
        end(flow, why);
    }
}
