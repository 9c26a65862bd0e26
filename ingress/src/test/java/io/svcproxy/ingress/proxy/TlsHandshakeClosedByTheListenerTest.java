package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.TlsHandshakeFailure;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * helper-147's review of the TLS handshake failure counts (e4257ac): a handshake the listener itself ends, because
 * the client stalled past the connection's idle timeout (shorter than the handshake's own 10 s), is a timeout, not
 * {@code closed}, which says the client went away (port scanners, TCP health checks). Listener 127.0.147.1, endpoint
 * 127.0.0.149.
 */
@Timeout(60)
class TlsHandshakeClosedByTheListenerTest extends TlsListenerTestBase {
    private final BlockingQueue<TlsHandshakeFailure> failures = new LinkedBlockingQueue<>();

    TlsHandshakeClosedByTheListenerTest() {
        super("127.0.147.1", "127.0.0.149", 1);
    }

    @Test
    void aHandshakeStalledPastTheIdleTimeoutIsATimeout() throws Exception {
        IngressMetrics metrics = new IngressMetrics() {
            @Override
            public void tlsHandshakeFailed(TlsHandshakeFailure reason) {
                failures.add(reason);
            }
        };
        start(TlsCertificates.of(List.of(shop)), IngressOptions.defaults().withIdleTimeout(Duration.ofSeconds(1)),
                metrics);
        try (Socket silent = new Socket()) {
            silent.connect(ingress.localAddress(), 5000);
            silent.setSoTimeout(30_000);
            assertThat(silent.getInputStream().read()).as("closed by the listener").isEqualTo(-1);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> !failures.isEmpty() && ingress.connections() == 0);
        group.next().submit(() -> { }).sync();
        List<TlsHandshakeFailure> counted = new ArrayList<>();
        failures.drainTo(counted);
        assertThat(counted).containsExactly(TlsHandshakeFailure.TIMEOUT);
    }
}
