package io.svcproxy.ingress.proxy;

import com.sun.net.httpserver.HttpServer;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * JDK HTTP servers as Service endpoints for the Ingress tests. Every endpoint answers:
 * {@code /sha256} with the SHA-256 of the request body, {@code /bytes/N} with N bytes of {@link #pattern},
 * {@code /sleep/MS} after MS milliseconds, {@code /chunked} with a chunked body,
 * anything else with its name, the request target, its peer port and the request headers (one per line).
 */
final class TestEndpoints implements AutoCloseable {
    private final List<HttpServer> servers = new ArrayList<>();
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();

    /** The requests the endpoint {@code name} has answered. */
    int hits(String name) {
        AtomicInteger n = hits.get(name);
        return n == null ? 0 : n.get();
    }

    /** Starts an endpoint named {@code name} on {@code ip}, port 0. */
    InetSocketAddress start(String ip, String name) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(ip, 0), 100);
        server.createContext("/", exchange -> {
            hits.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
            String path = exchange.getRequestURI().getPath();
            try (InputStream in = exchange.getRequestBody(); OutputStream out = exchange.getResponseBody()) {
                if (path.equals("/sha256")) {
                    MessageDigest sha = sha256();
                    byte[] buf = new byte[65536];
                    for (int n; (n = in.read(buf)) > 0; ) {
                        sha.update(buf, 0, n);
                    }
                    byte[] body = HexFormat.of().formatHex(sha.digest()).getBytes(StandardCharsets.US_ASCII);
                    exchange.sendResponseHeaders(200, body.length);
                    out.write(body);
                } else if (path.equals("/chunked")) {
                    in.readAllBytes();
                    exchange.sendResponseHeaders(200, 0); // no length: chunked
                    out.write((name + " chunked").getBytes(StandardCharsets.US_ASCII));
                } else if (path.startsWith("/sleep/")) {
                    in.readAllBytes();
                    try {
                        Thread.sleep(Long.parseLong(path.substring("/sleep/".length())));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    byte[] body = (name + " slept").getBytes(StandardCharsets.US_ASCII);
                    exchange.sendResponseHeaders(200, body.length);
                    out.write(body);
                } else if (path.startsWith("/bytes/")) {
                    in.readAllBytes();
                    long n = Long.parseLong(path.substring("/bytes/".length()));
                    exchange.sendResponseHeaders(200, n);
                    byte[] buf = new byte[65536];
                    for (long off = 0; off < n; off += buf.length) {
                        int len = (int) Math.min(buf.length, n - off);
                        pattern(off, buf, len);
                        out.write(buf, 0, len);
                    }
                } else {
                    in.readAllBytes();
                    StringBuilder sb = new StringBuilder(name + " " + exchange.getRequestURI() + "\n");
                    sb.append("peer=").append(exchange.getRemoteAddress().getPort()).append('\n');
                    new TreeMap<>(exchange.getRequestHeaders()).forEach((k, v) -> sb.append(k.toLowerCase())
                            .append('=').append(String.join(", ", v)).append('\n'));
                    byte[] body = sb.toString().getBytes(StandardCharsets.UTF_8);
                    exchange.sendResponseHeaders(200, body.length);
                    out.write(body);
                }
            }
        });
        server.setExecutor(executor);
        server.start();
        servers.add(server);
        return server.getAddress();
    }

    /** Fills {@code buf[0..len)} with the bytes at offset {@code off} of the test stream. */
    static void pattern(long off, byte[] buf, int len) {
        for (int i = 0; i < len; i++) {
            long x = off + i;
            buf[i] = (byte) (x * 31 + (x >>> 11));
        }
    }

    /** The SHA-256 (hex) of the first {@code n} bytes of the test stream. */
    static String patternSha256(long n) {
        MessageDigest sha = sha256();
        byte[] buf = new byte[65536];
        for (long off = 0; off < n; off += buf.length) {
            int len = (int) Math.min(buf.length, n - off);
            pattern(off, buf, len);
            sha.update(buf, 0, len);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An rr set over the addresses, weight 1 each. */
    static BackendSet rr(InetSocketAddress... addresses) {
        List<BackendState> list = new ArrayList<>();
        for (InetSocketAddress a : addresses) {
            list.add(BackendState.of(a.getAddress(), a.getPort(), 1));
        }
        return BackendSet.of("rr", Set.of(), SessionAffinity.NONE, list, System::nanoTime);
    }

    @Override
    public void close() {
        servers.forEach(s -> s.stop(0));
        executor.shutdownNow();
    }
}
