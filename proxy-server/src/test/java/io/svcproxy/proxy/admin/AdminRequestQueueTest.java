package io.svcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.dataplane.Transport;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * From helper-121's review of the admin listener's HTTP handling: the requests a connection has made wait for the
 * render thread, and what happens to them when the client pipelines, half-closes or leaves. Each test says what was
 * wrong. Admin listener on 127.0.121.1, port 0.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AdminRequestQueueTest {
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

    /** Whether the server closed {@code s} without a word (a reset, since the request it sent was left unread). */
    private static boolean closedUnanswered(Socket s) throws java.io.IOException {
        try {
            return s.getInputStream().read() == -1;
        } catch (java.net.SocketException reset) {
            return true;
        }
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
     * waits in {@code AdminHandler}'s queue), so the deadline that the first answer re-armed ran through its
     * render and closed the connection with the answer unsent. {@code RequestLimits} now arms the deadline only
     * once every request it passed on is answered.
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

    /**
     * A client that sends its request and then half-closes ({@code printf 'GET /metrics HTTP/1.0\r\n\r\n' | nc -N},
     * socat, a shell's {@code /dev/tcp} with {@code exec 3>&-}) gets the answer from {@code /healthz} and the stats
     * page, which are answered on the event loop, but nothing at all from {@code /metrics} and the JSON APIs: they are
     * made on the render thread, and the listener does not allow half-closure, so the client's FIN closes the
     * connection before the answer is sent. kube-proxy's Go server (promhttp) and HAProxy (without
     * {@code abortonclose}) answer a request whose client half-closed; so does this server for its other paths.
     * The admin connections now allow half-closure and close once the answers owed are sent.
     */
    @ParameterizedTest
    @EnumSource(Transport.class) // epoll (Linux's default) failed; NIO answered: it sees no FIN while autoRead is off
    void aClientThatHalfClosesAfterItsRequestGetsTheScrape(Transport transport) throws Exception {
        Gauge.builder("h121_gauge", () -> 1).register(registry);
        server = new AdminServer(new InetSocketAddress("127.0.121.1", 0), table, registry, transport);
        server.start();
        InetSocketAddress at = server.boundAddress();
        StringBuilder got = new StringBuilder();
        for (String path : new String[] {"/healthz", "/metrics", "/api/v1/services"}) {
            try (Socket s = new Socket(at.getAddress(), at.getPort())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(("GET " + path + " HTTP/1.0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput(); // the request is all the client has to say
                String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                got.append(path).append(" -> ").append(answer.isEmpty() ? "(closed, no answer)"
                        : answer.substring(0, answer.indexOf('\r'))).append('\n');
            }
        }

        assertThat(got.toString()).as("on %s", transport).isEqualTo("""
                /healthz -> HTTP/1.0 200 OK
                /metrics -> HTTP/1.0 200 OK
                /api/v1/services -> HTTP/1.0 200 OK
                """);
    }

    /**
     * docs/operations.md: exposed beyond loopback the admin server "bounds what a client can make it hold: at most 128
     * connections, 32 of them from one address". A scrape or JSON answer is queued for the render thread, and the
     * render runs whether or not its client is still there ({@code AdminHandler.RenderTask.run} did not look at the
     * channel): a client that connects, asks for {@code /metrics} and closes, again and again, stays within the
     * connection caps yet queues one full render per round, without bound. With thousands of Service ports (a second
     * per scrape) that is minutes of a busy render thread, and Prometheus's own scrapes wait behind renders nobody
     * will read. Here the caps are 4 connections, the render thread is held by the first scrape, and 40 such rounds
     * are made. Now ({@code RenderQueue}) a closed connection's queued answer is dropped, and one whose client left
     * before it started is not made. The clients leave with a reset: a FIN only says that the request is all the
     * client has to say (the half-closing client above), and such a connection is kept for its answer within the caps
     * (below).
     */
    @Test
    void scrapesOfClientsThatLeftAreNotRendered() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        AtomicInteger scrapes = new AtomicInteger();
        startHeldByScrapes(release, scrapes);
        InetSocketAddress at = server.boundAddress();
        try {
            for (int i = 0; i < 40; i++) {
                try (Socket s = new Socket(at.getAddress(), at.getPort())) {
                    s.setSoLinger(true, 0); // leaves: its close resets the connection
                    s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                }
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                        .until(() -> server.openConnections() == 0);
            }
            int queuedForNobody = server.queuedRenders();
            release.countDown();
            // renders are made one at a time, in order: once this one is answered, every earlier one was dealt with
            try (Socket s = new Socket(at.getAddress(), at.getPort())) {
                s.setSoTimeout(20_000);
                s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .startsWith("HTTP/1.1 200 ");
            }

            assertThat(scrapes.get() - 1)
                    .as("scrapes rendered for 40 clients that had all left (%d were queued with every client gone, at"
                            + " most 4 connections allowed)", queuedForNobody)
                    .isLessThanOrEqualTo(4);
        } finally {
            release.countDown();
        }
    }

    /**
     * A client that asks and then closes with a FIN cannot be told from one that half-closes after its request (it
     * gets its answer, above): its connection is kept, half-closed, until the answer is sent, and counts against the
     * connection caps meanwhile, so the renders such clients queue are bounded by the caps. Here 4 connections, the
     * render thread held by the first scrape, and 40 clients that ask and close: the first 4 are kept for their
     * answers, the others refused.
     */
    @Test
    void clientsThatCloseAfterAskingQueueNoMoreRendersThanTheConnectionCapsAllow() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        AtomicInteger scrapes = new AtomicInteger();
        startHeldByScrapes(release, scrapes);
        InetSocketAddress at = server.boundAddress();
        try {
            int refused = 0;
            for (int i = 0; i < 40; i++) {
                try (Socket s = new Socket(at.getAddress(), at.getPort())) {
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    if (i >= 4 && closedUnanswered(s)) {
                        refused++; // closed as it was accepted: the caps are full of connections owed an answer
                    }
                }
                if (i < 4) {
                    int queued = i; // the first scrape is under way, the others wait for it
                    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                            .until(() -> server.queuedRenders() == queued);
                }
            }
            int queued = server.queuedRenders();
            release.countDown();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
                    .until(() -> server.openConnections() == 0); // each closed once its answer was sent

            assertThat(refused).as("clients refused while 4 connections waited for their answers").isEqualTo(36);
            assertThat(scrapes.get())
                    .as("scrapes rendered for 40 clients that asked and closed (%d were queued, at most 4 connections"
                            + " allowed)", queued)
                    .isEqualTo(4);
        } finally {
            release.countDown();
        }
    }

    /**
     * Starts the server with caps of 4 connections (4 per client) and a gauge whose every scrape counts in {@code
     * scrapes} and holds the render thread until {@code release} (a large scrape).
     */
    private void startHeldByScrapes(java.util.concurrent.CountDownLatch release, AtomicInteger scrapes)
            throws Exception {
        Gauge.builder("h121_held", () -> {
            scrapes.incrementAndGet();
            try {
                release.await(10, TimeUnit.SECONDS); // the render thread is busy (a large scrape)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 1;
        }).register(registry);
        server = new AdminServer(new InetSocketAddress("127.0.121.1", 0), table, registry)
                .limits(4, 4, Duration.ofSeconds(10));
        server.start();
    }
}
