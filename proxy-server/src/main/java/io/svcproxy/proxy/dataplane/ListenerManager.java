package io.svcproxy.proxy.dataplane;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.svcproxy.balancer.Backends;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the data plane's event loops and one listening channel per Service port. {@link #bind} and
 * {@link #unbind} are called by the reconciler on the control-plane thread; accepted connections are served on
 * the worker loops, each with its endpoint connection on the same loop.
 */
public final class ListenerManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ListenerManager.class);

    private final Transport transport;
    private final ProxyMetrics metrics;
    private final EventLoopGroup bossGroup;
    private final EventLoopGroup workerGroup;
    private final Map<ServiceKey, Channel> listeners = new ConcurrentHashMap<>();
    private final Set<Channel> connections = ConcurrentHashMap.newKeySet();
    private volatile DataPlaneSettings settings;

    /**
     * Creates the event loops.
     *
     * @param workerThreads event loops serving connections; 0 for one per available processor
     */
    public ListenerManager(Transport transport, int workerThreads, ProxyMetrics metrics, DataPlaneSettings settings) {
        this.transport = transport;
        this.metrics = metrics;
        this.settings = settings;
        this.bossGroup = transport.newGroup(1, new DefaultThreadFactory("svcproxy-accept", true));
        int threads = workerThreads > 0 ? workerThreads : Runtime.getRuntime().availableProcessors();
        this.workerGroup = transport.newGroup(threads, new DefaultThreadFactory("svcproxy-io", true));
        log.info("Data plane started transport={} eventLoops={}", transport, threads);
    }

    /** Returns the transport in use. */
    public Transport transport() {
        return transport;
    }

    /** Sets the knobs for connections accepted from now on. */
    public void setSettings(DataPlaneSettings settings) {
        this.settings = settings;
    }

    /** Returns the knobs in force. */
    public DataPlaneSettings settings() {
        return settings;
    }

    /**
     * Binds a listener on the Service port's clusterIP and port and serves it.
     *
     * @throws BindException if the address cannot be bound; the message names it
     */
    public void bind(ServicePort servicePort) throws BindException {
        ServiceKey key = servicePort.key();
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, Relay.recvAllocator())
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, Relay.WATER_MARK)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.add(ch);
                        ch.closeFuture().addListener(f -> connections.remove(ch));
                        DataPlaneSettings s = settings;
                        long idleMillis = s.idleTimeout().toMillis();
                        if (idleMillis > 0) {
                            ch.pipeline().addLast(new IdleStateHandler(0, 0, idleMillis, TimeUnit.MILLISECONDS));
                        }
                        ch.pipeline().addLast(new FrontendHandler(servicePort, s, transport, metrics));
                    }
                });
        String address = Backends.format(key.clusterIP(), key.port());
        ChannelFuture future = bootstrap.bind(new InetSocketAddress(key.clusterIP(), key.port())).awaitUninterruptibly();
        if (!future.isSuccess()) {
            throw new BindException(address, future.cause());
        }
        listeners.put(key, future.channel());
        log.info("Listening service={} port={} address={}", servicePort.serviceLabel(), servicePort.portLabel(),
                address);
    }

    /** Closes the listener of {@code key}: new connections are refused; established ones go on. */
    public void unbind(ServiceKey key) {
        Channel channel = listeners.remove(key);
        if (channel != null) {
            channel.close().awaitUninterruptibly();
            log.info("Stopped listening address={}", Backends.format(key.clusterIP(), key.port()));
        }
    }

    /** Returns the address a Service port's listener is bound to, or {@code null}. */
    public InetSocketAddress boundAddress(ServiceKey key) {
        Channel channel = listeners.get(key);
        return channel == null ? null : (InetSocketAddress) channel.localAddress();
    }

    /** Returns the number of client connections open, on every Service port. */
    public int connectionCount() {
        return connections.size();
    }

    /** Closes every listener: new connections are refused from now on. */
    public void closeListeners() {
        for (ServiceKey key : listeners.keySet()) {
            unbind(key);
        }
    }

    /**
     * Lets established connections finish for up to {@code timeout}, then closes those left.
     *
     * @return the number of connections closed at the deadline
     */
    public int drain(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!connections.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int left = connections.size();
        for (Channel channel : connections) {
            channel.close();
        }
        return left;
    }

    /** Closes the listeners, every connection and the event loops. */
    @Override
    public void close() {
        closeListeners();
        for (Channel channel : connections) {
            channel.close();
        }
        bossGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        workerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
