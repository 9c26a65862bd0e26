package io.svcproxy.proxy.dataplane;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.ConnectionCounters;
import io.svcproxy.balancer.Lease;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one client connection: picks an endpoint with the Service port's scheduler, connects to it on the
 * client's event loop (retrying on another endpoint up to {@code connectAttempts}), then relays bytes both ways.
 *
 * <p>Backpressure: the client channel is not read until its endpoint connection is up; then both channels read
 * by themselves ({@code AUTO_READ}), what a read loop brings is written to the other side and flushed once at
 * read-complete, and a side stops reading ({@code AUTO_READ} off, which also ends the read loop) as soon as the
 * other side's outbound buffer is over its high water mark, until it drains below the low mark. So at most the
 * high water mark plus one read buffer waits in svcproxy per direction, and EPOLLIN is not toggled per read. Half-close: a FIN from one side is
 * passed on as {@code shutdownOutput()} after the bytes before it, and the connection closes when both
 * directions have ended. A reset (an I/O error) on one side closes the other with {@code SO_LINGER 0}, which
 * sends a reset. The fields are plain because one event loop owns both channels.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter {
    /** The endpoint a client channel is connected to, for draining connections of a removed endpoint. */
    static final AttributeKey<BackendState> BACKEND = AttributeKey.valueOf("svcproxy.backend");

    private static final Logger log = LoggerFactory.getLogger(FrontendHandler.class);

    private final ServicePort servicePort;
    private final DataPlaneSettings settings;
    private final Transport transport;
    private final ProxyMetrics metrics;
    private final Admission admission;

    private Channel inbound;
    private Channel outbound;
    private Lease lease;
    private ConnectionCounters counters; // of the endpoint being tried or relayed to
    private PickContext pickContext;
    private int attempts;
    private boolean connected;
    private List<Object> early;     // bytes read before the endpoint connection was up (epoll reads on RDHUP)
    private boolean inboundPaused;  // the client is not read until the endpoint channel drains
    private boolean outboundPaused; // the endpoint is not read until the client channel drains
    private boolean inboundEnded;   // the client sent FIN
    private boolean outboundEnded;  // the endpoint sent FIN
    private long lastRead;          // System.nanoTime() of the last read on either side, for idleTimeout
    private ScheduledFuture<?> idleCheck;

    FrontendHandler(ServicePort servicePort, DataPlaneSettings settings, Transport transport, ProxyMetrics metrics,
                    Admission admission) {
        this.servicePort = servicePort;
        this.settings = settings;
        this.transport = transport;
        this.metrics = metrics;
        this.admission = admission;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        inbound = ctx.channel();
        Rejection refused = admission.admit(inbound, servicePort, settings.limits());
        if (refused != null) {
            refuse(refused);
            return;
        }
        servicePort.connections().add(inbound);
        long idleNanos = settings.idleTimeout().toNanos();
        if (idleNanos > 0) {
            lastRead = System.nanoTime();
            idleCheck = inbound.eventLoop().schedule(this::checkIdle, idleNanos, TimeUnit.NANOSECONDS);
        }
        inbound.closeFuture().addListener(f -> servicePort.connections().remove(inbound));
        InetSocketAddress client = (InetSocketAddress) inbound.remoteAddress();
        InetSocketAddress local = (InetSocketAddress) inbound.localAddress();
        pickContext = PickContext.of(client.getAddress(), client.getPort(), local.getAddress());
        connectNext();
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
                servicePort.countNoEndpoint();
                log.debug("No endpoint service={} port={} client={}", servicePort.serviceLabel(),
                        servicePort.portLabel(), inbound.remoteAddress());
            } else {
                log.info("Giving up connect service={} port={} client={} attempts={}", servicePort.serviceLabel(),
                        servicePort.portLabel(), inbound.remoteAddress(), attempts);
            }
            inbound.close();
            return;
        }
        if (!admission.startConnect(settings.limits().connectQueue(), attempts > 0)) {
            refuse(Rejection.CONNECT_QUEUE);
            return;
        }
        attempts++;
        Lease claim = backend.counters().lease();
        lease = claim;
        counters = backend.counters();
        inbound.attr(BACKEND).set(backend);
        long start = System.nanoTime();
        Bootstrap bootstrap = new Bootstrap()
                .group(inbound.eventLoop())
                .channel(transport.socketChannel())
                .handler(new BackendHandler(this))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, settings.connectTimeoutMillis())
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.RCVBUF_ALLOCATOR, Relay.recvAllocator())
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, Relay.WATER_MARK);
        ChannelFuture connect = bootstrap.connect(new InetSocketAddress(backend.address(), backend.port()));
        Channel channel = connect.channel();
        outbound = channel;
        channel.closeFuture().addListener(f -> claim.release());
        connect.addListener((ChannelFutureListener) f -> {
            admission.connectDone();
            if (f.isSuccess()) {
                backend.counters().health().connectSucceeded();
                metrics.connected(servicePort, backend, System.nanoTime() - start);
                if (!inbound.isActive()) {
                    channel.close();
                    return;
                }
                connected = true;
                claim.established();
                flushEarly();
                if (inboundEnded) {
                    endDirection(channel);
                } else {
                    // keep EPOLLIN armed from now on: toggling it per read would cost epoll_ctl calls
                    inbound.config().setAutoRead(true);
                }
            } else if (!inbound.isActive() && (f.isCancelled()
                    || f.cause() instanceof java.nio.channels.ClosedChannelException)) {
                // the client left while we connected, and we closed the connect: not the endpoint's failure
                claim.release();
            } else {
                Throwable cause = f.cause();
                String reason = reason(cause);
                metrics.connectFailed(servicePort, backend, reason);
                backend.counters().countConnectFailure();
                int failures = backend.counters().health().connectFailed();
                if (settings.outlierDetection().enabled()
                        && failures >= settings.outlierDetection().consecutiveFailures()) {
                    servicePort.maybeEject(backend, failures, settings.outlierDetection());
                }
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
                    inbound.close();
                }
            }
        });
    }

    static String reason(Throwable cause) {
        if (cause instanceof ConnectTimeoutException) {
            return "timeout";
        }
        if (cause instanceof NoRouteToHostException || cause instanceof PortUnreachableException) {
            return "unreachable";
        }
        if (cause instanceof ConnectException) {
            String message = String.valueOf(cause.getMessage()).toLowerCase(java.util.Locale.ROOT);
            if (message.contains("reset")) {
                return "reset";
            }
            if (message.contains("unreachable") || message.contains("no route")) {
                return "unreachable";
            }
            if (message.contains("timed out")) {
                return "timeout";
            }
            return "refused";
        }
        if (cause instanceof IOException
                && String.valueOf(cause.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("reset")) {
            return "reset";
        }
        return "error";
    }

    // ---- client to endpoint

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!connected) {
            // AUTO_READ is off, but epoll still reads what is pending when the client half-closes (EPOLLRDHUP):
            // keep it for the endpoint; it is bounded by one read loop.
            if (early == null) {
                early = new ArrayList<>(2);
            }
            early.add(msg);
            return;
        }
        Channel out = outbound;
        if (!out.isActive()) {
            ReferenceCountUtil.release(msg);
            return;
        }
        lastRead = System.nanoTime();
        if (msg instanceof ByteBuf buf) {
            servicePort.addBytesToEndpoint(buf.readableBytes());
            counters.addBytesToEndpoint(buf.readableBytes());
        }
        // no promise: a failed write fires exceptionCaught on the endpoint channel, which resets the client
        out.write(msg, out.voidPromise());
        if (!out.isWritable() && !inboundPaused) {
            // stops this read loop too: Netty checks autoRead before each read
            inboundPaused = true;
            inbound.config().setAutoRead(false);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Channel out = outbound;
        if (connected && out.isActive()) {
            out.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (inbound.isWritable() && outboundPaused) {
            outboundPaused = false;
            outbound.config().setAutoRead(true);
        }
        ctx.fireChannelWritabilityChanged();
    }

    private void flushEarly() {
        if (early == null) {
            return;
        }
        for (Object msg : early) {
            if (msg instanceof ByteBuf buf) {
                servicePort.addBytesToEndpoint(buf.readableBytes());
                counters.addBytesToEndpoint(buf.readableBytes());
            }
            outbound.write(msg, outbound.voidPromise());
        }
        early = null;
        outbound.flush();
    }

    private void releaseEarly() {
        if (early != null) {
            early.forEach(ReferenceCountUtil::release);
            early = null;
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            inboundEnded = true;
            if (connected) {
                endDirection(outbound);
            }
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    /**
     * Closes the connection when no byte was read on either side for {@code idleTimeout}, else checks again when
     * that much time will have passed since the last read. One timer per connection and one clock read per read
     * buffer: cheaper than an {@code IdleStateHandler}, which also wraps every write in a promise.
     */
    private void checkIdle() {
        if (!inbound.isOpen()) {
            return;
        }
        long idleNanos = settings.idleTimeout().toNanos();
        long left = lastRead + idleNanos - System.nanoTime();
        if (left > 0) {
            idleCheck = inbound.eventLoop().schedule(this::checkIdle, left, TimeUnit.NANOSECONDS);
            return;
        }
        log.debug("Closing idle connection service={} client={} endpoint={} connected={}",
                servicePort.serviceLabel(), inbound.remoteAddress(), inbound.attr(BACKEND).get(), connected);
        inbound.close();
        closeAfterFlush(outbound);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (idleCheck != null) {
            idleCheck.cancel(false);
        }
        releaseEarly();
        closeAfterFlush(outbound);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        logException("client", cause);
        inbound.close();
        reset(outbound, cause);
    }

    // ---- endpoint to client, called by BackendHandler on the same event loop

    void outboundRead(Object msg) {
        if (!inbound.isActive()) {
            ReferenceCountUtil.release(msg);
            return;
        }
        lastRead = System.nanoTime();
        if (msg instanceof ByteBuf buf) {
            servicePort.addBytesToClient(buf.readableBytes());
            counters.addBytesToClient(buf.readableBytes());
        }
        // no promise: a failed write fires exceptionCaught on the client channel, which resets the endpoint
        inbound.write(msg, inbound.voidPromise());
        if (!inbound.isWritable() && !outboundPaused) {
            outboundPaused = true;
            outbound.config().setAutoRead(false);
        }
    }

    void outboundReadComplete(Channel channel) {
        if (channel == outbound && inbound.isActive()) {
            inbound.flush();
        }
    }

    void outboundWritabilityChanged(Channel channel) {
        if (channel == outbound && channel.isWritable() && inboundPaused) {
            inboundPaused = false;
            inbound.config().setAutoRead(true);
        }
    }

    void outboundInputShutdown() {
        outboundEnded = true;
        endDirection(inbound);
    }

    void outboundInactive(Channel channel) {
        if (channel == outbound) {
            closeAfterFlush(inbound);
        }
    }

    void outboundException(Channel channel, Throwable cause) {
        logException("endpoint", cause);
        channel.close();
        if (channel == outbound) {
            reset(inbound, cause);
        }
    }

    // ---- closing

    /**
     * Passes a FIN on to {@code to} after the bytes written before it; closes both channels once both
     * directions have ended.
     */
    private void endDirection(Channel to) {
        if (lease != null) {
            lease.halfClosed();
        }
        if (to == null || !to.isActive()) {
            return;
        }
        to.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess() || !(to instanceof SocketChannel socket)) {
                to.close();
                return;
            }
            if (inboundEnded && outboundEnded) {
                inbound.close();
                outbound.close();
            } else {
                socket.shutdownOutput();
            }
        });
    }

    /** Closes {@code channel} once the bytes already written to it are flushed (the Netty proxy idiom). */
    private static void closeAfterFlush(Channel channel) {
        if (channel != null && channel.isActive()) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Closes {@code channel} with a reset (SO_LINGER 0) because the other side failed with {@code cause}. */
    private static void reset(Channel channel, Throwable cause) {
        if (channel == null || !channel.isOpen()) {
            return;
        }
        if (cause instanceof IOException && channel.isActive()) {
            try {
                channel.config().setOption(ChannelOption.SO_LINGER, 0);
            } catch (RuntimeException e) {
                // the socket is already shutting down: a plain close is all that is left
            }
        }
        channel.close();
    }

    private void logException(String side, Throwable cause) {
        // NotYetConnectedException: epoll may still report readable on an endpoint socket whose connect was
        // refused (seen under load in SoakTest); the connect failure is already logged and counted.
        if (cause instanceof IOException || cause instanceof java.nio.channels.NotYetConnectedException) {
            log.debug("Connection error side={} service={} client={}: {}", side, servicePort.serviceLabel(),
                    inbound == null ? null : inbound.remoteAddress(), cause.toString());
        } else {
            log.warn("Unexpected error side={} service={} client={}", side, servicePort.serviceLabel(),
                    inbound == null ? null : inbound.remoteAddress(), cause);
        }
    }
}
