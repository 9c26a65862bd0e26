package io.svcproxy.ingress.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Ingress's HTTP/2 response fields, once per HTTP/2 response: {@link Http2ResponseHeaders#of} against Netty's
 * {@link HttpConversionUtil#toHttp2Headers(io.netty.handler.codec.http.HttpMessage, boolean)}, for the head the
 * bench's nginx endpoints send, decoded by the endpoint codec as the Ingress decodes it (its common names cached;
 * {@code Connection} already removed, as the Ingress does before the conversion). Run with:
 *
 * <pre>
 *   mvn -Pbench -DskipTests package -pl benchmarks -am
 *   java -jar benchmarks/target/benchmarks.jar Http2ResponseHeadersBenchmark -prof gc
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(2)
public class Http2ResponseHeadersBenchmark {
    private HttpResponse response;

    @Setup
    public void setUp() {
        EmbeddedChannel ch = new EmbeddedChannel(new EndpointCodec(new HttpDecoderConfig()));
        ch.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/"));
        ((ByteBuf) ch.readOutbound()).release();
        ch.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
                + "Date: Sat, 05 Dec 2026 12:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n",
                StandardCharsets.US_ASCII));
        response = ch.readInbound();
        for (Object o; (o = ch.readInbound()) != null; ) {
            ReferenceCountUtil.release(o);
        }
        ch.finishAndReleaseAll();
    }

    @Benchmark
    public Http2Headers ours() {
        return Http2ResponseHeaders.of(response);
    }

    @Benchmark
    public Http2Headers netty() {
        return HttpConversionUtil.toHttp2Headers(response, false);
    }
}
