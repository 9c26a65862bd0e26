package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.fault.LogGuard;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-117's review of {@code proxy.transport: io_uring}: a client that resets its connection before svcproxy
 * served it. Netty's io_uring accepts in the kernel (multishot accept) and learns the peer's address afterwards with
 * {@code getpeername}, which fails once the peer reset: the channel has no remote address. The TCP relay knew it
 * ("Client gone before serving") and closed; the Ingress did not, read the request the kernel still held and threw a
 * NullPointerException that reached the end of the pipeline (Netty's WARN with a stack trace, one per such client);
 * it now closes such a connection unserved (ClientPipelines.closedIfGone). On epoll the address comes with accept4
 * and nothing is logged. Ingress and ClusterIP on 127.0.10.136; the endpoint 127.0.0.140 (never reached).
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class IoUringGoneClientIngressTest {
    final ProxyFixture fixture = new ProxyFixture(Transport.IO_URING);

    @AfterEach
    void tearDown() {
        fixture.close();
    }

    private ProxyServer start(ServerSocket endpoint) throws Exception {
        int vipPort = DrainDeadlineOnEveryTransportTest.freePort("127.0.10.136");
        return fixture.proxy("proxy: {admin: off, ingress: {http: \"127.0.10.136:0\"}}\n"
                + "services:\n  - name: web\n    clusterIP: 127.0.10.136\n    ports: [{port: " + vipPort + "}]\n"
                + "    endpoints: [{ip: 127.0.0.140, port: " + endpoint.getLocalPort() + "}]\n"
                + "ingresses:\n  - name: i\n    defaultBackend: {service: {name: web, port: {number: " + vipPort
                + "}}}\n");
    }

    /**
     * Holds every event loop of the data plane while {@code clients} connect, send {@code request} and reset: the
     * kernel accepts them meanwhile (io_uring's multishot accept), so each is served only after it is gone.
     */
    static void resetBeforeServed(ProxyServer server, InetSocketAddress target, byte[] request, int clients)
            throws Exception {
        EventLoopGroup loops = server.listeners().eventLoops();
        CountDownLatch release = new CountDownLatch(1);
        int n = 0;
        for (EventExecutor ignored : loops) {
            n++;
        }
        CountDownLatch blocked = new CountDownLatch(n);
        for (EventExecutor e : loops) {
            e.execute(() -> {
                blocked.countDown();
                try {
                    release.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        try {
            assertThat(blocked.await(10, TimeUnit.SECONDS)).isTrue();
            for (int i = 0; i < clients; i++) {
                try (Socket c = new Socket()) {
                    c.connect(target, 5000);
                    c.getOutputStream().write(request);
                    c.setSoLinger(true, 0); // the close is a reset
                }
            }
        } finally {
            release.countDown();
        }
    }

    @Test
    void anHttp1ClientThatResetBeforeItWasServedIsNotAnUnhandledException() throws Exception {
        try (ServerSocket endpoint = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.140"))) {
            ProxyServer server = start(endpoint);
            LogGuard.drain();
            resetBeforeServed(server, server.ingress().httpAddress(),
                    "GET /gone HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 3);
            // the loops go on; whatever they log about the three clients is logged once they were all closed
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> checkLoopsIdle(server));
            List<String> logged = LogGuard.drain();
            assertThat(logged).as("WARN/ERROR lines of the data plane for 3 HTTP/1.1 clients gone before served")
                    .isEmpty();
        }
    }

    /** Returns once every event loop ran a task queued now: what the held loops had to do is done. */
    static boolean checkLoopsIdle(ProxyServer server) throws Exception {
        for (EventExecutor e : server.listeners().eventLoops()) {
            e.submit(() -> { }).get(10, TimeUnit.SECONDS);
        }
        Thread.sleep(200);
        return true;
    }
}
