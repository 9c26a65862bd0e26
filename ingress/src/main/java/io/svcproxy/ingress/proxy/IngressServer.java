package io.svcproxy.ingress.proxy;

import io.svcproxy.balancer.ConnectionCounters;
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

    /**
     * The port a plain-HTTP listener's redirects to HTTPS name (443 is left out of the URL), or 0 when they have none
     * to name (then nothing is redirected). Every connection reads it per request, so a reload that moves the HTTPS
     * listener is followed by kept-alive connections too. An HTTPS listener ignores it.
     */
    void setHttpsPort(int port);

    /**
     * Stops accepting and asks every connection it accepted to end without cutting a request: HTTP/2 with a GOAWAY
     * once its streams are answered, HTTP/1.1 between requests or after the response under way
     * ({@code Connection: close}). WebSocket tunnels go on. {@link #connections} tells when they are gone.
     */
    void drain();

    /** The client connections accepted and still open (tunnels included). */
    int connections();

    /**
     * Resets the client connections still open (the drain's deadline, or a close without a drain): a response or
     * WebSocket tunnel cut short reaches the client as a reset, never as a complete close-delimited body.
     */
    void cut();

    /**
     * Ends the requests and WebSocket tunnels that hold a claim on {@code endpoint}, an endpoint of a Service port
     * that left it and whose drain outlived {@code drainTimeout}: a request not answered yet gets a 502, a response
     * under way or a tunnel is cut short with a reset (an HTTP/2 stream with its RST_STREAM). Not from an event loop.
     *
     * @return how many were ended
     */
    int cutRequestsTo(ConnectionCounters endpoint);

    /** Stops accepting; connections in progress are cut ({@link #cut}) by whoever closes the event loops. */
    @Override
    void close();
}
