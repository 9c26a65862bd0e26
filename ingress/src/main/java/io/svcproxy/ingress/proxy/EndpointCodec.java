package io.svcproxy.ingress.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;

/**
 * The HTTP/1.1 codec of an endpoint connection: Netty's {@code HttpClientCodec(config, false, false)} (requests
 * out, responses in; each response paired with its request's method, so that a response to HEAD has no body and a
 * 200 to CONNECT ends the decoding), whose decoder is a private class, rebuilt here so that the response decoder
 * takes the common field names from {@link KnownHeaderNames} instead of a new {@code AsciiString} per field.
 */
final class EndpointCodec extends CombinedChannelDuplexHandler<EndpointCodec.Decoder, EndpointCodec.Encoder> {
    private static final String[] VERSIONS = {"HTTP/1.1", "HTTP/1.0"};
    private static final int FIRST_CODE = 100;
    /** The status codes 100 to 599 as strings, for the decoder's status lines. */
    private static final String[] CODES = new String[500];
    /** The reason phrase of each code Netty has a constant for ({@link HttpResponseStatus#reasonPhrase}), or null. */
    private static final String[] REASONS = new String[500];

    static {
        for (int i = 0; i < CODES.length; i++) {
            int code = FIRST_CODE + i;
            CODES[i] = Integer.toString(code);
            HttpResponseStatus status = HttpResponseStatus.valueOf(code);
            // Netty's constants are returned as such; any other code is a new object each time
            REASONS[i] = status == HttpResponseStatus.valueOf(code) ? status.reasonPhrase() : null;
        }
    }

    /** The methods of the requests sent whose responses have not started, oldest first. */
    private final Queue<HttpMethod> queue = new ArrayDeque<>();
    /** A CONNECT was answered with 200: what follows is not HTTP and passes through. */
    private boolean done;

    EndpointCodec(HttpDecoderConfig config) {
        init(new Decoder(config), new Encoder());
    }

    /** Whether the response decoder holds no byte it has not decoded (a pooled connection must start clean). */
    boolean holdsNothing() {
        return inboundHandler().undecoded() == 0;
    }

    /**
     * Netty's request encoder, remembering each request's method for its response, and writing the request target
     * as the client sent it: the client's codecs give its bytes as ISO-8859-1 characters (HTTP/1.1's decoder, HPACK's
     * {@code :path}), which Netty's encoder would write as UTF-8, two bytes for each one above 0x7F (an unencoded
     * {@code /café} reached the endpoint as {@code /cafÃ©}).
     */
    final class Encoder extends HttpRequestEncoder {
        @Override
        protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) throws Exception {
            if (msg instanceof HttpRequest request) {
                queue.offer(request.method());
            }
            super.encode(ctx, msg, out);
        }

        @Override
        protected void encodeInitialLine(ByteBuf buf, HttpRequest request) throws Exception {
            String uri = request.uri();
            if (uri.isEmpty() || uri.charAt(0) != '/' || !latin1(uri)) {
                super.encodeInitialLine(buf, request); // none the Ingress forwards: origin form, as received
                return;
            }
            ByteBufUtil.copy(request.method().asciiName(), buf);
            buf.writeByte(' ');
            buf.writeCharSequence(uri, StandardCharsets.ISO_8859_1);
            buf.writeByte(' ');
            buf.writeCharSequence(request.protocolVersion().text(), StandardCharsets.US_ASCII);
            buf.writeShort(('\r' << 8) | '\n');
        }

        private static boolean latin1(String s) {
            for (int i = 0; i < s.length(); i++) {
                if (s.charAt(i) > 0xff) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * Netty's response decoder, with the cached field names and the request pairing of HttpClientCodec's. The status
     * line's words are constants when they are the usual ones (the same strings, not made again for each response).
     */
    final class Decoder extends HttpResponseDecoder {
        /** The code of the status line being split, while its reason phrase is; -1 when it is none of 100-599. */
        private int lastCode = -1;

        Decoder(HttpDecoderConfig config) {
            super(config);
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
            if (done) {
                int readable = actualReadableBytes();
                if (readable > 0) {
                    out.add(buffer.readBytes(readable));
                }
                return;
            }
            super.decode(ctx, buffer, out);
        }

        /** The bytes read and not decoded yet. */
        int undecoded() {
            return actualReadableBytes();
        }

        /** The status line's version: a constant for {@code HTTP/1.1} and {@code HTTP/1.0}. */
        @Override
        protected String splitFirstWordInitialLine(byte[] line, int start, int length) {
            for (String version : VERSIONS) {
                if (equal(version, line, start, length)) {
                    return version;
                }
            }
            return super.splitFirstWordInitialLine(line, start, length);
        }

        /** The status code: a constant for three digits from 100 to 599. */
        @Override
        protected String splitSecondWordInitialLine(byte[] line, int start, int length) {
            lastCode = length == 3 ? digit(line[start]) * 100 + digit(line[start + 1]) * 10 + digit(line[start + 2])
                    : -1;
            if (lastCode >= FIRST_CODE && lastCode < FIRST_CODE + CODES.length) {
                return CODES[lastCode - FIRST_CODE];
            }
            lastCode = -1;
            return super.splitSecondWordInitialLine(line, start, length);
        }

        /**
         * The reason phrase: Netty's own for the code, when the endpoint sent that one (then the response's status
         * is Netty's constant, as before, without a string made for it).
         */
        @Override
        protected String splitThirdWordInitialLine(byte[] line, int start, int length) {
            String known = lastCode < 0 ? null : REASONS[lastCode - FIRST_CODE];
            if (known != null && equal(known, line, start, length)) {
                return known;
            }
            return super.splitThirdWordInitialLine(line, start, length);
        }

        @Override
        protected AsciiString splitHeaderName(byte[] sb, int start, int length) {
            AsciiString known = KnownHeaderNames.response(sb, start, length);
            return known != null ? known : super.splitHeaderName(sb, start, length);
        }

        /** As HttpClientCodec's: a response to HEAD has no body, nor has a 200 to CONNECT (after which: bytes). */
        @Override
        protected boolean isContentAlwaysEmpty(HttpMessage msg) {
            HttpResponse response = (HttpResponse) msg;
            if (response.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
                // an interim response is not its request's answer: the method stays queued for the final one
                return super.isContentAlwaysEmpty(msg);
            }
            HttpMethod method = queue.poll(); // null if the endpoint answered more than was asked
            if (HttpMethod.HEAD.equals(method)) {
                return true;
            }
            if (HttpMethod.CONNECT.equals(method) && response.status().code() == 200) {
                done = true;
                queue.clear();
                return true;
            }
            return super.isContentAlwaysEmpty(msg);
        }
    }

    private static boolean equal(String constant, byte[] bytes, int start, int length) {
        if (constant.length() != length) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            if (constant.charAt(i) != bytes[start + i]) {
                return false;
            }
        }
        return true;
    }

    /** The value of an ASCII digit; a large negative number for any other byte (no code then). */
    private static int digit(byte b) {
        return b >= '0' && b <= '9' ? b - '0' : -1000;
    }
}
