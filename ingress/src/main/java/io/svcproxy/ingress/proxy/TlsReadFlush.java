package io.svcproxy.ingress.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * After a read of HTTP/1.1 over TLS that yielded no plain bytes, a flush; in the TLS HTTP/1.1 pipeline only, behind
 * the TLS handler, so that no other connection pays for it. OpenSSL's engine (netty-tcnative's
 * ReferenceCountedOpenSslEngine) answers a record that does not decrypt with an alert, which SslHandler sends, and
 * keeps the error (its pendingException) until the next wrap, where it throws it; HTTP/1.1 writes nothing until
 * a request comes, so the connection stayed open until the idle timeout (HTTP/2 needs nothing: its handler
 * flushes after every read). The flush wraps an empty buffer: the engine throws, and the error reaches
 * {@link Http1ConnectionEnd#exceptionCaught} (or the {@link Tunnel}'s) as the client's TLS failure, which closes
 * the connection. A read that carries a request (plain bytes) costs this handler's pass, a field write and a test: the
 * flush is for the rare read without any, the one that ends the handshake (once per connection, beside the
 * handshake's own cost), a record's first bytes, a close_notify. There it costs what HTTP/2's flush after each
 * of its reads costs: a promise or two and an empty buffer, no bytes written (NIO and epoll drop the empty buffer
 * without a syscall). A bad record in the same read as a good one still ends the connection, at the proxy's next
 * write to the client.
 */
final class TlsReadFlush extends ChannelInboundHandlerAdapter {
    /** Plain bytes were read since the last {@link #channelReadComplete}. */
    private boolean readPlaintext;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        readPlaintext = true;
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!readPlaintext) {
            ctx.flush();
        }
        readPlaintext = false;
        ctx.fireChannelReadComplete();
    }
}
