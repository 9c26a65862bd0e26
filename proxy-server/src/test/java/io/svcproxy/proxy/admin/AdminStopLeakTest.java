package io.svcproxy.proxy.admin;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.fault.LeakCheckExtension;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A request whose answer waits for the render thread when the admin server stops is released (helper-90's review:
 * the queued render task was dropped with the request it held, and Netty's leak detector reported it, also in
 * later test classes).
 */
@Timeout(30)
class AdminStopLeakTest {
    @Test
    void stoppingWithARenderQueuedLeaksNoRequest() throws Exception {
        CountDownLatch scraping = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        PrometheusMeterRegistry slow = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Gauge.builder("slow_gauge", () -> {
            scraping.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 1;
        }).register(slow);
        AdminServer server = new AdminServer(new InetSocketAddress("127.0.0.1", 0), new ServiceTable(), slow);
        server.start();
        int port = server.boundAddress().getPort();
        try (Socket first = new Socket("127.0.0.1", port); Socket second = new Socket("127.0.0.1", port)) {
            first.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            scraping.await(5, TimeUnit.SECONDS); // the render thread is busy with the first scrape
            second.getOutputStream().write("GET /api/v1/services HTTP/1.1\r\nHost: x\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                    .until(() -> server.queuedRenders() == 1); // the second render is queued behind it
            server.stop();
        } finally {
            release.countDown();
            slow.close();
        }
        LeakCheckExtension.collectAndAssertNoLeaks("AdminServer.stop with a render queued");
    }
}
