package io.svcproxy.ingress.proxy;

import io.netty.handler.codec.DefaultHeaders;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpServerCodec;

/**
 * The HTTP/1.1 codecs of both sides, with the listener's limits: towards clients ({@link #server}) and towards
 * endpoints ({@link #client}). Netty's defaults but the sizes of the headers' hash tables: a message's trailers
 * start with a table of 2 slots instead of 16 (the decoders make a trailers object for the end of every message
 * with a body, and most have none: ~150 bytes less per response), and a message's headers with 8 instead of 16 (a
 * request or response of the proxy carries 4-10 fields; 32 bytes less per message). More fields still fit: the
 * table chains. Both keep Netty's name and value validation ({@code HeaderValidationTest}).
 */
final class Http1Codecs {
    /** The hash table's slots of a message's headers (Netty's default: 16). */
    static final int HEADER_SLOTS = 8;
    /** Netty's headers (same name and value validation), their table of {@link #HEADER_SLOTS}. */
    private static final HttpHeadersFactory HEADERS = new HttpHeadersFactory() {
        private final DefaultHttpHeadersFactory headers = DefaultHttpHeadersFactory.headersFactory();

        @Override
        public HttpHeaders newHeaders() {
            return new SizedHeaders(headers.getNameValidator(), headers.getValueValidator(), HEADER_SLOTS);
        }

        @Override
        public HttpHeaders newEmptyHeaders() {
            return headers.newEmptyHeaders();
        }
    };
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

    /**
     * The requests the request decoder may have decoded and not seen answered (Netty 4.2's
     * {@code maxPipelineDepth}, 128 by default: past it the decoder throws and the connection closes). The frontend
     * answers pipelined requests one at a time and pauses reading while one is in flight or the client takes no
     * more answers, so what the decoder gets ahead of the answers is the rest of one read: at most 64 KiB (the
     * default receive allocator's largest buffer, or a TLS read's plain bytes) of requests of at least 14 bytes
     * each ({@code A / HTTP/1.0\n\n}), 4,682, plus the one in flight. A bound above that is never reached, as nginx
     * and HAProxy answer any depth; should it be, the connection ends at DEBUG ({@link ClientFailures}).
     */
    static final int MAX_PIPELINE_DEPTH = 16_384;

    /** The codec of a client connection: requests in, responses out. */
    static HttpServerCodec server(IngressOptions o) {
        return new HttpServerCodec(config(o), MAX_PIPELINE_DEPTH);
    }

    /** The codec of an endpoint connection: requests out, responses in (Netty's, with cached field names). */
    static EndpointCodec client(IngressOptions o) {
        return new EndpointCodec(config(o));
    }

    private static HttpDecoderConfig config(IngressOptions o) {
        return new HttpDecoderConfig()
                .setMaxInitialLineLength(o.maxInitialLine())
                .setMaxHeaderSize(o.maxHeaderSize())
                .setMaxChunkSize(MAX_CHUNK)
                .setHeadersFactory(HEADERS)
                .setTrailersFactory(TRAILERS);
    }

    /** {@link DefaultHttpHeaders} with a table of a given size (its constructor for that is protected). */
    static final class SizedHeaders extends DefaultHttpHeaders {
        SizedHeaders(DefaultHeaders.NameValidator<CharSequence> names,
                     DefaultHeaders.ValueValidator<CharSequence> values, int slots) {
            super(names, values, slots);
        }
    }
}
