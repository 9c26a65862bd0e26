package io.svcproxy.ingress.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Reads, without consuming them, the TLS records a client sends before its handshake ends, and notes the last alert
 * it sent in plaintext. OpenSSL's clients (curl, and what links libssl) refuse a certificate they do not trust with
 * a plaintext alert under TLS 1.3 (they have not switched to the handshake keys for writing yet), which the
 * listener's TLS engine cannot decrypt and reports as a record error (OpenSSL: {@code BAD_PACKET_LENGTH}; the JDK:
 * "Insufficient buffer remaining for AEAD cipher fragment"), not as the alert it is; {@link HandshakeFailures} counts
 * it as the client's alert by this note. An alert under TLS 1.2, plaintext too, the engines report themselves.
 *
 * <p>Sits before the SNI handler (so before TLS) from the connection's start; {@code Negotiation} removes it once
 * the handshake succeeds. It stops reading at the first byte that does not begin a TLS record (an SSLv2 hello,
 * anything else: the TLS handler's to refuse). The connection's event loop: plain fields.
 */
final class HandshakeAlerts extends ChannelInboundHandlerAdapter {
    private static final int HEADER = 5;
    private static final int ALERT = 21;
    private static final int CHANGE_CIPHER_SPEC = 20;
    private static final int APPLICATION_DATA = 23;
    /** A record header, and an alert's two bytes when the record is a plaintext alert (level, description). */
    private final byte[] head = new byte[HEADER + 2];
    private int headLength;
    /** The bytes of the current record's body still to skip. */
    private int skip;
    private boolean stopped;
    private int alert = -1;

    /** The description of the last plaintext alert the client sent ({@code 42}: bad_certificate...), or -1. */
    int alert() {
        return alert;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!stopped && msg instanceof ByteBuf buf) {
            read(buf);
        }
        ctx.fireChannelRead(msg);
    }

    private void read(ByteBuf buf) {
        int i = buf.readerIndex();
        int end = buf.writerIndex();
        while (i < end && !stopped) {
            if (skip > 0) {
                int n = Math.min(skip, end - i);
                i += n;
                skip -= n;
                continue;
            }
            head[headLength++] = buf.getByte(i++);
            if (headLength == 1 && (head[0] < CHANGE_CIPHER_SPEC || head[0] > APPLICATION_DATA)) {
                stopped = true;
            } else if (headLength == HEADER) {
                int length = (head[3] & 0xFF) << 8 | head[4] & 0xFF;
                if (head[0] != ALERT || length != 2) {
                    skip = length; // an encrypted alert is longer: its content is the engine's to read
                    headLength = 0;
                }
            } else if (headLength == HEADER + 2) {
                alert = head[HEADER + 1] & 0xFF;
                headLength = 0;
            }
        }
    }
}
