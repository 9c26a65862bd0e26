package io.svcproxy.ingress.proxy;

import java.net.InetSocketAddress;

/** An Ingress listener, HTTP or HTTPS: bound once, its options swappable for the connections it accepts next. */
public interface IngressServer extends AutoCloseable {
    /** The bound address (port 0 resolved). */
    InetSocketAddress localAddress();

    /** The timeouts and limits of the connections accepted now. */
    IngressOptions options();

    /**
     * Gives the connections accepted from now on other timeouts and limits, without closing the listener (a
     * reload's); established connections keep the ones they were accepted with.
     */
    void setOptions(IngressOptions options);

    /** Stops accepting; connections in progress are closed with the event loops. */
    @Override
    void close();
}
