package io.svcproxy.proxy.dataplane;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the connections of one of svcproxy's own small HTTP servers (the admin server, the health check node ports)
 * may hold: at most {@code maxConnections} at once (more are closed as they are accepted), and each request must
 * arrive whole within {@code deadline} of the connection's start or of the previous response's end, else the
 * connection is closed. A client sending a header byte now and then (slowloris) holds no connection longer than
 * that, and a flood of them cannot eat the descriptors the data plane needs (its fd guard stops accepting Service
 * connections near the limit). Behind the codec and the aggregator: it sees whole requests ({@link FullHttpRequest},
 * or an {@link io.netty.handler.codec.http.HttpRequest} whose body is not aggregated). Runs on the server's event
 * loops; one instance per connection, the count shared.
 */
public final class RequestLimits extends ChannelDuplexHandler {
    private final AtomicInteger open;
    private final int maxConnections;
    private final long deadlineNanos;
    private ScheduledFuture<?> timer;
    private boolean counted;

    /** @param open the connections open now, shared by every connection of one server */
    public RequestLimits(AtomicInteger open, int maxConnections, long deadlineNanos) {
        this.open = open;
        this.maxConnections = maxConnections;
        this.deadlineNanos = deadlineNanos;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        counted = true;
        if (open.incrementAndGet() > maxConnections) {
            ctx.close();
            return;
        }
        arm(ctx);
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest && timer != null) {
            timer.cancel(false); // whole: the response is the server's turn
            timer = null;
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof FullHttpResponse || msg instanceof LastHttpContent) {
            promise = promise.unvoid();
            promise.addListener(f -> {
                if (f.isSuccess() && ctx.channel().isActive()) {
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
        super.channelInactive(ctx);
    }
}
