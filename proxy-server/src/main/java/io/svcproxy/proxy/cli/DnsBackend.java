package io.svcproxy.proxy.cli;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.svcproxy.balancer.Backends;
import io.svcproxy.proxy.dataplane.BindException;
import io.svcproxy.proxy.dataplane.Transport;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend command's {@code dns} mode: a DNS server over UDP (Netty's DNS codec) that answers every A query
 * with one address, so that a client sees which endpoint of a DNS Service answered. Other query types get an
 * empty answer. For the examples and the container tests; the UDP tests use Debian's dnsmasq.
 */
final class DnsBackend implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DnsBackend.class);

    private final EventLoopGroup group;
    private final Channel channel;

    private DnsBackend(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /** Starts answering on {@code address}; every A query gets {@code answer}. */
    static DnsBackend start(InetSocketAddress address, String name, Inet4Address answer) throws BindException {
        Transport transport = Transport.select();
        EventLoopGroup group = transport.newGroup(1, new DefaultThreadFactory("dns-" + name, true));
        var bound = new Bootstrap().group(group).channel(transport.datagramChannel())
                .handler(new io.netty.channel.ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new DatagramDnsQueryDecoder(), new DatagramDnsResponseEncoder(),
                                new Answer(answer));
                    }
                }).bind(address).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw new BindException(Backends.format(address.getAddress(), address.getPort()) + "/UDP",
                    bound.cause());
        }
        log.info("Backend listening name={} mode=dns address={}/UDP answer={}", name,
                Backends.format(address.getAddress(), address.getPort()), answer.getHostAddress());
        return new DnsBackend(group, bound.channel());
    }

    void awaitClosed() {
        channel.closeFuture().awaitUninterruptibly();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    /** Answers one query. */
    private static final class Answer extends SimpleChannelInboundHandler<DatagramDnsQuery> {
        private final byte[] address;

        Answer(InetAddress address) {
            this.address = address.getAddress();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery query) {
            DatagramDnsResponse response = new DatagramDnsResponse(query.recipient(), query.sender(), query.id());
            response.setRecursionDesired(query.isRecursionDesired()).setRecursionAvailable(true)
                    .setCode(DnsResponseCode.NOERROR);
            DnsQuestion question = query.recordAt(DnsSection.QUESTION);
            if (question != null) {
                response.addRecord(DnsSection.QUESTION, new DefaultDnsQuestion(question.name(), question.type()));
                if (question.type() == DnsRecordType.A) {
                    response.addRecord(DnsSection.ANSWER, new DefaultDnsRawRecord(question.name(), DnsRecordType.A,
                            5, Unpooled.wrappedBuffer(address)));
                }
            }
            ctx.writeAndFlush(response);
        }
    }
}
