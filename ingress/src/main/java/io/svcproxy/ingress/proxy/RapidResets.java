package io.svcproxy.ingress.proxy;

import java.util.concurrent.TimeUnit;

/**
 * The HTTP/2 rapid-reset guard of one client connection (CVE-2023-44487): a client that opens streams and resets
 * them before their answer makes the proxy route, pick and send a request to an endpoint for each, at no cost of its
 * own. Counted here are the client's RST_STREAM frames of streams whose response head the proxy had not sent yet;
 * past {@link #LIMIT} in a window of {@link #WINDOW_SECONDS} s the connection goes away gracefully, as nginx's
 * past its {@code keepalive_requests}: {@code GOAWAY NO_ERROR} naming the last stream taken, those streams are
 * finished (up to Netty's graceful shutdown timeout, 30 s), no new one is taken, and a client that meant no harm
 * opens a new connection.
 *
 * <p>Netty's own guard (its {@code Http2MaxRstFrameDecoder}, the same 200 in 30 s, on by default for a server) is
 * turned off instead: it counts every reset of an open stream, so a client that cancels streams it was being
 * answered (a map panning away from its tiles, a player seeking, gRPC deadlines) lost its connection after 200, with a
 * hard close that cut the responses still in flight on it. nginx bounds the same attack by new streams per event
 * loop turn and 1000 requests per connection, HAProxy by its glitch counters; neither cuts a stream already taken.
 *
 * <p>On the connection's event loop: plain fields.
 */
final class RapidResets {
    /** Resets of unanswered streams allowed per window: Netty's default for a server. */
    static final int LIMIT = 200;
    static final int WINDOW_SECONDS = 30;
    private static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(WINDOW_SECONDS);

    private long windowStart;
    private int count;

    /** Counts a reset of a stream not answered yet at {@code nanoTime}; returns whether it is one too many. */
    boolean tooMany(long nanoTime) {
        if (count == 0 || nanoTime - windowStart >= WINDOW_NANOS) {
            windowStart = nanoTime;
            count = 0;
        }
        return ++count > LIMIT;
    }
}
