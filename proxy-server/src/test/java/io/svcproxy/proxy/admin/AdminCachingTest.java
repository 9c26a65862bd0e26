package io.svcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.svcproxy.proxy.dataplane.ServiceTable;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** HTTP semantics of the admin server's cacheable answers, RFC 9110 (helper-90's review). */
@Timeout(20)
class AdminCachingTest {
    private AdminServer server;
    private int port;

    @BeforeEach
    void start() throws Exception {
        server = new AdminServer(new InetSocketAddress("127.0.0.1", 0), new ServiceTable(),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        server.start();
        port = server.boundAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop();
    }

    /** The head of the answer to one request (Connection: close), lower-cased. */
    private String head(String method, String path, String extraHeaders) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write((method + " " + path + " HTTP/1.1\r\nHost: x\r\n" + extraHeaders
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            String all = out.toString(StandardCharsets.ISO_8859_1);
            int end = all.indexOf("\r\n\r\n");
            return (end < 0 ? all : all.substring(0, end)).toLowerCase(Locale.ROOT);
        }
    }

    private static String header(String head, String name) {
        for (String line : head.split("\r\n")) {
            if (line.startsWith(name + ":")) {
                return line.substring(name.length() + 1).trim();
            }
        }
        return null;
    }

    /** The page file's entity tag, {@code W/"hex"} (the head is read lower-cased; the tag's hex is lower case). */
    private String etag() throws Exception {
        String tag = header(head("GET", "/static/app.js", ""), "etag");
        assertThat(tag).startsWith("w/");
        return "W/" + tag.substring(2);
    }

    @Test
    void aGzippedPageFileSaysItVariesByAcceptEncoding() throws Exception {
        String gz = head("GET", "/static/app.js", "Accept-Encoding: gzip\r\n");
        assertThat(header(gz, "content-encoding")).isEqualTo("gzip");
        // RFC 9110 12.5.5: the answer depends on Accept-Encoding and is cacheable (no-cache + ETag): Vary is owed
        assertThat(header(gz, "vary")).as("Vary of a gzipped, cacheable answer:\n" + gz).isNotNull()
                .contains("accept-encoding");
    }

    @Test
    void ifNoneMatchUsesTheWeakComparisonAndTakesAList() throws Exception {
        String etag = etag();
        // RFC 9110 13.1.2: If-None-Match compares weakly, and its value is a list (or "*")
        String strong = etag.substring(2); // the same tag without W/: compared weakly, it matches
        assertThat(head("GET", "/static/app.js", "If-None-Match: " + strong + "\r\n"))
                .as("If-None-Match: " + strong).startsWith("http/1.1 304");
        assertThat(head("GET", "/static/app.js", "If-None-Match: \"other\", " + etag + "\r\n"))
                .as("If-None-Match: \"other\", " + etag).startsWith("http/1.1 304");
        assertThat(head("GET", "/static/app.js", "If-None-Match: *\r\n"))
                .as("If-None-Match: *").startsWith("http/1.1 304");
    }
}
