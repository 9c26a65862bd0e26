package io.svcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.svcproxy.proxy.dataplane.ServiceTable;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-121's review of the admin listener's HTTP handling. Admin listener on 127.0.121.1, port 0.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class H121ReviewAdminHttpTest {
    private final ServiceTable table = new ServiceTable();
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private AdminServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop();
        }
        registry.close();
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int at = text.indexOf(what); at >= 0; at = text.indexOf(what, at + 1)) {
            n++;
        }
        return n;
    }

    /**
     * A request pipelined behind a rendered answer is answered after it, in order (docs/operations.md). Its own
     * render is not the client's time: a client that sends the same request after reading the first answer gets
     * it, however long the render takes, since {@code RequestLimits} stops the request deadline when a request
     * arrives. The pipelined one never reaches {@code RequestLimits.channelRead} again (it was read before and
     * waits in {@code AdminHandler}'s queue), so the deadline that the first answer re-armed runs through its
     * render and closes the connection with the answer unsent.
     */
    @Test
    void aPipelinedScrapeIsAnsweredEvenWhenItsRenderOutlastsTheRequestDeadline() throws Exception {
        AtomicInteger scrapes = new AtomicInteger();
        Gauge.builder("h121_slow", () -> {
            if (scrapes.incrementAndGet() == 2) { // the second scrape takes longer than the request deadline
                try {
                    Thread.sleep(1500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return 1;
        }).register(registry);
        server = new AdminServer(new InetSocketAddress("127.0.121.1", 0), table, registry)
                .limits(16, Duration.ofMillis(500));
        server.start();
        InetSocketAddress at = server.boundAddress();
        try (Socket s = new Socket(at.getAddress(), at.getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String answers = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);

            assertThat(count(answers, "HTTP/1.1 200 OK"))
                    .as("answers to two pipelined scrapes (the second rendering 1.5 s, the request deadline 0.5 s):"
                            + "\n%s", answers.replaceAll("(?s)# HELP.*?(?=HTTP/|$)", "<body>\n"))
                    .isEqualTo(2);
        }
    }
}
