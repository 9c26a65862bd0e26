package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayList;

/**
 * Flushes channels once their event loop has handled every channel that was ready in this turn: a task queued
 * during the turn runs after its I/O. The read loops of one turn are all relayed before their writes leave, back
 * to back, so a peer woken by the first write finds the next ones queued instead of being woken once per write.
 * Used by the TCP relay (svcproxy's {@code Relay}) and by the Ingress towards clients and endpoints, HTTP/2
 * connections included ({@link Http2IngressHandler#flushSoon}). Measured in docs/performance.md,
 * "Keep-alive, round 12": TCP keep-alive -4.5% CPU and +4.6% requests per second (paired rounds), Ingress
 * HTTP/1.1 keep-alive -6% CPU.
 *
 * <p>Per event-loop thread; a channel of another loop than the caller's is flushed at once.
 */
public final class TurnFlush {
    private static final FastThreadLocal<TurnFlush> LOCAL = new FastThreadLocal<>() {
        @Override
        protected TurnFlush initialValue() {
            return new TurnFlush();
        }
    };

    /**
     * The channels to flush at the end of this turn, in the order they were written to: a channel may come again
     * after another one, never twice in a row; an entry is {@code null} once flushed.
     */
    private final ArrayList<Channel> due = new ArrayList<>();
    private final Runnable flushAll = this::flushAll;

    private TurnFlush() {
    }

    /** Flushes {@code ch} at the end of this turn of its event loop, or at once when called off that loop. */
    public static void flushLater(Channel ch) {
        if (!ch.eventLoop().inEventLoop()) {
            ch.flush();
            return;
        }
        TurnFlush t = LOCAL.get();
        ArrayList<Channel> d = t.due;
        int n = d.size();
        if (n == 0) {
            ch.eventLoop().execute(t.flushAll);
        } else if (d.get(n - 1) == ch) {
            return; // the streams of one HTTP/2 connection, relayed one after another: one flush
        }
        d.add(ch);
    }

    private void flushAll() {
        ArrayList<Channel> d = due;
        // by index: a flush may queue more channels here (a write that fails closes a relay, a channel that turns
        // writable resumes a read); cleared before its flush, a channel queued again during it is not taken as due
        try {
            for (int i = 0; i < d.size(); i++) {
                Channel ch = d.set(i, null);
                if (ch.isActive()) {
                    ch.flush();
                }
            }
        } finally {
            // (a pipeline's flush reports its handlers' exceptions to exceptionCaught; should anything still
            // escape, the loop's task runner logs it, and the next turn must queue a task of its own again)
            d.clear();
        }
    }
}
