package io.svcproxy.proxy.dataplane;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Lease;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.proxy.connlog.EndReason;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one client connection: picks an endpoint with the Service port's scheduler, connects to it on the
 * client's event loop (retrying on another endpoint up to {@code connectAttempts}), then hands both channels to
 * a {@link Relay}, whose javadoc has the relay's states and transitions.
 *
 * <p>The client is read from the start, as HAProxy reads a request before it connects: what it sends while the
 * endpoint connects is held and passed on first once the connection is up, and an early FIN after it. What is held
 * is bounded: at {@link #EARLY_LIMIT} bytes the client is no longer read ({@code AUTO_READ} off) until the relay
 * starts (one read loop may end past it). Reading at once puts the client's EPOLLIN into its first {@code
 * epoll_ctl} (one call less than arming it when the endpoint is up). A client that leaves while the endpoint connects closes that connect. Aborts
 * (idleTimeout, a drain or shutdown deadline) close the client channel, and the relay closes the endpoint
 * channel with it. The fields are plain because one event loop owns both channels.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter {
    /** The endpoint a client channel is connected to, for draining connections of a removed endpoint. */
    static final AttributeKey<BackendState> BACKEND = AttributeKey.valueOf("svcproxy.backend");
    /** The endpoints a connection may use when not all (its address's traffic policy, AddressRules); else unset. */
    static final AttributeKey<EligibleEndpoints> ELIGIBLE = AttributeKey.valueOf("svcproxy.eligible");

    private static final Logger log = LoggerFactory.getLogger(FrontendHandler.class);

    private final ServicePort servicePort;
    private final DataPlaneSettings settings;
    private final Transport transport;
    private final ProxyMetrics metrics;
    private final Admission admission;
    private final ConnectionRecorder recorder;

    private Channel inbound;
    private Channel outbound;       // the endpoint channel being connected, then relayed to
    private PickContext pickContext;
    private int attempts;
    private Relay relay;            // set once the endpoint connection is up
    /** The bytes held for the endpoint while it connects before the client is no longer read: the water mark. */
    static final int EARLY_LIMIT = Relay.WATER_MARK.high();

    private List<Object> early;     // what the client sent before the endpoint connection was up
    private int earlyBytes;         // ... its bytes
    private boolean endedEarly;     // the client sent FIN before the endpoint connection was up
    private boolean admitted;       // Admission.admit took places for this connection: released when it closes
    private boolean perClient;      // ... counted per client address too (maxConnectionsPerClient > 0)
    private long started;           // System.nanoTime() at accept, for idleTimeout before the relay starts
    private IdleSweep idleSweep;    // the event loop's, which checks this connection for idleTimeout; or null
    FrontendHandler idlePrev;       // the neighbours in idleSweep's list
    FrontendHandler idleNext;
    private EndReason end;          // set by what ends the connection here (idle, an error, giving up); else FIN
    private boolean checkedGone;    // goneBeforeProxyHeader was just asked (within channelActive)

    FrontendHandler(ServicePort servicePort, DataPlaneSettings settings, Transport transport, ProxyMetrics metrics,
                    Admission admission, ConnectionRecorder recorder) {
        this.servicePort = servicePort;
        this.settings = settings;
        this.transport = transport;
        this.metrics = metrics;
        this.admission = admission;
        this.recorder = recorder;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        inbound = ctx.channel(); // with both addresses: TcpAcceptor closed one whose client was gone
        // read once: admit and release agree even if a reload changes it meanwhile
        int perClientLimit = servicePort.spec().service().maxConnectionsPerClient();
        Rejection refused = admission.admit(inbound, servicePort, settings.limits(), perClientLimit);
        if (refused != null) {
            refuse(refused);
            return;
        }
        admitted = true;
        perClient = perClientLimit > 0;
        started = System.nanoTime(); // before the add: the set publishes it to stillOpen's readers
        servicePort.connections().add(inbound);
        long idleNanos = settings.idleTimeout().toNanos();
        if (idleNanos > 0) {
            idleSweep = IdleSweep.of(inbound.eventLoop());
            idleSweep.add(this, idleNanos);
        }
        InetSocketAddress client = (InetSocketAddress) inbound.remoteAddress();
        InetSocketAddress local = (InetSocketAddress) inbound.localAddress();
        pickContext = PickContext.of(client.getAddress(), client.getPort(), local.getAddress());
        // hasAttr first: attr() alone would add an empty attribute to every connection
        EligibleEndpoints eligible = inbound.hasAttr(ELIGIBLE) ? inbound.attr(ELIGIBLE).get() : null;
        if (eligible != null) {
            pickContext = pickContext.onlyEligible(eligible);
        }
        if (goneBeforeProxyHeader()) {
            return; // no endpoint connection for a client that is gone (io_uring's acceptor closed it unserved)
        }
        checkedGone = true; // a connect that completes within connectNext is not asked again
        connectNext();
        checkedGone = false;
    }

    /** Closes the client connection at once, before any endpoint is tried, and counts why. */
    private void refuse(Rejection reason) {
        servicePort.countRejected(reason);
        log.debug("Refused connection service={} port={} client={} reason={}", servicePort.serviceLabel(),
                servicePort.portLabel(), inbound.remoteAddress(), reason.label());
        inbound.close();
    }

    private void connectNext() {
        BackendSet set = servicePort.backendSet();
        BackendState backend = set.pick(pickContext);
        if (backend == null) {
            if (attempts == 0) {
                InetSocketAddress client = (InetSocketAddress) inbound.remoteAddress();
                EligibleEndpoints eligible = pickContext.eligible() instanceof EligibleEndpoints e ? e : null;
                if (!AddressRules.countNoEndpoint(servicePort, set, eligible, client.getAddress())) {
                    log.debug("No endpoint service={} port={} client={}", servicePort.serviceLabel(),
                            servicePort.portLabel(), client);
                }
                inbound.close();
            } else {
                giveUp();
            }
            return;
        }
        if (!admission.startConnect(settings.limits().connectQueue(), attempts > 0)) {
            refuse(Rejection.CONNECT_QUEUE);
            return;
        }
        Channel channel;
        try {
            channel = BackendHandler.newChannel(transport, settings, this, backend.address());
        } catch (ChannelException e) {
            // socket(2) failed: the process's descriptors are used up (EMFILE, ENFILE) or the kernel's buffers
            // (ENOBUFS). The proxy's own failure, not the endpoint's: its place in the connect queue is given back
            // (no claim on the endpoint was taken), and the client is refused as at the descriptor limit
            admission.connectDone();
            log.debug("No socket for an endpoint service={} port={} client={} endpoint={}: {}",
                    servicePort.serviceLabel(), servicePort.portLabel(), inbound.remoteAddress(), backend.endpoint(),
                    e.getCause() != null ? e.getCause().toString() : e.toString());
            if (attempts == 0) {
                refuse(Rejection.FD_LIMIT);
            } else {
                giveUp();
            }
            return;
        }
        attempts++;
        Lease claim = backend.counters().lease();
        inbound.attr(BACKEND).set(backend);
        long start = System.nanoTime();
        ChannelPromise connect = channel.newPromise();
        outbound = channel;
        channel.closeFuture().addListener(f -> {
            claim.release();
            servicePort.leaseReleased(backend);
        });
        connect.addListener((ChannelFutureListener) f -> {
            admission.connectDone();
            if (f.isSuccess()) {
                backend.counters().health().connectSucceeded();
                metrics.connected(servicePort, backend, System.nanoTime() - start);
                if (!inbound.isActive() || !checkedGone && goneBeforeProxyHeader()) {
                    channel.close();
                    return;
                }
                claim.established();
                startRelay(channel, backend, claim);
            } else if ((!inbound.isActive() || inbound.hasAttr(ConnectionEnds.END)) && (f.isCancelled()
                    || f.cause() instanceof java.nio.channels.ClosedChannelException)) {
                // the client left while we connected, or svcproxy cut the connection (a drain deadline resets the
                // connect before the client), and closed the connect: not the endpoint's failure, nothing retried
                claim.release();
            } else {
                Throwable cause = f.cause();
                String reason = ConnectErrors.reason(cause);
                servicePort.connectFailed(backend, reason, metrics, settings);
                log.info("Connect failed service={} port={} endpoint={} reason={} attempt={}/{}",
                        servicePort.serviceLabel(), servicePort.portLabel(), backend.endpoint(), reason, attempts,
                        settings.connectAttempts());
                claim.release();
                if (!inbound.isActive()) {
                    return;
                }
                if (attempts < settings.connectAttempts()) {
                    pickContext = pickContext.withAvoided(backend);
                    connectNext();
                } else {
                    giveUp();
                }
            }
        });
        // a failed connect leaves its socket open: close it once the listener above has seen the failure
        connect.addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        // registering on the event loop we are on completes at once, and the connect follows
        // without a task; the listeners above are in place first, as with a Bootstrap
        inbound.eventLoop().register(channel).addListener(registered -> {
            if (registered.isSuccess()) {
                channel.connect(backend.socketAddress(), connect);
            } else {
                channel.unsafe().closeForcibly();
                connect.tryFailure(registered.cause());
            }
        });
    }

    /** Whether this is a {@code proxyProtocol} port whose client is gone ({@link ProxyProtocolHeader#clientGone}). */
    private boolean goneBeforeProxyHeader() {
        if (servicePort.spec().port().proxyProtocol() == null || !ProxyProtocolHeader.clientGone(inbound)) {
            return false;
        }
        log.debug("Client gone before the PROXY header service={} port={} client={}", servicePort.serviceLabel(),
                servicePort.portLabel(), inbound.remoteAddress());
        endFor(EndReason.RST);
        inbound.close();
        return true;
    }

    /**
     * Resets the client after every endpoint tried failed to connect (refused, reset or timed out): with IPVS the
     * client would have met that failure itself, so it gets a reset rather than a FIN that reads as an empty answer.
     */
    private void giveUp() {
        log.info("Giving up connect service={} port={} client={} attempts={}", servicePort.serviceLabel(),
                servicePort.portLabel(), inbound.remoteAddress(), attempts);
        endFor(EndReason.ERROR);
        Relay.reset(inbound);
    }

    /**
     * Starts relaying once the endpoint connection is up: first what the client sent early (and its early FIN),
     * then the client is read from whenever the relay does not hold it back.
     */
    private void startRelay(Channel channel, BackendState backend, Lease claim) {
        relay = new Relay(inbound, channel, servicePort, backend.counters(), claim);
        pickContext = null; // no other pick for this connection: not held while it lasts
        io.svcproxy.config.ProxyProtocol proxyProtocol = servicePort.spec().port().proxyProtocol();
        if (proxyProtocol != null) {
            ProxyProtocolHeader.write(channel, proxyProtocol, inbound);
            channel.flush(); // the header goes out even if the client sends nothing first
        }
        if (early != null) {
            List<Object> pending = early;
            early = null;
            pending.forEach(relay.up::read);
            relay.up.readComplete();
        }
        if (endedEarly) {
            relay.up.inputShutdown();
        } else {
            // keep EPOLLIN armed from now on: toggling it per read would cost epoll_ctl calls
            relay.up.startReading();
        }
    }

    // ---- the client channel

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (relay == null) {
            // the endpoint is not connected yet: held for it, and no more read once EARLY_LIMIT is held
            if (early == null) {
                early = new ArrayList<>(2);
            }
            early.add(msg);
            if (msg instanceof ByteBuf b && (earlyBytes += b.readableBytes()) >= EARLY_LIMIT) {
                inbound.config().setAutoRead(false); // the relay's startReading turns it on again
            }
            return;
        }
        relay.up.read(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (relay != null) {
            relay.up.readComplete();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (relay != null) {
            relay.down.writabilityChanged();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            if (relay == null) {
                endedEarly = true;
            } else {
                relay.up.inputShutdown();
            }
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    /**
     * Closes the connection if no byte moved either way (a read, or a side's queue taken by its peer) for {@code
     * idleTimeout} by {@code now}. Called by the event loop's {@link IdleSweep}: one timer per loop and one clock
     * read per read buffer, where an {@code IdleStateHandler} would take a timer per connection and wrap every
     * write in a promise.
     */
    void checkIdle(long now) {
        if (!inbound.isOpen()) {
            return;
        }
        long last = relay == null ? started : relay.activity.lastActivity(now);
        long idleNanos = settings.idleTimeout().toNanos();
        if (now - last < idleNanos || relay != null && relay.activity.kernelMovedBytes(now, idleNanos)) {
            return;
        }
        log.debug("Closing idle connection service={} client={} endpoint={} relay={}",
                servicePort.serviceLabel(), inbound.remoteAddress(), inbound.attr(BACKEND).get(), relay);
        endFor(EndReason.IDLE);
        if (relay == null || relay.holdsBytes()) {
            // bytes read from one side still wait for the other, which does not read them: a FIN would end its
            // stream as if whole; and while the endpoint still connects, a FIN would read as an empty answer to
            // the request held for it (as giveUp's reset says)
            ConnectionEnds.resetBoth(inbound, outbound);
            return;
        }
        inbound.close(); // channelInactive closes the endpoint channel
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (admitted) {
            admitted = false;
            admission.release(inbound, servicePort, perClient);
        }
        if (idleSweep != null) {
            idleSweep.remove(this);
        }
        // here rather than in a closeFuture listener: one object less held by every open connection
        servicePort.connections().remove(inbound);
        if (early != null) {
            early.forEach(ReferenceCountUtil::release);
            early = null;
        }
        if (relay != null) {
            relay.closed(inbound);
        } else if (outbound != null) {
            outbound.close(); // a connect in progress: its listener sees the client gone
        }
        ConnectionEnds.record(recorder, servicePort, inbound, started, end, relay);
    }

    /** Returns System.nanoTime() when the client connected; set before the channel is among its port's connections. */
    long started() {
        return started;
    }

    private void endFor(EndReason reason) {
        if (end == null) {
            end = reason;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        logException("client", cause);
        endFor(ConnectErrors.endReason(cause));
        if (relay != null) {
            relay.failed(inbound, cause);
        } else {
            inbound.close();
            Relay.reset(outbound);
        }
    }

    /** The endpoint channel being connected or relayed to, or {@code null}. */
    Channel outbound() {
        return outbound;
    }

    // ---- the endpoint channel, called by BackendHandler on the same event loop

    /** Returns the relay direction reading from {@code channel}, or {@code null} before the relay or for an old one. */
    private Relay.Direction from(Channel channel) {
        return relay == null ? null : relay.from(channel);
    }

    void outboundRead(Channel channel, Object msg) {
        Relay.Direction down = from(channel);
        if (down == null) {
            ReferenceCountUtil.release(msg);
            return;
        }
        down.read(msg);
    }

    void outboundReadComplete(Channel channel) {
        Relay.Direction down = from(channel);
        if (down != null) {
            down.readComplete();
        }
    }

    void outboundWritabilityChanged(Channel channel) {
        if (relay != null && channel == outbound) {
            relay.up.writabilityChanged();
        }
    }

    void outboundInputShutdown(Channel channel) {
        Relay.Direction down = from(channel);
        if (down != null) {
            down.inputShutdown();
        }
    }

    void outboundInactive(Channel channel) {
        if (relay != null && channel == outbound) {
            relay.closed(outbound);
        }
    }

    void outboundException(Channel channel, Throwable cause) {
        logException("endpoint", cause);
        if (relay != null && channel == outbound) {
            endFor(ConnectErrors.endReason(cause));
            relay.failed(outbound, cause);
        } else {
            channel.close(); // a connect in progress: its listener decides
        }
    }

    private void logException(String side, Throwable cause) {
        // NotYetConnectedException: epoll may still report readable on an endpoint socket whose connect was
        // refused (seen under load in SoakTest); the connect failure is already logged and counted.
        if (ConnectErrors.isIoError(cause)) {
            log.debug("Connection error side={} service={} client={}: {}", side, servicePort.serviceLabel(),
                    inbound == null ? null : inbound.remoteAddress(), cause.toString(), cause);
        } else {
            log.warn("Unexpected error side={} service={} client={}", side, servicePort.serviceLabel(),
                    inbound == null ? null : inbound.remoteAddress(), cause);
        }
    }
}
