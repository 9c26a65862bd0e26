package io.svcproxy.proxy.dataplane;

import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.svcproxy.balancer.Backends;
import io.svcproxy.config.ProxyProtocol;
import java.net.Inet4Address;
import java.net.InetSocketAddress;

/**
 * Writes the PROXY protocol header (HAProxy's spec, encoded by Netty's {@link HAProxyMessageEncoder}) to an endpoint
 * connection before its first byte: the client's address and port, and the address and port the client connected
 * to. Called once, on the event loop, as soon as the endpoint connection is up, so the header goes out even when
 * the client sends nothing first. Addresses are written as HAProxy writes them ({@code inet_ntop}): IPv6 in its
 * canonical text (RFC 5952, {@code ::1}), without a scope, not Java's {@code 0:0:0:0:0:0:0:1%2}.
 */
public final class ProxyProtocolHeader {
    private ProxyProtocolHeader() {
    }

    /**
     * Returns the v2 header of a UDP flow (DGRAM) from {@code client} to {@code destination}, encoded once by Netty's
     * encoder; the flow puts it before each datagram's payload.
     */
    public static byte[] udpV2(InetSocketAddress client, InetSocketAddress destination) {
        boolean v4 = client.getAddress() instanceof Inet4Address && destination.getAddress() instanceof Inet4Address;
        HAProxyMessage header = new HAProxyMessage(HAProxyProtocolVersion.V2, HAProxyCommand.PROXY,
                v4 ? HAProxyProxiedProtocol.UDP4 : HAProxyProxiedProtocol.UDP6,
                Backends.formatIp(client.getAddress()), Backends.formatIp(destination.getAddress()),
                client.getPort(), destination.getPort());
        io.netty.channel.embedded.EmbeddedChannel encoder = new io.netty.channel.embedded.EmbeddedChannel(
                HAProxyMessageEncoder.INSTANCE);
        try {
            encoder.writeOutbound(header);
            io.netty.buffer.ByteBuf bytes = encoder.readOutbound();
            try {
                return io.netty.buffer.ByteBufUtil.getBytes(bytes);
            } finally {
                bytes.release();
            }
        } finally {
            encoder.finishAndReleaseAll();
        }
    }

    /**
     * Writes (without flushing) the header of a connection of the proxy's own, that carries no client (a health
     * check): v2 {@code LOCAL}, as HAProxy's checks send it, after which the endpoint reads the connection's own
     * addresses; v1, which has no such command, names the connection's own addresses (Netty's encoder writes no
     * v1 {@code UNKNOWN}).
     */
    static void writeLocal(Channel endpoint, ProxyProtocol version) {
        HAProxyMessage header;
        if (version == ProxyProtocol.V1) {
            InetSocketAddress local = (InetSocketAddress) endpoint.localAddress();
            InetSocketAddress remote = (InetSocketAddress) endpoint.remoteAddress();
            boolean v4 = local.getAddress() instanceof Inet4Address && remote.getAddress() instanceof Inet4Address;
            header = new HAProxyMessage(HAProxyProtocolVersion.V1, HAProxyCommand.PROXY,
                    v4 ? HAProxyProxiedProtocol.TCP4 : HAProxyProxiedProtocol.TCP6,
                    Backends.formatIp(local.getAddress()), Backends.formatIp(remote.getAddress()), local.getPort(),
                    remote.getPort());
        } else {
            header = new HAProxyMessage(HAProxyProtocolVersion.V2, HAProxyCommand.LOCAL,
                    HAProxyProxiedProtocol.UNKNOWN, null, null, 0, 0);
        }
        ChannelPipeline pipeline = endpoint.pipeline();
        pipeline.addFirst("proxy-protocol", HAProxyMessageEncoder.INSTANCE);
        endpoint.write(header, endpoint.voidPromise());
        pipeline.remove("proxy-protocol");
    }

    /** Writes (without flushing) the header of {@code version} for a client connection {@code client}. */
    static void write(Channel endpoint, ProxyProtocol version, Channel client) {
        InetSocketAddress source = (InetSocketAddress) client.remoteAddress();
        InetSocketAddress destination = (InetSocketAddress) client.localAddress();
        boolean v4 = source.getAddress() instanceof Inet4Address && destination.getAddress() instanceof Inet4Address;
        HAProxyMessage header = new HAProxyMessage(
                version == ProxyProtocol.V1 ? HAProxyProtocolVersion.V1 : HAProxyProtocolVersion.V2,
                HAProxyCommand.PROXY, v4 ? HAProxyProxiedProtocol.TCP4 : HAProxyProxiedProtocol.TCP6,
                Backends.formatIp(source.getAddress()), Backends.formatIp(destination.getAddress()),
                source.getPort(), destination.getPort());
        // the encoder only while it writes the header: the relay's writes then pass no extra handler
        ChannelPipeline pipeline = endpoint.pipeline();
        pipeline.addFirst("proxy-protocol", HAProxyMessageEncoder.INSTANCE);
        endpoint.write(header, endpoint.voidPromise());
        pipeline.remove("proxy-protocol");
    }

    /**
     * Whether the relay's {@code client} reset before its endpoint connection was up, so that a header would name a
     * client that is gone (the endpoint saw it and a close). On epoll a connect to this node (loopback, a pod's veth)
     * completes within channelActive, before the client was ever read, so its reset is not known yet: {@code
     * getpeername} tells (one call; io_uring's acceptor already asked). NIO keeps the peer's address from accept,
     * and a reset is known at the client's first read only.
     */
    static boolean clientGone(Channel client) {
        return client instanceof io.netty.channel.epoll.RelayEpollSocketChannel c && c.peerGone();
    }
}
