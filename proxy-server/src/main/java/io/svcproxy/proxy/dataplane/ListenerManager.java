package io.svcproxy.proxy.dataplane;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import io.svcproxy.balancer.Backends;
import io.svcproxy.config.Protocol;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import io.svcproxy.proxy.udp.UdpFlowLimit;
import io.svcproxy.proxy.udp.UdpListener;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the data plane's event loops and one listening channel per Service port. {@link #bind} and
 * {@link #unbind} are called by the reconciler on the control-plane thread. A listening channel accepts on one of
 * the event loops (as HAProxy's threads accept; an accept thread of its own, woken per connection, cost more CPU
 * per new connection: docs/performance.md "TCP new connections, round 11"); its connections are served on all of
 * them round-robin, each with its endpoint connection on the same loop.
 */
public final class ListenerManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ListenerManager.class);
    /** The kind of a clusterIP listener, which never changes. */
    private static final Supplier<AddressKind> CLUSTER = () -> AddressKind.CLUSTER;
    /** How often the file-descriptor guard looks. */
    static final long FD_CHECK_MILLIS = 250;

    private final Transport transport;
    private final ProxyMetrics metrics;
    private final EventLoopGroup workerGroup;
    private final int threads;
    /**
     * The event loops of the UDP Service ports: the worker loops, except with io_uring, whose UDP stays on epoll
     * (its bare flow sockets) on loops of its own, made at the first UDP bind. Guarded by {@code this}.
     */
    private EventLoopGroup udpGroup;
    private final Map<ServiceKey, Channel> listeners = new ConcurrentHashMap<>();
    /** The TCP listeners of each Service port's other addresses (node, external, LoadBalancer). */
    private final Map<ServiceKey, ExtraAddresses<Channel>> extraListeners = new ConcurrentHashMap<>();
    private final Set<Channel> connections = ConcurrentHashMap.newKeySet();
    private final Map<ServiceKey, HealthChecker> healthCheckers = new ConcurrentHashMap<>();
    /** Spreads the active checks of every port's endpoints over their intervals. */
    private final CheckSpread checkSpread = new CheckSpread();
    /** The UDP Service ports' listeners on their clusterIPs (the UDP data plane, {@code proxy.udp}). */
    private final Map<ServiceKey, UdpListener> udpListeners = new ConcurrentHashMap<>();
    /** The UDP listeners of each UDP Service port's other addresses. */
    private final Map<ServiceKey, ExtraAddresses<UdpListener>> extraUdpListeners = new ConcurrentHashMap<>();
    private final UdpFlowLimit udpFlowLimit;
    private final Admission admission = new Admission();
    private final TcpAcceptor tcp;
    /** Ports shared between own listeners on every address and Service listeners (SO_REUSEPORT). */
    private final PortSharing portSharing;
    private final ConnectionRecorder recorder;
    private final java.util.concurrent.ScheduledFuture<?> fdGuardTask;
    private volatile FdGuard fdGuard = FdGuard.PROCESS;
    private final java.util.concurrent.atomic.LongAdder fdPauses = new java.util.concurrent.atomic.LongAdder();
    private volatile DataPlaneSettings settings;
    private volatile boolean listenersClosed;

    /**
     * Creates the event loops.
     *
     * @param workerThreads event loops serving connections; 0 for one per available processor
     */
    public ListenerManager(Transport transport, int workerThreads, ProxyMetrics metrics, DataPlaneSettings settings) {
        this.transport = transport;
        this.metrics = metrics;
        this.settings = settings;
        this.recorder = new ConnectionRecorder(metrics);
        this.udpFlowLimit = new UdpFlowLimit(settings.udp().maxFlows());
        this.threads = workerThreads > 0 ? workerThreads : Runtime.getRuntime().availableProcessors();
        this.workerGroup = transport.newGroup(threads, new DefaultThreadFactory("svcproxy-io", true));
        this.portSharing = new PortSharing(transport, new ListeningSockets());
        this.tcp = new TcpAcceptor(workerGroup, transport, metrics, admission, connections,
                () -> this.settings, recorder, portSharing);
        log.info("Data plane started transport={} eventLoops={}", transport, threads);
        this.fdGuardTask = workerGroup.next().scheduleWithFixedDelay(this::checkFileDescriptors, FD_CHECK_MILLIS,
                FD_CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * The file-descriptor guard, on an event loop: stops accepting (autoRead off on every listener; the kernel
     * keeps new connections in the backlog) when the open descriptors reach {@code fdGuard.pausePercent} of the
     * limit, and accepts again below {@code resumePercent}. Established connections go on either way.
     */
    private void checkFileDescriptors() {
        FdGuard guard = fdGuard;
        long max = guard.max();
        io.svcproxy.config.ProxyLimits limits = settings.limits();
        boolean paused = admission.fdPaused();
        if (!paused && max > 0 && guard.openUpperBound() < max * limits.fdPausePercent() / 100) {
            return; // cannot be near the limit: the listing of every descriptor is not needed
        }
        long open = guard.open();
        if (open < 0 || max <= 0) {
            return;
        }
        if (!paused && open * 100 >= max * limits.fdPausePercent()) {
            admission.setFdPaused(true);
            fdPauses.increment();
            setAccepting(false);
            log.warn("Pausing accept: near the file descriptor limit open={} limit={} pauseAt={}% resumeBelow={}%",
                    open, max, limits.fdPausePercent(), limits.fdResumePercent());
        } else if (paused && open * 100 < max * limits.fdResumePercent()) {
            admission.setFdPaused(false);
            setAccepting(true);
            log.info("Resuming accept open={} limit={}", open, max);
        }
    }

    private void setAccepting(boolean accepting) {
        List<Channel> all = new java.util.ArrayList<>(listeners.values());
        extraListeners.values().forEach(m -> all.addAll(m.listeners()));
        for (Channel listener : all) {
            // on the listener's own loop: from another thread, epoll keeps EPOLLIN armed while a read is
            // pending, and would accept one more connection
            listener.eventLoop().execute(() -> listener.config().setAutoRead(accepting));
        }
    }

    /** Returns whether the file-descriptor guard has paused accepting. */
    public boolean acceptPaused() {
        return admission.fdPaused();
    }

    /** Returns how many times the file-descriptor guard paused accepting. */
    public long acceptPauses() {
        return fdPauses.sum();
    }

    /** Returns the connects to endpoints in progress (the connect queue). */
    public int connectsInProgress() {
        return admission.connectsInProgress();
    }

    /** Replaces the source of the file-descriptor counts; for tests. */
    void setFdGuard(FdGuard guard) {
        this.fdGuard = guard;
    }

    /** Returns the event loops of the connections, which the Ingress's listeners share. */
    public EventLoopGroup eventLoops() {
        return workerGroup;
    }

    /** Returns what records ended connections and flows: the connection log and each Service port's recent ones. */
    public ConnectionRecorder recorder() {
        return recorder;
    }

    /** Returns the transport in use. */
    public Transport transport() {
        return transport;
    }

    /** Sets the knobs for connections accepted from now on. */
    public void setSettings(DataPlaneSettings settings) {
        this.settings = settings;
        udpFlowLimit.setMax(settings.udp().maxFlows());
    }

    /** Returns the knobs in force. */
    public DataPlaneSettings settings() {
        return settings;
    }

    /**
     * Binds a listener on the Service port's clusterIP and port and serves it.
     *
     * @throws BindException if the address cannot be bound; the message names it
     */
    public void bind(ServicePort servicePort) throws BindException {
        ServiceKey key = servicePort.key();
        InetSocketAddress clusterAddress = new InetSocketAddress(key.clusterIP(), key.port());
        if (key.protocol() == Protocol.UDP) {
            udpListeners.put(key, bindUdp(servicePort, clusterAddress, CLUSTER));
            healthCheckers.put(key, new HealthChecker(servicePort, workerGroup.next(), transport, checkSpread).start());
            return;
        }
        Channel channel = tcp.bind(servicePort, clusterAddress, CLUSTER);
        listeners.put(key, channel);
        healthCheckers.put(key, new HealthChecker(servicePort, workerGroup.next(), transport, checkSpread).start());
        log.info("Listening service={} port={} address={}", servicePort.serviceLabel(), servicePort.portLabel(),
                Backends.format(key.clusterIP(), key.port()));
    }

    private UdpListener bindUdp(ServicePort servicePort, InetSocketAddress at, Supplier<AddressKind> kind)
            throws BindException {
        UdpListener udp = new UdpListener(servicePort, at, kind, transport.datagramTransport(), udpGroup().next(),
                udpFlowLimit, () -> this.settings, recorder, metrics);
        udp.bind();
        if (listenersClosed) {
            udp.stopNewFlows();
        }
        return udp;
    }

    private synchronized EventLoopGroup udpGroup() {
        if (udpGroup == null) {
            Transport udp = transport.datagramTransport();
            // "svcproxy-io-udp-*": counted with the other event loops by the bench's per-thread CPU
            udpGroup = udp == transport ? workerGroup
                    : udp.newGroup(threads, new DefaultThreadFactory("svcproxy-io-udp", true));
            if (udp != transport) {
                log.info("UDP event loops started transport={} eventLoops={}", udp, threads);
            }
        }
        return udpGroup;
    }

    /**
     * Makes the Service port's other addresses (node, external, LoadBalancer) exactly {@code wanted}, for its
     * protocol: binds those missing, closes those no longer wanted (established TCP connections go on; the UDP
     * flows of a closed address end with its socket, which carried their replies).
     *
     * @return the addresses that could not be bound; the others are served regardless
     */
    public List<BindException> setAddresses(ServicePort servicePort, Map<InetSocketAddress, AddressKind> wanted) {
        ServiceKey key = servicePort.key();
        if (listenersClosed) {
            return List.of();
        }
        if (key.protocol() == Protocol.UDP) {
            return extraUdpListeners.computeIfAbsent(key, k -> new ExtraAddresses<>(servicePort, "/UDP",
                    UdpListener::close)).set(wanted, (at, kind) -> bindUdp(servicePort, at, kind));
        }
        return extraListeners.computeIfAbsent(key, k -> new ExtraAddresses<>(servicePort, "",
                c -> c.close().awaitUninterruptibly())).set(wanted, (at, kind) -> tcp.bind(servicePort, at, kind));
    }

    /** Returns the other addresses a Service port's listeners are bound to now. */
    public Set<InetSocketAddress> boundAddresses(ServiceKey key) {
        ExtraAddresses<?> bound = key.protocol() == Protocol.UDP ? extraUdpListeners.get(key)
                : extraListeners.get(key);
        return bound == null ? Set.of() : bound.addresses();
    }

    /** Returns the listening channels of a TCP Service port's other addresses now. */
    Collection<Channel> extraTcpListeners(ServiceKey key) {
        ExtraAddresses<Channel> bound = extraListeners.get(key);
        return bound == null ? List.of() : bound.listeners();
    }

    /** Closes the listener of {@code key}: new connections are refused; established ones go on. */
    public void unbind(ServiceKey key) {
        UdpListener udp = udpListeners.remove(key);
        if (udp != null) {
            udp.close(); // UDP has nothing to drain: its flows end with the socket that carries their replies
        }
        ExtraAddresses<UdpListener> extraUdp = extraUdpListeners.remove(key);
        if (extraUdp != null) {
            extraUdp.closeAll();
        }
        ExtraAddresses<Channel> extra = extraListeners.remove(key);
        if (extra != null) {
            extra.closeAll();
        }
        Channel channel = listeners.remove(key);
        HealthChecker checker = healthCheckers.remove(key);
        if (checker != null) {
            checker.stop();
        }
        if (channel != null) {
            channel.close().awaitUninterruptibly();
            log.info("Stopped listening address={}", Backends.format(key.clusterIP(), key.port()));
        }
    }

    /** How own listeners on every address share their port with Service listeners: for the Ingress and admin. */
    public PortSharing portSharing() {
        return portSharing;
    }

    /** Returns the address a Service port's listener is bound to, or {@code null}. */
    public InetSocketAddress boundAddress(ServiceKey key) {
        Channel channel = listeners.get(key);
        return channel == null ? null : (InetSocketAddress) channel.localAddress();
    }

    /** A Service port's listening channel, or {@code null} (for tests: the loop it accepts on). */
    Channel listenerChannel(ServiceKey key) {
        return listeners.get(key);
    }

    /** Returns the number of client connections open, on every Service port. */
    public int connectionCount() {
        return connections.size();
    }

    /**
     * Closes every TCP listener: new connections are refused from now on. UDP listeners stop taking new flows but
     * keep their sockets, which carry the replies of the flows that go on; {@link #drain} closes them.
     */
    public void closeListeners() {
        for (ServiceKey key : listeners.keySet()) {
            unbind(key);
        }
        for (ServiceKey key : udpListeners.keySet()) {
            // as the TCP ports' (unbind): the endpoints shutting down with the proxy are no longer checked
            HealthChecker checker = healthCheckers.remove(key);
            if (checker != null) {
                checker.stop();
            }
        }
        udpListeners.values().forEach(UdpListener::stopNewFlows);
        extraUdpListeners.values().forEach(m -> m.listeners().forEach(UdpListener::stopNewFlows));
        listenersClosed = true;
    }

    /** Returns whether {@link #closeListeners} ran: no new connection or UDP flow is taken (the shutdown drain). */
    public boolean listenersClosed() {
        return listenersClosed;
    }

    /** Tells the data plane that the endpoint list of {@code port} changed (UDP flows of endpoints that left end). */
    public void endpointsChanged(ServicePort port) {
        HealthChecker checker = healthCheckers.get(port.key());
        if (checker != null) {
            checker.wake();
        }
        UdpListener udp = udpListeners.get(port.key());
        if (udp != null) {
            udp.endpointsChanged();
        }
        ExtraAddresses<UdpListener> extra = extraUdpListeners.get(port.key());
        if (extra != null) {
            extra.listeners().forEach(UdpListener::endpointsChanged);
        }
    }

    /** Returns the UDP flows held now, on every Service port. */
    public int udpFlowCount() {
        return udpFlowLimit.flows();
    }

    /** What a drain cut at its deadline: TCP connections (reset both ways) and UDP flows. */
    public record Drained(int connections, int udpFlows) {
    }

    /**
     * Lets established connections and UDP flows finish for up to {@code timeout} (a flow quiet for
     * {@link UdpListener#DRAIN_QUIET} has finished), then cuts those left.
     *
     * @return what was cut at the deadline
     */
    public Drained drain(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while ((!connections.isEmpty() || udpFlowLimit.flows() > 0) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        Drained left = new Drained(connections.size(), udpFlowLimit.flows());
        for (Channel channel : connections) {
            ConnectionEnds.abort(channel, io.svcproxy.proxy.connlog.EndReason.DRAIN);
        }
        for (ServiceKey key : List.copyOf(udpListeners.keySet())) {
            unbind(key);
        }
        // the cut connections close on their event loops: wait (briefly) so that what is counted next (the
        // Ingress's requests in flight, by the endpoints' leases) is not the relay's own
        long closing = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (!connections.isEmpty() && System.nanoTime() < closing) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return left;
    }

    /** Closes the listeners, every connection and the event loops. */
    @Override
    public void close() {
        fdGuardTask.cancel(false);
        closeListeners();
        for (ServiceKey key : List.copyOf(udpListeners.keySet())) {
            unbind(key);
        }
        List<Future<?>> aborts = new ArrayList<>();
        for (Channel channel : connections) {
            // reset both ways, as at the drain's deadline (a second signal is the same cut, earlier): a FIN would let
            // either side read a stream cut short as complete
            aborts.add(ConnectionEnds.abort(channel, io.svcproxy.proxy.connlog.EndReason.DRAIN));
        }
        // done before the loops stop: a stopping loop closes its channels (with a FIN) before it runs what is queued
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        for (Future<?> abort : aborts) {
            abort.awaitUninterruptibly(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
        workerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        EventLoopGroup udp;
        synchronized (this) {
            udp = udpGroup;
        }
        if (udp != null && udp != workerGroup) {
            udp.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
