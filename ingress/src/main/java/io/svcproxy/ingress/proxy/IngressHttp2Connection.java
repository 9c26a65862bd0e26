package io.svcproxy.ingress.proxy;

import io.netty.handler.codec.http2.DefaultHttp2Connection;

/**
 * The state of a client's HTTP/2 connection (Netty's), in which a stream the proxy refused counts as one that may
 * have existed, as it did on the client's side: the frames the client sent on it before the refusal reached it
 * (its upload's DATA, its cancel's RST_STREAM, a WINDOW_UPDATE) are ignored, as those of a closed stream are (RFC
 * 9113 5.1; 6.8 for a stream above the last stream id of the proxy's GOAWAY). Netty's decoder refuses a stream
 * (REFUSED_STREAM: past SETTINGS_MAX_CONCURRENT_STREAMS, or above the GOAWAY's last stream id during a drain)
 * without creating it, so by its own count the stream never existed and those frames were a connection error
 * (PROTOCOL_ERROR, "Stream 3 does not exist for inbound frame RST_STREAM"): the connection closed, cutting its other
 * streams, the very ones a graceful GOAWAY promised to finish.
 *
 * <p>Read and changed on the connection's event loop, like the rest of Netty's connection state: plain fields.
 */
final class IngressHttp2Connection extends DefaultHttp2Connection {
    /** The highest id of a stream the client opened and the proxy refused; 0 before the first refusal. */
    private int lastRefused;

    IngressHttp2Connection() {
        super(true);
    }

    /** The client's stream {@code streamId} was refused (RST_STREAM REFUSED_STREAM) without being created. */
    void refused(int streamId) {
        if (remote().isValidStreamId(streamId) && streamId > lastRefused) {
            lastRefused = streamId;
        }
    }

    /**
     * Whether {@code streamId} may have existed: Netty's answer, or a client's stream at or below the last one
     * refused (a stream id the client skipped is closed too, RFC 9113 5.1.1).
     */
    @Override
    public boolean streamMayHaveExisted(int streamId) {
        return super.streamMayHaveExisted(streamId) || remote().isValidStreamId(streamId) && streamId <= lastRefused;
    }
}
