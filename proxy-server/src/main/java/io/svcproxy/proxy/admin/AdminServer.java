package io.svcproxy.proxy.admin;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.compression.StandardCompressionOptions;
import io.netty.handler.codec.http.HttpContentCompressor;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.handler.timeout.WriteTimeoutHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.svcproxy.balancer.Backends;
import io.svcproxy.proxy.dataplane.BindException;
import io.svcproxy.proxy.dataplane.PortSharing;
import io.svcproxy.proxy.dataplane.RequestLimits;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.dataplane.Transport;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP/1.1 server of SPEC.md ("Admin HTTP"): {@code /healthz}, {@code /readyz}, {@code /metrics},
 * {@code /api/v1/services} and the stats page at {@code /} with its files under {@code /static/} (a fixed
 * allow-list, {@link StatusPage}). Every answer carries {@code X-Content-Type-Options: nosniff} and a
 * Content-Security-Policy that allows only this server. It runs on its own single event loop, apart from the
 * data plane, with the data plane's transport (epoll on Linux, else NIO). It answers {@code GET} and
 * {@code HEAD} only (else 405), unknown paths with 404, request bodies over {@value #MAX_CONTENT_LENGTH} bytes
 * with 413 (and an unknown {@code Expect} with 417: {@link AdminAggregator}, answers like the others; one to a
 * request waiting for its {@code 100 Continue} closes the connection), and keeps connections alive when the client
 * asks. At most {@value #MAX_CONNECTIONS} connections are
 * held at once, at most {@value #MAX_CONNECTIONS_PER_CLIENT} of them from one client address; a request must arrive
 * whole within {@value #REQUEST_DEADLINE_SECONDS} s of the connection's start or of the answer to the last request
 * read (a slowloris client holds nothing for long, {@link RequestLimits}), and a connection silent for
 * {@value #READ_TIMEOUT_SECONDS} s is closed, and one that does not take an answer within
 * {@value #WRITE_TIMEOUT_SECONDS} s too. The answers that grow with the config ({@code /metrics}, the two JSON APIs)
 * are gzipped for clients that accept it (Prometheus does), and while {@value #MAX_PENDING_BYTES} bytes of them wait
 * for clients that do not read, another is answered {@code 503} (the probes still answer): a client that asks and
 * never reads cannot make the proxy hold a scrape per connection.
 *
 * <p>{@link #start} and {@link #stop} are called by the thread that owns the proxy's lifecycle.
 */
public final class AdminServer {
    /** The largest request body accepted; the admin API takes no bodies, so this only bounds abuse. */
    public static final int MAX_CONTENT_LENGTH = 64 * 1024;
    static final int READ_TIMEOUT_SECONDS = 60;
    static final int REQUEST_DEADLINE_SECONDS = 10;
    static final int MAX_CONNECTIONS = 128;
    /** Of those, from one client address: one client's idle connections cannot shut out the kubelet's probes. */
    static final int MAX_CONNECTIONS_PER_CLIENT = 32;
    static final int WRITE_TIMEOUT_SECONDS = 10;
    static final long MAX_PENDING_BYTES = 64L * 1024 * 1024;
    /** Answers smaller than this are not compressed. */
    static final int COMPRESS_FROM_BYTES = 1024;

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    private final InetSocketAddress address;
    private final ServiceTable table;
    private final io.svcproxy.proxy.ingress.IngressListeners ingress;
    private final PrometheusMeterRegistry registry;
    private final Transport transport;
    private EventLoopGroup group;
    /** The thread that makes the answers that take long ({@link AdminHandler}), off the event loop. */
    private RenderQueue renderer;
    private Channel channel;
    /** How the admin port is shared with Service listeners when bound to every address, or {@code null}. */
    private PortSharing sharing;
    private final java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger();
    private int maxConnections = MAX_CONNECTIONS;
    private int maxPerClient = MAX_CONNECTIONS_PER_CLIENT;
    private final java.util.concurrent.ConcurrentMap<io.svcproxy.balancer.ClientAddress, Integer> perClient =
            new java.util.concurrent.ConcurrentHashMap<>();
    private long requestDeadlineNanos = TimeUnit.SECONDS.toNanos(REQUEST_DEADLINE_SECONDS);
    private long writeTimeoutMillis = TimeUnit.SECONDS.toMillis(WRITE_TIMEOUT_SECONDS);
    private long maxPendingBytes = MAX_PENDING_BYTES;

    /**
     * Returns a server that will listen on {@code address} (port 0: any free port) and report {@code table}
     * and the meters of {@code registry}. Nothing is bound before {@link #start()}.
     */
    public AdminServer(InetSocketAddress address, ServiceTable table, PrometheusMeterRegistry registry) {
        this(address, table, registry, Transport.select());
    }

    /** Returns a server on a chosen transport. */
    public AdminServer(InetSocketAddress address, ServiceTable table, PrometheusMeterRegistry registry,
                       Transport transport) {
        this(address, table, registry, transport, null);
    }

    /** Returns a server that also reports the Ingress ({@code null}: {@code /api/v1/ingresses} lists none). */
    public AdminServer(InetSocketAddress address, ServiceTable table, PrometheusMeterRegistry registry,
                       Transport transport, io.svcproxy.proxy.ingress.IngressListeners ingress) {
        this.ingress = ingress;
        this.address = Objects.requireNonNull(address, "address");
        this.table = Objects.requireNonNull(table, "table");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.transport = Objects.requireNonNull(transport, "transport");
    }

    /**
     * Binds the address and starts serving.
     *
     * @throws BindException if the address cannot be bound; the message names it, and nothing is left running
     * @throws IllegalStateException if the server was started already
     */
    public synchronized void start() throws BindException {
        if (group != null) {
            throw new IllegalStateException("admin server already started on " + format(address));
        }
        java.util.function.Consumer<ServerBootstrap> socket = sharing == null ? b -> { }
                : sharing.ownListener("proxy.admin", address);
        EventLoopGroup loop = transport.newGroup(1, new DefaultThreadFactory("svcproxy-admin", true));
        RenderQueue render = new RenderQueue();
        AdminHandler handler = new AdminHandler(table, registry, ingress, maxPendingBytes, render);
        long writeTimeout = writeTimeoutMillis;
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(loop)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                // a client that half-closes after its request still gets the answer (AdminHandler closes after it)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline()
                                .addLast(new WriteTimeoutHandler(writeTimeout, TimeUnit.MILLISECONDS))
                                .addLast(new ReadTimeoutHandler(READ_TIMEOUT_SECONDS, TimeUnit.SECONDS))
                                .addLast(new HttpServerCodec())
                                .addLast(new HttpContentCompressor(COMPRESS_FROM_BYTES,
                                        StandardCompressionOptions.gzip()))
                                .addLast(new AdminAggregator(MAX_CONTENT_LENGTH))
                                .addLast(new RequestLimits(open, maxConnections, perClient, maxPerClient,
                                        requestDeadlineNanos))
                                .addLast(handler);
                    }
                });
        socket.accept(bootstrap);
        ChannelFuture bind = bootstrap.bind(address).awaitUninterruptibly();
        if (!bind.isSuccess()) {
            loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly();
            render.stop();
            throw new BindException("proxy.admin " + format(address), bind.cause());
        }
        group = loop;
        renderer = render;
        channel = bind.channel();
        log.info("Admin listening address={} transport={}", format(boundAddress()), transport);
    }

    /**
     * Shares the admin port, when it is bound to every address, with the Service listeners there (each takes the
     * connections to its own address); before {@link #start}.
     */
    public synchronized AdminServer sharing(PortSharing portSharing) {
        this.sharing = portSharing;
        return this;
    }

    /** Other limits than the defaults, for tests; before {@link #start}. */
    synchronized AdminServer limits(int maxConnections, java.time.Duration requestDeadline) {
        return limits(maxConnections, maxConnections, requestDeadline);
    }

    /** Other limits than the defaults, with one per client address, for tests; before {@link #start}. */
    synchronized AdminServer limits(int maxConnections, int maxPerClient, java.time.Duration requestDeadline) {
        this.maxPerClient = maxPerClient;
        this.maxConnections = maxConnections;
        this.requestDeadlineNanos = requestDeadline.toNanos();
        return this;
    }

    /** Other bounds on answers waiting for slow clients than the defaults, for tests; before {@link #start}. */
    synchronized AdminServer pendingLimits(long maxPendingBytes, java.time.Duration writeTimeout) {
        this.maxPendingBytes = maxPendingBytes;
        this.writeTimeoutMillis = writeTimeout.toMillis();
        return this;
    }

    /** The answers waiting for the render thread now: for tests. */
    synchronized int queuedRenders() {
        return renderer == null ? 0 : renderer.queued();
    }

    /** The admin connections open now. */
    int openConnections() {
        return open.get();
    }

    /** Closes the listener and every admin connection, and waits for the event loop to end. Idempotent. */
    public synchronized void stop() {
        if (group == null) {
            return;
        }
        InetSocketAddress bound = boundAddress();
        channel.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
        renderer.stop(); // the answers still queued held their requests for clients that are gone now
        renderer = null;
        group = null;
        channel = null;
        log.info("Admin stopped address={}", format(bound));
    }

    /** Returns the address listened on, with the actual port when it was 0; {@code null} when not started. */
    public synchronized InetSocketAddress boundAddress() {
        return channel == null ? null : (InetSocketAddress) channel.localAddress();
    }

    private static String format(InetSocketAddress a) {
        return a.getAddress() == null ? a.getHostString() + ":" + a.getPort() : Backends.format(a.getAddress(),
                a.getPort());
    }
}
