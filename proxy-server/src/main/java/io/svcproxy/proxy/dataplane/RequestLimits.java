package io.svcproxy.proxy.dataplane;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import io.svcproxy.balancer.ClientAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the connections of one of svcproxy's own small HTTP servers (the admin server, the health check node ports)
 * may hold: at most {@code maxConnections} at once, and at most {@code maxPerClient} of them from one address (more
 * are closed as they are accepted: one client holding idle connections cannot shut out the kubelet's probes), and
 * each request must
 * arrive whole within {@code deadline} of the connection's start or of the end of the response to the last request
 * read (one pipelined behind a response is the server's to answer, not the client's to send), else the connection
 * is closed. A client sending a header byte now and then (slowloris) holds no connection longer than
 * that, and a flood of them cannot eat the descriptors the data plane needs (its fd guard stops accepting Service
 * connections near the limit). Behind the codec and the aggregator: it sees whole requests ({@link FullHttpRequest},
 * or an {@link io.netty.handler.codec.http.HttpRequest} whose body is not aggregated). Runs on the server's event
 * loops; one instance per connection, the count shared.
 */
public final class RequestLimits extends ChannelDuplexHandler {
    private final AtomicInteger open;
    private final int maxConnections;
    private final ConcurrentMap<ClientAddress, Integer> perClient;
    private final int maxPerClient;
    private final long deadlineNanos;
    private ScheduledFuture<?> timer;
    /**
     * Requests passed on and not answered yet. While one is, it is the server's turn: a request pipelined behind an
     * answer was read with it and waits in the server, so the answer before it starts no deadline.
     */
    private int unanswered;
    private boolean counted;
    /** The client counted in {@link #perClient}, or {@code null}. */
    private ClientAddress client;

    /** @param open the connections open now, shared by every connection of one server */
    public RequestLimits(AtomicInteger open, int maxConnections, long deadlineNanos) {
        this(open, maxConnections, null, 0, deadlineNanos);
    }

    /**
     * @param open      the connections open now, shared by every connection of one server
     * @param perClient the connections open now per client address, shared likewise; {@code null}: no such limit
     */
    public RequestLimits(AtomicInteger open, int maxConnections, ConcurrentMap<ClientAddress, Integer> perClient,
                         int maxPerClient, long deadlineNanos) {
        this.open = open;
        this.maxConnections = maxConnections;
        this.perClient = perClient;
        this.maxPerClient = maxPerClient;
        this.deadlineNanos = deadlineNanos;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        counted = true;
        if (open.incrementAndGet() > maxConnections) {
            ctx.close();
            return;
        }
        if (perClient != null && ctx.channel().remoteAddress() instanceof InetSocketAddress remote
                && remote.getAddress() != null) {
            client = ClientAddress.of(remote.getAddress());
            if (perClient.merge(client, 1, Integer::sum) > maxPerClient) {
                ctx.close();
                return;
            }
        }
        arm(ctx);
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest) {
            unanswered++;
            if (timer != null) {
                timer.cancel(false); // whole: the response is the server's turn
                timer = null;
            }
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof FullHttpResponse || msg instanceof LastHttpContent) {
            promise = promise.unvoid();
            promise.addListener(f -> {
                unanswered = Math.max(0, unanswered - 1);
                if (f.isSuccess() && ctx.channel().isActive() && unanswered == 0) {
                    arm(ctx); // the next request's time starts
                }
            });
        }
        super.write(ctx, msg, promise);
    }

    private void arm(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
        }
        timer = ctx.executor().schedule(() -> {
            timer = null;
            ctx.close();
        }, deadlineNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        if (counted) {
            counted = false;
            open.decrementAndGet();
        }
        if (client != null) {
            perClient.computeIfPresent(client, (address, n) -> n == 1 ? null : n - 1);
            client = null;
        }
        super.channelInactive(ctx);
    }
}
