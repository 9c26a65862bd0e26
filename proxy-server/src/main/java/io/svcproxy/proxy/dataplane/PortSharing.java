package io.svcproxy.proxy.dataplane;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelOption;
import io.svcproxy.balancer.Backends;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * How a port is shared between svcproxy's own listener bound to every address (an Ingress or admin listener on
 * {@code 0.0.0.0} or {@code [::]}) and its Service listeners at that port (a clusterIP, externalIP, LoadBalancer IP
 * or node address): as kube-proxy's rules take a Service address's connections before any process listening on
 * every address of the node, the Service listener takes the connections to its own address and the own listener
 * the rest. Linux does exactly that for listeners that all set SO_REUSEPORT: a connection goes to the listener
 * bound to its destination address before one bound to every address.
 *
 * <p>Only the ports of the own listeners on every address that the config names are shared ({@link #configure}):
 * a Service listener at any other port is bound as any socket, so that another program binding its address later
 * fails as before. At a shared port, SO_REUSEPORT would let a program of the same user that sets it too (HAProxy
 * by default, nginx with {@code reuseport}, a second svcproxy) join a listener: before each bind there, the
 * listening sockets of the host are read ({@link ListeningSockets}), and one at an overlapping address that is not
 * svcproxy's own is an error ("address in use"), never a port quietly shared with it. One that binds there later
 * can join: the README says so. Thread-safe.
 */
public final class PortSharing {
    private final Transport transport;
    private final ListeningSockets sockets;
    /** The ports of the own listeners on every address the config in force names. */
    private volatile Set<Integer> shared = Set.of();

    PortSharing(Transport transport, ListeningSockets sockets) {
        this.transport = transport;
        this.sockets = sockets;
    }

    /**
     * Takes the own listeners of the config in force ({@code ProxySettings.ownListeners()}): the ports of those on
     * every address are shared from now on, before the Service ports of that config are bound. A Service listener
     * bound before its port was shared keeps its socket: an own listener moved onto its port by a reload cannot be
     * bound beside it until a restart (its error says so).
     */
    public void configure(Map<InetSocketAddress, String> own) {
        Set<Integer> ports = new TreeSet<>();
        for (InetSocketAddress a : own.keySet()) {
            if (everyAddress(a) && a.getPort() != 0) {
                ports.add(a.getPort());
            }
        }
        shared = Set.copyOf(ports);
        sockets.forget(); // a reload reads the host's listeners afresh
    }

    /**
     * Readies the bootstrap of a TCP Service listener at {@code at}: at a shared port SO_REUSEPORT, after checking
     * that no other program listens there; elsewhere nothing (bound as any socket).
     *
     * @throws BindException if another program listens at {@code at} (or on every address at its port)
     */
    void serviceListener(ServerBootstrap bootstrap, InetSocketAddress at) throws BindException {
        if (!shared.contains(at.getPort())) {
            return;
        }
        refuseForeign(Backends.format(at.getAddress(), at.getPort()), at);
        bootstrap.option(transport.reusePort(), true);
    }

    /**
     * What to set on the bootstrap of svcproxy's own listener (Ingress, admin) at {@code at} before it binds:
     * SO_REUSEPORT when it is bound to every address, after checking that no other program listens at its port;
     * nothing when it is bound to one address (no Service may listen there: the config refuses it).
     *
     * @throws BindException if another program listens at the port ({@code what} names the listener)
     */
    public Consumer<ServerBootstrap> ownListener(String what, InetSocketAddress at) throws BindException {
        if (!everyAddress(at) || at.getPort() == 0) {
            return b -> { };
        }
        refuseForeign(what + " " + Backends.format(at.getAddress(), at.getPort()), at);
        ChannelOption<Boolean> reusePort = transport.reusePort();
        return b -> b.option(reusePort, true);
    }

    private void refuseForeign(String what, InetSocketAddress at) throws BindException {
        ListeningSockets.Listener foreign = sockets.foreignAt(at);
        if (foreign != null) {
            sockets.forget(); // read again next time: it may have gone
            throw new BindException(what, new java.net.BindException("Address already in use (another program "
                    + "listens at " + Backends.format(foreign.address(), foreign.port()) + ")"));
        }
    }

    private static boolean everyAddress(InetSocketAddress at) {
        return at.getAddress() == null || at.getAddress().isAnyLocalAddress();
    }
}
