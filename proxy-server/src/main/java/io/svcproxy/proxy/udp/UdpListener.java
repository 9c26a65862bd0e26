package io.svcproxy.proxy.udp;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.IoEventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.balancer.Backends;
import io.svcproxy.proxy.dataplane.AddressKind;
import io.svcproxy.proxy.dataplane.BindException;
import io.svcproxy.proxy.dataplane.DataPlaneSettings;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.dataplane.UdpCounters.Drop;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one UDP Service port on one of its addresses: a datagram socket bound on {@code clusterIP:port} (or a node
 * address at the nodePort, an external or LoadBalancer IP at the port: each address has a listener of its own, all
 * of one Service port sharing its endpoint list and scheduler state), and one flow per client address and port. A client's first datagram asks the Service port's scheduler for an endpoint (the same
 * {@link io.svcproxy.balancer.BackendSet} as TCP: weights, flags, ClientIP affinity); svcproxy then sends that
 * flow's datagrams to the endpoint from a connected socket of its own, and every datagram the endpoint sends back
 * to the client from this socket, so from the address and port the client sent to. Boundaries and bytes are kept.
 *
 * <p>A flow ends after {@code udpIdleTimeout} with no datagram either way (still owed {@code udpResponses} answers:
 * counted as a failed connect, {@code timeout}), once its endpoint sent {@code udpResponses} datagrams, when its
 * endpoint refuses (ICMP port unreachable: counted, and as a failed connect for outlier detection), or when its
 * endpoint is no longer usable in the list in force; the client's next datagram is then a new flow (after a
 * refusal, one that avoids the refusing endpoint, as a TCP connect's retry). Nothing is queued without bound: a
 * datagram for a socket whose buffer is full is dropped and counted, as the kernel would. The socket and all its
 * flows live on one event loop. This class relays the datagrams; the flows' admission, timers and ends are
 * {@link UdpFlows}'s.
 */
public final class UdpListener {
    /**
     * During the shutdown drain a flow quiet this long has ended: UDP says nothing of a flow's end, and waiting for
     * each one's idle timeout (30 s by default) would hold every shutdown after some UDP traffic for it.
     */
    public static final java.time.Duration DRAIN_QUIET = java.time.Duration.ofSeconds(2);

    private static final Logger log = LoggerFactory.getLogger(UdpListener.class);
    /** The largest UDP payload over IPv4; a larger datagram is dropped as {@code too_big}. */
    static final int MAX_PAYLOAD = 65_507;
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(256 * 1024, 1024 * 1024);
    /** Room for one client datagram, whatever its size. */
    private static final int SLOT = 64 * 1024;
    /**
     * Client datagrams read by one system call on epoll ({@code recvmmsg}): the listener's {@code recvmsg} per
     * query was 6% of the UDP row's samples; 4 per call cut CPU per query by a fifth in the A/B
     * (docs/performance.md, "The UDP row, round three").
     */
    private static final int BATCH = 4;
    /** What a datagram of 0 bytes is sent from: Netty's {@code sendTo} takes a direct buffer. */
    private static final java.nio.ByteBuffer EMPTY = java.nio.ByteBuffer.allocateDirect(1);

    private final ServicePort servicePort;
    private final InetSocketAddress address;
    private final Supplier<AddressKind> kind;
    private final Transport transport;
    private final EventLoop loop;
    private final UdpFlows flows;
    private final FlowEvents events = new FlowEvents();
    /** Opens a new flow's socket: an epoll one read into {@link #receiveBuffer}, else a channel. */
    private final UdpFlows.Opener opener = this::open;
    private Channel channel;
    /** Where the endpoints' datagrams of epoll flow sockets are read; {@code null} with channel flow sockets. */
    private ByteBuf receiveBuffer;
    /**
     * The listening channel's own socket, which sends the endpoints' datagrams of 0 bytes (see {@link #sendEmpty});
     * {@code null} on NIO, where they are dropped.
     */
    private Socket emptySender;

    /**
     * @param address where to listen: the clusterIP and port, or another address of the Service port
     * @param kind which of the Service port's addresses {@code address} is (source ranges and traffic policy), read
     *     for each new flow: a reload may change it while the address stays bound
     */
    public UdpListener(ServicePort servicePort, InetSocketAddress address, Supplier<AddressKind> kind,
                       Transport transport,
                       EventLoop loop, UdpFlowLimit limit, Supplier<DataPlaneSettings> settings,
                       io.svcproxy.proxy.dataplane.ConnectionRecorder recorder, ProxyMetrics metrics) {
        this.servicePort = servicePort;
        this.address = address;
        this.kind = kind;
        this.transport = transport;
        this.loop = loop;
        this.flows = new UdpFlows(servicePort, address, kind, loop, limit, settings, recorder, metrics);
    }

    /**
     * Binds the listener's address.
     *
     * @throws BindException if the address cannot be bound; the message names it
     */
    public void bind() throws BindException {
        Bootstrap bootstrap = new Bootstrap().group(loop).channel(transport.datagramChannel())
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(SLOT))
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .handler(new ClientHandler());
        if (transport.datagramChannel() == EpollDatagramChannel.class) {
            // recvmmsg: Netty cuts each read buffer into slots of MAX_DATAGRAM_PAYLOAD_SIZE and reads one datagram
            // into each in one call. A slot of 64 KiB holds the largest datagram whole (SPEC: boundaries and bytes
            // kept up to 65,507), so no datagram is cut.
            bootstrap.option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(BATCH * SLOT))
                    .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, SLOT);
        }
        ChannelFuture bound = bootstrap.bind(address).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            throw new BindException(formatAddress() + "/UDP", bound.cause());
        }
        channel = bound.channel();
        if (loop instanceof IoEventLoop io && EpollFlowSocket.supported(io)) {
            receiveBuffer = channel.alloc().directBuffer(MAX_PAYLOAD + 1, MAX_PAYLOAD + 1);
            emptySender = channel instanceof UnixChannel unix && unix.fd() instanceof Socket socket ? socket : null;
        }
        if (kind.get() == AddressKind.CLUSTER) { // the other addresses are logged with their kind by the listener manager
            log.info("Listening service={} port={} address={}/UDP", servicePort.serviceLabel(),
                    servicePort.portLabel(), formatAddress());
        }
    }

    private String formatAddress() {
        return Backends.format(address.getAddress(), address.getPort());
    }

    /**
     * Stops taking new flows (the shutdown drain); flows go on until they end, or go quiet for {@link #DRAIN_QUIET}
     * (when that is shorter than their idle timeout). Any thread.
     */
    public void stopNewFlows() {
        flows.stopNew(DRAIN_QUIET.toNanos());
    }

    /** Returns the flows of this Service port held now. Any thread (an estimate off the loop). */
    public int flows() {
        return flows.size();
    }

    /**
     * Closes the socket and ends every flow; blocks until done. Any thread but the listener's loop. All in one task
     * of the loop, new flows stopped first: a datagram read between the flows' end and the socket's close would
     * start a flow that nothing ends before its idle timeout (holding a lease and a {@code maxUdpFlows} place).
     */
    public void close() {
        if (channel == null) {
            return;
        }
        loop.submit(() -> {
            channel.close(); // on its loop: done at once, so no datagram is read after this task
            flows.endAll();
            if (receiveBuffer != null) {
                receiveBuffer.release();
                receiveBuffer = null;
            }
        }).awaitUninterruptibly();
        channel.closeFuture().awaitUninterruptibly();
        if (kind.get() == AddressKind.CLUSTER) {
            log.info("Stopped listening address={}/UDP", formatAddress());
        }
    }

    // ---- client to endpoint

    private void fromClient(DatagramPacket packet) {
        ByteBuf content = packet.content();
        InetSocketAddress client = packet.sender();
        int size = content.readableBytes();
        boolean v2 = servicePort.spec().port().proxyProtocol() != null; // v2: the config refuses v1 on UDP
        int header = v2 ? proxyHeaderLength(client) : 0;
        if (size > MAX_PAYLOAD - header) {
            servicePort.udp().drop(Drop.TOO_BIG);
            return;
        }
        long now = System.nanoTime();
        UdpFlow flow = flows.current(client, now);
        if (flow == null) {
            flow = flows.start(client, now, opener);
            if (flow == null) {
                return;
            }
        }
        FlowSocket.Sent sent = send(flow, content, client, v2);
        if (sent == FlowSocket.Sent.FAILED && flow.refused) {
            // the kernel reports an endpoint's refusal (ICMP port unreachable) of an earlier datagram at the next
            // send: the flow ended, and this datagram, the client's next, is scheduled again (SPEC), once, with the
            // refusing endpoint avoided (UdpFlows.failed remembered it)
            flow = flows.start(client, now, opener);
            if (flow == null) {
                return;
            }
            sent = send(flow, content, client, v2);
        }
        if (sent == FlowSocket.Sent.FULL) {
            servicePort.udp().drop(Drop.ERROR); // not sent: no answer is owed to it (udpResponses)
            return;
        }
        if (sent == FlowSocket.Sent.FAILED) {
            return; // counted, and the flow ended, by UdpFlows.failed
        }
        flows.clientSent(flow, now);
        servicePort.udp().toEndpoint();
        servicePort.addBytesToEndpoint(size);
        flow.backend.counters().addBytesToEndpoint(size);
        flow.bytesToEndpoint += size;
    }

    /** Sends {@code content} on {@code flow}, after the flow's PROXY v2 header when {@code v2}; keeps its reference. */
    private FlowSocket.Sent send(UdpFlow flow, ByteBuf content, InetSocketAddress client, boolean v2) {
        if (v2 != (flow.proxyHeader != null)) { // a new flow, or a reload turned it on or off: each datagram follows
            flow.proxyHeader = v2 ? io.svcproxy.proxy.dataplane.ProxyProtocolHeader.udpV2(client, address) : null;
        }
        return flow.socket.send(payload(flow, content));
    }

    /**
     * The length of the PROXY v2 header of {@code client}'s flow to this address ({@code ProxyProtocolHeader.udpV2}):
     * 16 bytes and the addresses, 12 for two IPv4 ones, 36 for IPv6.
     */
    private int proxyHeaderLength(InetSocketAddress client) {
        return client.getAddress() instanceof java.net.Inet4Address
                && address.getAddress() instanceof java.net.Inet4Address ? 16 + 12 : 16 + 36;
    }

    /** Returns what goes to the endpoint: the datagram, after the flow's PROXY v2 header when it has one. */
    private ByteBuf payload(UdpFlow flow, ByteBuf content) {
        if (flow.proxyHeader == null) {
            return content.retain();
        }
        int size = content.readableBytes();
        ByteBuf out = channel.alloc().directBuffer(flow.proxyHeader.length + size);
        out.writeBytes(flow.proxyHeader).writeBytes(content, content.readerIndex(), size);
        return out;
    }

    /** Opens {@code flow}'s socket toward {@code endpoint}, on this loop. */
    private FlowSocket open(UdpFlow flow, InetSocketAddress endpoint) throws IOException {
        if (receiveBuffer != null) {
            return EpollFlowSocket.connect(flow, events, (IoEventLoop) loop, endpoint, receiveBuffer,
                    channel.alloc());
        }
        return ChannelFlowSocket.connect(flow, events, loop, transport, endpoint);
    }

    /**
     * Ends, on the listener's loop, the flows whose endpoint is no longer usable in the list in force: a flow never
     * outlives its endpoint, even when no datagram comes. Called by the data plane after the list changed; any
     * thread.
     */
    public void endpointsChanged() {
        flows.endpointsChanged();
    }

    // ---- endpoint to client

    private void fromEndpoint(UdpFlow flow, ByteBuf content) {
        int size = content.readableBytes();
        if (flow.ended || !flows.stillUsable(flow)) {
            return;
        }
        if (size > MAX_PAYLOAD) {
            // an IPv6 endpoint's datagram (up to 65,527 bytes) that no IPv4 datagram can carry: dropped whole, as
            // SPEC says, never cut (the epoll path reads into MAX_PAYLOAD + 1 bytes, so a larger one shows as that)
            servicePort.udp().drop(Drop.TOO_BIG);
            answered(flow);
            return;
        }
        if (!channel.isWritable()) {
            channel.flush(); // what this turn wrote is still queued here, not in the kernel's buffer
        }
        if (!channel.isWritable()) {
            servicePort.udp().drop(Drop.ERROR);
            answered(flow);
            return;
        }
        if (size == 0 && !sendEmpty(flow.client)) {
            answered(flow); // the drop is counted
            return;
        }
        flow.backend.counters().health().connectSucceeded();
        boolean last = flows.endpointSent(flow, System.nanoTime());
        if (size > 0) {
            channel.write(new DatagramPacket(content.retain(), flow.client), channel.voidPromise());
        }
        servicePort.udp().toClient();
        servicePort.addBytesToClient(size);
        flow.backend.counters().addBytesToClient(size);
        flow.bytesToClient += size;
        if (last) {
            flows.end(flow, FlowEnd.RESPONSES);
        }
    }

    /**
     * Counts an answer of {@code flow}'s endpoint that svcproxy dropped itself ({@code too_big}, the client socket not
     * writable, an empty one on NIO) as an answer all the same: the endpoint is alive, and the flow owes it no more
     * ({@code udpResponses}), so it is not taken at its idle timeout for an endpoint that did not answer.
     */
    private void answered(UdpFlow flow) {
        flow.backend.counters().health().connectSucceeded();
        if (flows.endpointSent(flow, System.nanoTime())) {
            flows.end(flow, FlowEnd.RESPONSES);
        }
    }

    /**
     * Sends a datagram of 0 bytes to {@code client} from the listening socket; returns whether it was sent, else
     * counts why not. IPVS relays empty datagrams (some protocols use them as keep-alives or acknowledgements), but
     * Netty's datagram channels take an empty message as written and send nothing, so it goes by the channel's
     * socket itself, after what this turn queued on the channel (flushed first, to keep the order). Without that
     * socket (NIO) it is dropped as {@code empty}.
     */
    private boolean sendEmpty(InetSocketAddress client) {
        if (emptySender == null) {
            servicePort.udp().drop(Drop.EMPTY);
            return false;
        }
        channel.flush();
        try {
            // 0 both when sent and on EAGAIN (a full buffer), which cannot be told apart here: counted as sent
            emptySender.sendTo(EMPTY, 0, 0, client.getAddress(), client.getPort());
            return true;
        } catch (IOException e) {
            servicePort.udp().drop(Drop.ERROR);
            log.debug("Listener error service={} port={}: {}", servicePort.serviceLabel(), servicePort.portLabel(),
                    e.toString());
            return false;
        }
    }

    /** The handler of the listening socket: client datagrams. */
    private final class ClientHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof DatagramPacket packet) {
                    fromClient(packet);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof IOException) {
                // an ICMP error for a reply to a client that left, or a failed send: nothing to undo
                servicePort.udp().drop(Drop.ERROR);
                log.debug("Listener error service={} port={}: {}", servicePort.serviceLabel(),
                        servicePort.portLabel(), cause.toString());
            } else {
                log.warn("Unexpected error service={} port={}", servicePort.serviceLabel(), servicePort.portLabel(),
                        cause);
            }
        }
    }

    /**
     * What the flows' sockets report. Answers to clients are flushed once per event-loop turn, after every socket
     * that was ready has been read: several answers then leave in one {@code sendmmsg} on epoll.
     */
    private final class FlowEvents implements FlowSocket.Events {
        private boolean flushScheduled;
        private final Runnable flush = () -> {
            flushScheduled = false;
            channel.flush();
        };

        @Override
        public void received(UdpFlow flow, ByteBuf datagram) {
            fromEndpoint(flow, datagram);
        }

        @Override
        public void readComplete() {
            if (!flushScheduled) {
                flushScheduled = true;
                loop.execute(flush);
            }
        }

        @Override
        public void failed(UdpFlow flow, Throwable cause) {
            flows.failed(flow, cause);
        }
    }
}
