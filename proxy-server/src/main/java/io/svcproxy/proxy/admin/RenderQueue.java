package io.svcproxy.proxy.admin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The answers that take long (the scrape, the JSON APIs, a what-if replay), made one at a time on a thread of their own
 * so that the kubelet's probes never wait behind a scrape on the admin event loop. A connection has at most one answer
 * here at a time (it reads nothing more meanwhile, and what it had sent waits in {@link AdminHandler}), and that answer
 * goes when the connection closes: queued, it is dropped; being made, it is not sent; not started yet, it is not made.
 * So the queue holds at most one answer per admin connection, and the connection caps bound it, whatever a client
 * that asks and leaves again and again does. {@link #submit} and {@link #closed} are called on the admin event loop,
 * {@link #stop} by the admin server's lifecycle.
 */
final class RenderQueue {
    /** An answer made on the render thread: a body and how to send it, or the failure that made none. */
    record Rendered(HttpResponseStatus status, String contentType, ByteBuf body, boolean large, Throwable failure) {
    }

    /** Makes an answer, on the render thread. */
    interface Render {
        Rendered render() throws IOException;
    }

    /** The connection's answer queued or being made, {@code null} when none is. */
    private static final AttributeKey<Task> QUEUED = AttributeKey.valueOf("svcproxy.admin.render");

    private final ThreadPoolExecutor renderer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(), new DefaultThreadFactory("svcproxy-admin-render", true));

    /**
     * Makes the answer to {@code request} (retained by the caller, held until answered or dropped) with {@code render},
     * then hands it to {@code send} on the connection's event loop, which owns the request from then on.
     */
    void submit(ChannelHandlerContext ctx, FullHttpRequest request, Render render, Consumer<Rendered> send) {
        Task task = new Task(ctx, request, render, send);
        ctx.channel().attr(QUEUED).set(task);
        try {
            renderer.execute(task);
        } catch (RejectedExecutionException stopped) {
            ctx.channel().attr(QUEUED).set(null);
            request.release(); // the admin server stops: nobody to answer
        }
    }

    /**
     * The connection closed: its answer still queued is dropped, its request let go. One the render thread took
     * already sees the connection closed ({@link Task#run}).
     */
    void closed(Channel channel) {
        Task task = channel.attr(QUEUED).getAndSet(null);
        if (task != null && renderer.remove(task)) {
            task.request.release();
        }
    }

    /** The answers waiting for the render thread now: for tests. */
    int queued() {
        return renderer.getQueue().size();
    }

    /** Stops the render thread; the answers still queued are dropped, their requests let go. */
    void stop() {
        for (Runnable queued : renderer.shutdownNow()) {
            if (queued instanceof Task task) {
                task.request.release();
            }
        }
    }

    /** One answer to make; holds its request (retained) until it is handed on, or let go. */
    private static final class Task implements Runnable {
        private final ChannelHandlerContext ctx;
        private final FullHttpRequest request;
        private final Render render;
        private final Consumer<Rendered> send;

        Task(ChannelHandlerContext ctx, FullHttpRequest request, Render render, Consumer<Rendered> send) {
            this.ctx = ctx;
            this.request = request;
            this.render = render;
            this.send = send;
        }

        @Override
        public void run() {
            if (!ctx.channel().isActive()) {
                request.release(); // its client left while it waited: a scrape nobody reads is not made
                return;
            }
            Rendered rendered;
            try {
                rendered = render.render();
            } catch (IOException | RuntimeException e) {
                rendered = new Rendered(HttpResponseStatus.INTERNAL_SERVER_ERROR, AdminHandler.TEXT, null, false, e);
            }
            Rendered done = rendered;
            try {
                ctx.executor().execute(() -> {
                    ctx.channel().attr(QUEUED).compareAndSet(this, null);
                    send.accept(done);
                });
            } catch (RejectedExecutionException stopped) {
                // the admin server stopped while this was made: nobody to answer
                if (done.body() != null) {
                    done.body().release();
                }
                request.release();
            }
        }
    }
}
