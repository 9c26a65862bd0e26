package io.svcproxy.proxy.dataplane;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.ReadTimeoutException;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Backends;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.NodeSettings;
import io.svcproxy.config.ServicePortSpec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The health check node ports of LoadBalancer Services with {@code externalTrafficPolicy: Local}, served as
 * kube-proxy serves them ({@code pkg/proxy/healthcheck}): on every node address at the Service's
 * {@code healthCheckNodePort}, any request is answered with JSON naming the Service and the number of its ready
 * endpoints on this node that take new connections ({@link #localEndpoints}), {@code 200} when there is at least one
 * and the proxy is healthy, else {@code 503}. A cloud load balancer probing it sends clients only to the nodes where
 * the Local policy has an endpoint to take them.
 *
 * <p>Control-plane thread for {@link #apply} and {@link #close} (callers serialise them); requests are answered on
 * the data plane's event loops from the Service ports in force, so the count follows every endpoint change without
 * an apply.
 */
public final class HealthCheckNodePorts implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HealthCheckNodePorts.class);

    /**
     * Bounds of the probers' connections, on every node address (so open to whoever reaches the node): as the admin
     * server's, a request must arrive within 10 s, a connection silent for 60 s is closed, and all the health check
     * ports together hold at most this many connections.
     */
    static final int MAX_CONNECTIONS = 512;
    private static final long REQUEST_DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final int READ_TIMEOUT_SECONDS = 60;

    private final AtomicInteger open = new AtomicInteger();
    private final EventLoopGroup group;
    private final Class<? extends ServerChannel> channelType;
    private final ServiceTable table;
    private final BooleanSupplier proxyHealthy;
    /** How a port is shared with an own listener on every address, or {@code null}. */
    private final PortSharing sharing;
    /** What is served, by Service ({@code namespace/name}). */
    private final Map<String, Served> served = new LinkedHashMap<>();
    private volatile String nodeName = "";
    private boolean settled = true;

    /** A Service's port, the addresses it is bound on, its listeners and the connections they accepted. */
    private record Served(int port, List<InetAddress> addresses, List<Channel> channels, ChannelGroup accepted) {
        void close() {
            channels.forEach(c -> c.close().syncUninterruptibly());
            // as kube-proxy's http.Server.Close: a kept-alive prober connects again (and is refused once the port
            // is no longer served). Waited for, so the next probe cannot be answered on a connection still closing;
            // the group stays closed, so a connection accepted just before its listener closed is closed when added.
            accepted.close().syncUninterruptibly();
        }
    }

    /**
     * @param proxyHealthy kube-proxy's {@code serviceProxyHealthy}: whether the proxy serves its desired state (not
     *                     before the first sync, nor once it shuts down)
     */
    public HealthCheckNodePorts(EventLoopGroup group, Class<? extends ServerChannel> channelType, ServiceTable table,
                                BooleanSupplier proxyHealthy) {
        this(group, channelType, table, proxyHealthy, null);
    }

    /** With {@code sharing}: a health check node port at the port of an own listener on every address shares it. */
    public HealthCheckNodePorts(EventLoopGroup group, Class<? extends ServerChannel> channelType, ServiceTable table,
                                BooleanSupplier proxyHealthy, PortSharing sharing) {
        this.sharing = sharing;
        this.group = group;
        this.channelType = channelType;
        this.table = table;
        this.proxyHealthy = proxyHealthy;
    }

    /**
     * Serves the health check node ports of {@code desired} on {@code node}'s addresses: binds the new ones, closes
     * those no longer wanted or moved (with the connections they accepted). One that cannot be bound is tried again
     * at the next apply; the caller logs it.
     *
     * @return the addresses that could not be bound
     */
    public synchronized List<BindException> apply(Collection<ServicePortSpec> desired, NodeSettings node) {
        nodeName = node.nodeName();
        Map<String, Integer> wanted = release(desired, node);
        List<BindException> failures = new ArrayList<>();
        for (Map.Entry<String, Integer> e : wanted.entrySet()) {
            if (served.containsKey(e.getKey())) {
                continue;
            }
            Served s = new Served(e.getValue(), node.nodeAddresses(), new ArrayList<>(),
                    new DefaultChannelGroup(GlobalEventExecutor.INSTANCE, true));
            try {
                for (InetAddress a : node.nodeAddresses()) {
                    s.channels().add(bind(new InetSocketAddress(a, e.getValue()), e.getKey(), s.accepted()));
                }
                served.put(e.getKey(), s);
                if (node.nodeAddresses().isEmpty()) {
                    // kube-proxy would listen on every address; here, as the NodePorts, only on proxy.nodeAddresses
                    log.info("Health check not listening service={} port={}: proxy.nodeAddresses is empty (the "
                            + "load balancer's probes of this node fail until it is set)", e.getKey(), e.getValue());
                } else {
                    log.info("Serving health check service={} port={} addresses={}", e.getKey(), e.getValue(),
                            node.nodeAddresses());
                }
            } catch (BindException ex) {
                s.close();
                failures.add(ex); // logged by the caller, with the other listeners' failures
            }
        }
        settled = failures.isEmpty();
        return failures;
    }

    /**
     * Closes the health check ports that {@code desired} on {@code node} no longer wants, or wants elsewhere (with the
     * connections they accepted), and binds nothing: called before the Service ports' listeners are applied too, so
     * that a nodePort given the port a health check gave up in the same change finds it free. Returns the ports
     * wanted, by Service.
     */
    public synchronized Map<String, Integer> release(Collection<ServicePortSpec> desired, NodeSettings node) {
        Map<String, Integer> wanted = new LinkedHashMap<>();
        for (ServicePortSpec spec : desired) {
            int port = spec.service().exposure().healthCheckNodePort();
            if (port > 0) {
                wanted.putIfAbsent(spec.service().qualifiedName(), port);
            }
        }
        for (Iterator<Map.Entry<String, Served>> it = served.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Served> e = it.next();
            Served s = e.getValue();
            if (!Objects.equals(wanted.get(e.getKey()), s.port()) || !s.addresses().equals(node.nodeAddresses())) {
                s.close();
                it.remove();
                log.info("Stopped serving health check service={} port={}", e.getKey(), s.port());
            }
        }
        return wanted;
    }

    /** Whether the last apply bound every health check port it was given. */
    public synchronized boolean settled() {
        return settled;
    }

    /** The health check ports served now, by Service, for the admin API and tests. */
    public synchronized Map<String, Integer> ports() {
        Map<String, Integer> out = new LinkedHashMap<>();
        served.forEach((name, s) -> out.put(name, s.port()));
        return out;
    }

    /**
     * The ready endpoints of {@code service} on this node that take new connections: distinct IPs over its ports in
     * force, counted by their ready condition as kube-proxy's {@code LocalReadyEndpoints} counts them, and only while
     * the list in force gives them a weight above 0. A terminating endpoint taken as the fallback (serving, not
     * ready: it keeps a node's last pods reachable while they stop) is not counted, so the check fails when only
     * those are left and the load balancer sends new clients elsewhere; a terminating one that is ready by its
     * condition (a Service that publishes not-ready addresses) is. kube-proxy has no weights; an endpoint of weight 0
     * (so configured, or published so while it is ejected or fails its active checks) takes no new connection, as
     * in IPVS, and the Local policy may use no other: counted, it kept the load balancer sending clients that the
     * node refused.
     */
    int localEndpoints(String service) {
        String node = nodeName;
        if (node.isEmpty()) {
            return 0;
        }
        // per family, as kube-proxy has one health server per family: a dual-stack Pod counts once
        Set<InetAddress> v4 = new HashSet<>();
        Set<InetAddress> v6 = new HashSet<>();
        for (ServicePort port : table.portsOf(service)) {
            Set<String> taking = new HashSet<>();
            for (BackendState b : port.backendSet().backends()) {
                if (b.weight() > 0) {
                    taking.add(b.endpoint());
                }
            }
            for (EndpointTarget t : port.spec().endpoints()) {
                if (t.readyCondition() && node.equals(t.nodeName())
                        && taking.contains(Backends.format(t.ip(), t.port()))) {
                    (t.ip() instanceof java.net.Inet4Address ? v4 : v6).add(t.ip());
                }
            }
        }
        return Math.max(v4.size(), v6.size());
    }

    private Channel bind(InetSocketAddress address, String service, ChannelGroup accepted) throws BindException {
        ServerBootstrap bootstrap = new ServerBootstrap();
        if (sharing != null) {
            // at the port of an own listener on every address, as the node ports' listeners: beside it
            sharing.serviceListener(bootstrap, address);
        }
        try {
            return bootstrap
                    .group(group)
                    .channel(channelType)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            accepted.add(ch);
                            ch.pipeline().addLast(new ReadTimeoutHandler(READ_TIMEOUT_SECONDS, TimeUnit.SECONDS),
                                    new HttpServerCodec(4096, 8192, 8192),
                                    new RequestLimits(open, MAX_CONNECTIONS, REQUEST_DEADLINE_NANOS),
                                    new HttpServerKeepAliveHandler(), new Answer(service));
                        }
                    })
                    .bind(address).sync().channel();
        } catch (Exception e) { // Netty's bind throws its native IOException without declaring it
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new BindException(address.getAddress().getHostAddress() + ":" + address.getPort(), e);
        }
    }

    /** Answers each request of one connection with the Service's count. */
    private final class Answer extends SimpleChannelInboundHandler<HttpObject> {
        private final String service;

        Answer(String service) {
            this.service = service;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (!(msg instanceof HttpRequest request)) {
                return; // a body: not read
            }
            if (request.decoderResult().isFailure()) {
                FullHttpResponse bad = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                        HttpResponseStatus.BAD_REQUEST, Unpooled.EMPTY_BUFFER);
                HttpUtil.setContentLength(bad, 0);
                ctx.writeAndFlush(bad).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            int count = localEndpoints(service);
            boolean healthy = proxyHealthy.getAsBoolean();
            int slash = service.indexOf('/');
            // kube-proxy's body, field for field
            String body = "{\n\t\"service\": {\n\t\t\"namespace\": \"" + service.substring(0, slash)
                    + "\",\n\t\t\"name\": \"" + service.substring(slash + 1) + "\"\n\t},\n\t\"localEndpoints\": "
                    + count + ",\n\t\"serviceProxyHealthy\": " + healthy + "\n}";
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    count > 0 && healthy ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                    Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            // the weight a load balancer that weighs nodes by their endpoints reads (kube-proxy since 1.28)
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                    .set("X-Content-Type-Options", "nosniff")
                    .set("X-Load-Balancing-Endpoint-Weight", Integer.toString(count));
            HttpUtil.setContentLength(response, response.content().readableBytes());
            HttpUtil.setKeepAlive(response, HttpUtil.isKeepAlive(request));
            ctx.writeAndFlush(response);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // a reset, a broken pipe or a silent prober is the prober's business
            if (!(cause instanceof IOException || cause instanceof ReadTimeoutException)) {
                log.warn("Health check connection failed service={}", service, cause);
            }
            ctx.close();
        }
    }

    @Override
    public synchronized void close() {
        served.values().forEach(Served::close);
        served.clear();
    }
}
