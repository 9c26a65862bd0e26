package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The endpoint connection's codec decodes exactly what Netty's {@code HttpClientCodec(config, false, false)} does
 * (each case fed to both, the decoded objects compared), and takes the common field names from
 * {@link KnownHeaderNames}.
 */
class EndpointCodecTest {
    private static final String BODY = "hello";

    /** Requests sent (methods), then the endpoint's bytes. */
    record Case(String name, List<HttpMethod> requests, String response) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Case> cases() {
        return List.of(
                new Case("a response with a length", List.of(HttpMethod.GET),
                        "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Sat, 05 Dec 2026 07:00:00 GMT\r\n"
                                + "Content-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n"
                                + BODY),
                new Case("HEAD: a length but no body, then the next response", List.of(HttpMethod.HEAD, HttpMethod.GET),
                        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
                                + BODY),
                new Case("204 and 304", List.of(HttpMethod.GET, HttpMethod.GET),
                        "HTTP/1.1 204 No Content\r\nETag: \"x\"\r\n\r\nHTTP/1.1 304 Not Modified\r\n"
                                + "Last-Modified: Sat, 05 Dec 2026 07:00:00 GMT\r\nContent-Length: 5\r\n\r\n"),
                new Case("CONNECT 200, then bytes that are not HTTP", List.of(HttpMethod.CONNECT),
                        "HTTP/1.1 200 Connection Established\r\n\r\nnot http at all"),
                new Case("100-continue, then the final response", List.of(HttpMethod.POST),
                        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nLocation: /x\r\n"
                                + "Content-Length: 5\r\n\r\n" + BODY),
                // an interim response is not paired: the HEAD's method waits for its final response (a 1xx
                // taking it would give the HEAD's answer a body); case from helper-49's test on branch h1
                new Case("100-continue to a HEAD, its final response, then a GET", List.of(HttpMethod.HEAD,
                        HttpMethod.GET), "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
                                + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + BODY),
                new Case("two requests answered in one read: HEAD, then GET",
                        List.of(HttpMethod.HEAD, HttpMethod.GET),
                        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"a\"\r\n\r\nHTTP/1.1 200 OK\r\n"
                                + "Content-Length: 5\r\n\r\n" + BODY),
                new Case("chunked, with a trailer", List.of(HttpMethod.GET),
                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\n" + BODY
                                + "\r\n0\r\nX-Sum: 1\r\n\r\n"),
                new Case("names in other cases and unknown names", List.of(HttpMethod.GET),
                        "HTTP/1.1 200 OK\r\ncontent-type: a\r\nCONTENT-LENGTH: 5\r\nX-Custom: b\r\nServe: c\r\n"
                                + "Servers: d\r\n\r\n" + BODY),
                // status lines: the usual words are constants, any other is decoded as Netty does
                new Case("status lines of other versions, codes and reasons", List.of(HttpMethod.GET,
                        HttpMethod.GET, HttpMethod.GET, HttpMethod.GET, HttpMethod.GET, HttpMethod.GET,
                        HttpMethod.GET), "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"
                                + "HTTP/1.1 200 Fine\r\nContent-Length: 0\r\n\r\n"
                                + "HTTP/1.1 404 not found\r\nContent-Length: 0\r\n\r\n"
                                + "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"
                                + "HTTP/1.1 299 Whatever\r\nContent-Length: 0\r\n\r\n"
                                + "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n"
                                + "HTTP/1.1 599 OK\r\nContent-Length: 0\r\n\r\n"),
                new Case("a status code out of 100-599", List.of(HttpMethod.GET),
                        "HTTP/1.1 600 Beyond\r\nContent-Length: 0\r\n\r\n"),
                new Case("a status code that is no number", List.of(HttpMethod.GET),
                        "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"),
                new Case("a version Netty does not know", List.of(HttpMethod.GET),
                        "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n"));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void decodesAsNettysClientCodec(Case c) {
        assertThat(exchange(new EndpointCodec(new HttpDecoderConfig()), c))
                .isEqualTo(exchange(new HttpClientCodec(new HttpDecoderConfig(), false, false), c));
    }

    @Test
    void theCommonNamesAreTheCachedOnes() {
        EmbeddedChannel ch = new EmbeddedChannel(new EndpointCodec(new HttpDecoderConfig()));
        ch.writeOutbound(request(HttpMethod.GET));
        ReferenceCountUtil.release(ch.readOutbound());
        ch.writeInbound(Unpooled.copiedBuffer(cases().get(0).response(), StandardCharsets.US_ASCII));
        HttpResponse response = ch.readInbound();
        List<CharSequence> names = new ArrayList<>();
        response.headers().iteratorCharSequence().forEachRemaining(e -> names.add(e.getKey()));
        assertThat(names).hasSize(5).allSatisfy(n -> assertThat(n).isSameAs(
                KnownHeaderNames.response(bytes(n), 0, n.length())));
        ch.finishAndReleaseAll();
    }

    /** A usual status line is Netty's constant status, as before. */
    @Test
    void aUsualStatusIsNettysConstant() {
        EmbeddedChannel ch = new EmbeddedChannel(new EndpointCodec(new HttpDecoderConfig()));
        for (String line : List.of("HTTP/1.1 200 OK", "HTTP/1.0 404 Not Found", "HTTP/1.1 200 OK")) {
            ch.writeOutbound(request(HttpMethod.GET));
            ReferenceCountUtil.release(ch.readOutbound());
            ch.writeInbound(Unpooled.copiedBuffer(line + "\r\nContent-Length: 0\r\n\r\n", StandardCharsets.US_ASCII));
            HttpResponse response = ch.readInbound();
            assertThat(response.status()).isSameAs(HttpResponseStatus.valueOf(response.status().code()));
            assertThat(response.protocolVersion().text()).isEqualTo(line.substring(0, 8));
            ReferenceCountUtil.release(ch.readInbound());
        }
        ch.finishAndReleaseAll();
    }

    /** The requests encoded, the response decoded: each decoded object as text (type, status, fields, bytes). */
    private static List<String> exchange(ChannelHandler codec, Case c) {
        EmbeddedChannel ch = new EmbeddedChannel(codec);
        List<String> seen = new ArrayList<>();
        for (HttpMethod m : c.requests()) {
            ch.writeOutbound(request(m));
            ByteBuf encoded = ch.readOutbound();
            seen.add("sent " + encoded.toString(StandardCharsets.US_ASCII));
            encoded.release();
        }
        ch.writeInbound(Unpooled.copiedBuffer(c.response(), StandardCharsets.US_ASCII));
        for (Object o; (o = ch.readInbound()) != null; ) {
            // a ByteBuf's class depends on the leak detector's sampling (SimpleLeakAwareByteBuf now and then)
            StringBuilder s = new StringBuilder(o instanceof ByteBuf ? "ByteBuf" : o.getClass().getSimpleName());
            if (o instanceof HttpResponse r) {
                s.append(' ').append(r.protocolVersion()).append(' ').append(r.status()).append(' ')
                        .append(r.decoderResult());
                for (Map.Entry<String, String> e : r.headers()) {
                    s.append(" [").append(e.getKey()).append(": ").append(e.getValue()).append(']');
                }
            }
            if (o instanceof HttpContent content) {
                s.append(" '").append(content.content().toString(StandardCharsets.US_ASCII)).append('\'');
            }
            if (o instanceof LastHttpContent last) {
                last.trailingHeaders().forEach(e -> s.append(" [").append(e.getKey()).append(": ")
                        .append(e.getValue()).append(']'));
            }
            if (o instanceof ByteBuf b) {
                s.append(" '").append(b.toString(StandardCharsets.US_ASCII)).append('\'');
            }
            seen.add(s.toString());
            ReferenceCountUtil.release(o);
        }
        ch.finishAndReleaseAll();
        return seen;
    }

    private static DefaultFullHttpRequest request(HttpMethod method) {
        DefaultFullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, "/x");
        r.headers().set("Host", "a.example");
        return r;
    }

    private static byte[] bytes(CharSequence s) {
        return AsciiString.of(s).toByteArray();
    }
}
