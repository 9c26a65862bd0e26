package io.svcproxy.ingress.proxy;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpServerCodec;

/**
 * The HTTP/1.1 codecs of both sides, with the listener's limits: towards clients ({@link #server}) and towards
 * endpoints ({@link #client}). Netty's defaults but one: a message's trailers start with a table of 2 slots instead
 * of 16. The decoders make a trailers object for the end of every message with a body (most have no trailers), so
 * this is an allocation of ~150 bytes less per response; trailers that do come still fit (the table chains).
 */
final class Http1Codecs {
    /** Netty's trailers (same name and value validation), each starting small as its {@code newEmptyHeaders}. */
    private static final HttpHeadersFactory TRAILERS = new HttpHeadersFactory() {
        private final DefaultHttpHeadersFactory trailers = DefaultHttpHeadersFactory.trailersFactory();

        @Override
        public HttpHeaders newHeaders() {
            return trailers.newEmptyHeaders();
        }

        @Override
        public HttpHeaders newEmptyHeaders() {
            return trailers.newEmptyHeaders();
        }
    };
    /** The largest body part a decoder passes on at once. */
    private static final int MAX_CHUNK = 8192;

    private Http1Codecs() {
    }

    /** The codec of a client connection: requests in, responses out. */
    static HttpServerCodec server(IngressOptions o) {
        return new HttpServerCodec(config(o));
    }

    /** The codec of an endpoint connection: requests out, responses in. */
    static HttpClientCodec client(IngressOptions o) {
        return new HttpClientCodec(config(o), false, false);
    }

    private static HttpDecoderConfig config(IngressOptions o) {
        return new HttpDecoderConfig()
                .setMaxInitialLineLength(o.maxInitialLine())
                .setMaxHeaderSize(o.maxHeaderSize())
                .setMaxChunkSize(MAX_CHUNK)
                .setTrailersFactory(TRAILERS);
    }
}
