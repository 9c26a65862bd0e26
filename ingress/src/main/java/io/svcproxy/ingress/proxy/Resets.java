package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;

/**
 * Ends a connection with a reset (TCP RST), where what it carried was cut short: a FIN would let the peer read a
 * close-delimited body, or a tunnel's stream, as complete. On the connection's event loop.
 */
public final class Resets {
    private Resets() {
    }

    /** Makes the next close of {@code ch} a reset (SO_LINGER 0); nothing when its socket is already shutting down. */
    public static void onClose(Channel ch) {
        try {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException e) {
            // the socket is already closing: a plain close is all that is left
        }
    }

    /**
     * Resets {@code ch} now, below its pipeline: through it, TLS's handler would send close_notify first, which tells
     * the peer the stream ended whole, the very reading the reset is for.
     */
    static void now(Channel ch) {
        if (!ch.isOpen()) {
            return;
        }
        onClose(ch);
        ch.unsafe().close(ch.voidPromise());
    }
}
