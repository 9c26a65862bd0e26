package io.svcproxy.proxy.dataplane;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.svcproxy.balancer.Backends;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds the TCP listening sockets of Service ports, on any of their addresses, and admits each accepted connection
 * by the rules of the address it came in on ({@link AddressRules}) before handing it to a {@link FrontendHandler}.
 */
final class TcpAcceptor {
    private static final Logger log = LoggerFactory.getLogger(TcpAcceptor.class);

    /** The event loops: each listening channel accepts on one of them, its connections are served on any. */
    private final EventLoopGroup loops;
    private final Transport transport;
    private final ProxyMetrics metrics;
    private final Admission admission;
    private final Set<Channel> connections;
    private final Supplier<DataPlaneSettings> settings;
    private final ConnectionRecorder recorder;
    private final PortSharing portSharing;

    TcpAcceptor(EventLoopGroup loops, Transport transport, ProxyMetrics metrics,
                Admission admission, Set<Channel> connections, Supplier<DataPlaneSettings> settings,
                ConnectionRecorder recorder, PortSharing portSharing) {
        this.recorder = recorder;
        this.portSharing = portSharing;
        this.loops = loops;
        this.transport = transport;
        this.metrics = metrics;
        this.admission = admission;
        this.connections = connections;
        this.settings = settings;
    }

    /**
     * Binds {@code at} for {@code servicePort}; each connection accepted there is of the kind {@code kind} says when
     * it arrives (a reload may change what an address is while it stays bound).
     *
     * @throws BindException if the address cannot be bound; the message names it
     */
    Channel bind(ServicePort servicePort, InetSocketAddress at, Supplier<AddressKind> kind) throws BindException {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(loops) // accepted on the event loops: no accept thread to wake per connection
                .channelFactory(transport.serverChannelFactory(at.getAddress()))
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                // TCP_NODELAY is on without an option: the listening socket has it and Linux copies it to accepted
                // sockets on epoll (RelayEpollServerSocketChannel), Netty's other channels set it themselves.
                // The client is read from the start, while the endpoint connects (what it sends first is held,
                // bounded, for the endpoint: FrontendHandler): its EPOLLIN goes in with its EPOLL_CTL_ADD
                .childOption(ChannelOption.AUTO_READ, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, Relay.recvAllocator())
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, Relay.WATER_MARK)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted(servicePort, kind.get(), ch);
                    }
                });
        portSharing.serviceListener(bootstrap, at); // at a shared port SO_REUSEPORT, unless another program is there
        ChannelFuture future = bootstrap.bind(at).awaitUninterruptibly();
        if (!future.isSuccess()) {
            throw new BindException(Backends.format(at.getAddress(), at.getPort()), future.cause());
        }
        if (admission.fdPaused()) {
            future.channel().config().setAutoRead(false);
        }
        return future.channel();
    }

    private void accepted(ServicePort servicePort, AddressKind kind, Channel ch) {
        connections.add(ch);
        ch.closeFuture().addListener(f -> connections.remove(ch));
        servicePort.countArrival(kind);
        InetSocketAddress client = (InetSocketAddress) ch.remoteAddress();
        if (client == null || ch.localAddress() == null) {
            // the client left before its connection was served: io_uring's multishot accept learns the addresses
            // from the socket afterwards (getpeername), which fails once the peer is gone; no rule is asked (a
            // LoadBalancer IP's source ranges would count it refused) and no endpoint is connected
            log.debug("Client gone before serving service={} port={}", servicePort.serviceLabel(),
                    servicePort.portLabel());
            ch.close();
            return;
        }
        DataPlaneSettings s = settings.get();
        AddressRules.Decision decision = AddressRules.decide(servicePort, kind, client.getAddress(), s);
        if (decision.refused()) {
            ch.close();
            return;
        }
        if (decision.eligible() != null) {
            ch.attr(FrontendHandler.ELIGIBLE).set(decision.eligible());
        }
        ch.pipeline().addLast(new FrontendHandler(servicePort, s, transport, metrics, admission, recorder));
    }
}
