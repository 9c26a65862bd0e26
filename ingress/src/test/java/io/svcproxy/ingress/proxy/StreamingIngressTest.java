package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * 32 MiB up and 32 MiB down through the Ingress with curl, checked by SHA-256 on the far side: HTTP/1.1, h2c by
 * prior knowledge, and h2 over TLS. The endpoint hashes the upload as it reads it and streams the download as it
 * writes it, so neither side holds a body whole. On 127.0.10.175-176.
 */
@Timeout(300)
class StreamingIngressTest {
    private static final long SIZE = 32L << 20;
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);

    @TempDir
    static Path dir;
    private static TestEndpoints endpoints;
    private static EventLoopGroup group;
    private static HttpIngressServer http;
    private static HttpsIngressServer https;
    private static TestCertificates ca;
    private static Path upload;

    @BeforeAll
    static void setUp() throws Exception {
        endpoints = new TestEndpoints();
        BackendSet web = TestEndpoints.rr(endpoints.start("127.0.10.176", "web-1"));
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/web", WEB, List.of()))));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        ca = new TestCertificates(dir);
        TlsCertificates certs = TlsCertificates.of(List.of(ca.issue("shop", "shop.example")));
        http = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.175", 0),
                router, Map.of(WEB, web)::get, IngressOptions.defaults(), IngressMetrics.NONE);
        https = HttpsIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.175", 0),
                router, Map.of(WEB, web)::get, IngressOptions.defaults(), IngressMetrics.NONE, certs);
        upload = dir.resolve("upload.bin");
        try (var out = Files.newOutputStream(upload)) {
            byte[] buf = new byte[65536];
            for (long off = 0; off < SIZE; off += buf.length) {
                int len = (int) Math.min(buf.length, SIZE - off);
                TestEndpoints.pattern(off, buf, len);
                out.write(buf, 0, len);
            }
        }
    }

    @AfterAll
    static void tearDown() throws Exception {
        http.close();
        https.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoints.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"http/1.1", "h2c", "h2"})
    void thirtyTwoMebibytesStreamBothWays(String protocol) throws Exception {
        String expectedVersion = protocol.equals("http/1.1") ? "1.1" : "2";
        Curl.Result up = curl(protocol, "--data-binary", "@" + upload, "-H", "Content-Type: application/octet-stream",
                "-w", "=%{http_version}", url(protocol, "/sha256"));
        assertThat(up.exitCode()).as(up.err()).isZero();
        assertThat(up.out()).isEqualTo(TestEndpoints.patternSha256(SIZE) + "=" + expectedVersion);

        Path download = dir.resolve("download-" + protocol.replace('/', '_') + ".bin");
        Curl.Result down = curl(protocol, "-o", download.toString(), "-w", "%{http_version} %{size_download}",
                url(protocol, "/bytes/" + SIZE));
        assertThat(down.exitCode()).as(down.err()).isZero();
        assertThat(down.out()).isEqualTo(expectedVersion + " " + SIZE);
        assertThat(sha256(download)).isEqualTo(TestEndpoints.patternSha256(SIZE));
    }

    private static Curl.Result curl(String protocol, String... args) throws Exception {
        List<String> all = new ArrayList<>();
        switch (protocol) {
            case "http/1.1" -> all.add("--http1.1");
            case "h2c" -> all.add("--http2-prior-knowledge");
            default -> all.addAll(List.of("--http2", "--cacert", ca.caFile().toString()));
        }
        int port = protocol.equals("h2") ? https.localAddress().getPort() : http.localAddress().getPort();
        all.addAll(List.of("--resolve", "shop.example:" + port + ":127.0.10.175"));
        all.addAll(List.of(args));
        return Curl.curl(all.toArray(String[]::new));
    }

    private static String url(String protocol, String path) {
        return protocol.equals("h2") ? "https://shop.example:" + https.localAddress().getPort() + path
                : "http://shop.example:" + http.localAddress().getPort() + path;
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest sha = TestEndpoints.sha256();
        try (var in = Files.newInputStream(file)) {
            byte[] buf = new byte[65536];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
