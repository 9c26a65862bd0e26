package io.svcproxy.ingress.proxy;

import io.netty.handler.codec.DecoderException;
import java.io.IOException;
import javax.net.ssl.SSLException;

/**
 * Which exceptions of a client connection are the client's: the network's (a reset, a broken pipe) and its TLS
 * failing ({@link SSLException}, an {@link IOException}; a record that does not decrypt, an alert, which Netty's
 * {@code SslHandler} reports as a {@link DecoderException} with the {@code SSLException} for cause). Such a failure
 * ends the connection and is logged at DEBUG on {@link AccessLog#LOG}, as nginx logs a client's SSL_read error at
 * info; anything else is svcproxy's own and goes on to Netty's pipeline tail (a WARN) as before.
 */
final class ClientFailures {
    private ClientFailures() {
    }

    /** Whether {@code cause} is the client's network or TLS failing (see the class's javadoc), or its pipelining. */
    static boolean includes(Throwable cause) {
        return cause instanceof IOException
                || cause instanceof DecoderException && (cause.getCause() instanceof SSLException
                || pipelinedTooDeep(cause.getCause()));
    }

    /**
     * Netty's request decoder refusing a request past {@link Http1Codecs#MAX_PIPELINE_DEPTH} (an
     * {@code IllegalStateException} it throws as {@code "maxPipelineDepth exceeded: N"}): a bound the frontend's
     * pauses keep it from reaching, but if a client did, the client's doing.
     */
    private static boolean pipelinedTooDeep(Throwable cause) {
        return cause instanceof IllegalStateException && cause.getMessage() != null
                && cause.getMessage().startsWith("maxPipelineDepth exceeded");
    }
}
