package io.svcproxy.proxy.dataplane;

import io.netty.bootstrap.ServerBootstrap;
import io.svcproxy.balancer.Backends;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.IntPredicate;

/**
 * How a port is shared between svcproxy's own listener bound to every address (an Ingress or admin listener on
 * {@code 0.0.0.0} or {@code [::]}) and its Service listeners at that port (a clusterIP, externalIP, LoadBalancer IP
 * or node address): as kube-proxy's rules take a Service address's connections before any process listening on
 * every address of the node, the Service listener takes the connections to its own address and the own listener
 * the rest. Linux does exactly that for listeners that all set SO_REUSEPORT: a connection goes to the listener
 * bound to its destination address before one bound to every address. So every TCP Service listener and every own
 * listener on every address is bound with SO_REUSEPORT, and before it a plain bind (SO_REUSEADDR only, as the
 * listener's own, never listening) tells whether another program listens there: that stays an error ("address in
 * use"), never a port quietly shared with it. A listener of svcproxy itself that makes the plain bind fail (its
 * own listener on every address at a Service listener's port, or a Service listener at the port of an own listener
 * on every address) is no error. Thread-safe.
 */
public final class PortSharing {
    private final Transport transport;
    /** Whether one of svcproxy's TCP Service listeners is bound at a port. */
    private final IntPredicate serviceListenersAt;
    /** The ports of svcproxy's own listeners bound to every address now. */
    private final Set<Integer> ownEveryAddressPorts = ConcurrentHashMap.newKeySet();

    PortSharing(Transport transport, IntPredicate serviceListenersAt) {
        this.transport = transport;
        this.serviceListenersAt = serviceListenersAt;
    }

    /**
     * Readies the bootstrap of a TCP Service listener at {@code at}: SO_REUSEPORT, after checking that no other
     * program listens there.
     *
     * @throws BindException if another program listens at {@code at} (or on every address at its port)
     */
    void serviceListener(ServerBootstrap bootstrap, InetSocketAddress at) throws BindException {
        IOException taken = plainBind(at);
        if (taken != null && !ownEveryAddressPorts.contains(at.getPort())) {
            throw new BindException(Backends.format(at.getAddress(), at.getPort()), taken);
        }
        bootstrap.option(transport.reusePort(), true);
    }

    /**
     * What to set on the bootstrap of svcproxy's own listener (Ingress, admin) at {@code at} before it binds:
     * SO_REUSEPORT when it is bound to every address, after checking that no other program listens at its port;
     * nothing when it is bound to one address (no Service may listen there: the config refuses it). Call
     * {@link #ownBound} once it is bound and {@link #ownClosed} when it closes.
     *
     * @throws BindException if another program listens at the port ({@code what} names the listener)
     */
    public Consumer<ServerBootstrap> ownListener(String what, InetSocketAddress at) throws BindException {
        if (!everyAddress(at)) {
            return b -> { };
        }
        IOException taken = plainBind(at);
        if (taken != null && !serviceListenersAt.test(at.getPort())) {
            throw new BindException(what + " " + Backends.format(at.getAddress(), at.getPort()), taken);
        }
        io.netty.channel.ChannelOption<Boolean> reusePort = transport.reusePort();
        return b -> b.option(reusePort, true);
    }

    /** Notes that an own listener is bound at {@code bound} (its address once bound: the port a port 0 got). */
    public void ownBound(InetSocketAddress bound) {
        if (everyAddress(bound)) {
            ownEveryAddressPorts.add(bound.getPort());
        }
    }

    /** Notes that the own listener bound at {@code bound} closed. */
    public void ownClosed(InetSocketAddress bound) {
        if (everyAddress(bound)) {
            ownEveryAddressPorts.remove(bound.getPort());
        }
    }

    private static boolean everyAddress(InetSocketAddress at) {
        return at.getAddress() == null || at.getAddress().isAnyLocalAddress();
    }

    /**
     * Binds a TCP socket at {@code at} without SO_REUSEPORT and without listening, and closes it: the error, when
     * a listener is there (or on every address at its port), else {@code null}. Port 0 is always free.
     */
    static IOException plainBind(InetSocketAddress at) {
        if (at.getPort() == 0) {
            return null;
        }
        StandardProtocolFamily family = at.getAddress() instanceof Inet4Address ? StandardProtocolFamily.INET
                : StandardProtocolFamily.INET6;
        try (SocketChannel probe = SocketChannel.open(family)) {
            probe.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            probe.bind(at);
            return null;
        } catch (IOException e) {
            return e;
        }
    }
}
