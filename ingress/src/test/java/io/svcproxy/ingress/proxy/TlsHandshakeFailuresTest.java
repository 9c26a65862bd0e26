package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.handler.ssl.SslProvider;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.TlsHandshakeFailure;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The HTTPS listener (127.0.145.1; endpoint 127.0.0.248) counts each client connection that ends without a TLS
 * session once, by its reason ({@link TlsHandshakeFailure}), with real clients and both providers: before, it only
 * logged them at DEBUG, so an operator who rotated a certificate to one the clients do not trust saw nothing in the
 * metrics. One event loop, so that a no-op run on it after a connection's close comes after every event of that
 * close ({@link #countedOnceClosed}): each failure is counted once, not again by the close that follows it.
 */
@Timeout(180)
class TlsHandshakeFailuresTest extends TlsListenerTestBase {
    private static final String IP = "127.0.145.1";
    private final BlockingQueue<TlsHandshakeFailure> failures = new LinkedBlockingQueue<>();
    private final IngressMetrics metrics = new IngressMetrics() {
        @Override
        public void tlsHandshakeFailed(TlsHandshakeFailure reason) {
            failures.add(reason);
        }
    };

    TlsHandshakeFailuresTest() {
        super(IP, "127.0.0.248", 1);
    }

    private void start(TlsCertificates certs) throws InterruptedException {
        start(certs, IngressOptions.defaults(), metrics);
    }

    /**
     * A client that does not trust the certificate (one rotated to another CA) refuses it with an alert: the JDK's
     * (certificate_unknown, encrypted under TLS 1.3) and curl's (OpenSSL: unknown_ca), under TLS 1.3 and 1.2. Before
     * {@link HandshakeAlerts}, curl's under TLS 1.3 counted as protocol (the engines' BAD_PACKET_LENGTH and
     * "Insufficient buffer remaining for AEAD cipher fragment (2)").
     */
    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void aClientRefusingTheCertificateIsAClientAlert(SslProvider provider) throws Exception {
        start(TlsCertificates.of(List.of(shop), provider));
        // the JDK's default trust store: not the test CA
        assertThatThrownBy(() -> handshake(SSLContext.getDefault(), "TLSv1.3", null))
                .isInstanceOf(SSLException.class);
        assertThat(countedOnceClosed(1)).containsExactly(TlsHandshakeFailure.CLIENT_ALERT);

        // curl's OpenSSL sends its unknown_ca in plaintext under TLS 1.3: the engines report an unreadable record
        for (String max : List.of("1.3", "1.2")) {
            Curl.Result curl = Curl.curl("--tls-max", max, "--resolve", "shop.example:" + port() + ":" + IP,
                    "https://shop.example:" + port() + "/");
            assertThat(curl.exitCode()).as(curl.err()).isEqualTo(60); // the peer certificate cannot be authenticated
            assertThat(countedOnceClosed(1)).as("TLS " + max).containsExactly(TlsHandshakeFailure.CLIENT_ALERT);
        }
    }

    /**
     * No protocol in common: a client offering only TLS 1.1 (openssl s_client; the listener takes TLS 1.2 and 1.3),
     * or only a cipher suite the listener does not have (the JDK, TLS 1.2, AES-CBC).
     */
    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void noSharedVersionOrCipherIsProtocol(SslProvider provider) throws Exception {
        start(TlsCertificates.of(List.of(shop), provider));
        Curl.Result tls11 = Curl.run(List.of("sh", "-c", "openssl s_client -tls1_1 -cipher DEFAULT@SECLEVEL=0 "
                + "-connect " + IP + ":" + port() + " -servername shop.example </dev/null 2>&1"));
        assertThat(tls11.out()).contains("alert protocol version");
        assertThat(countedOnceClosed(1)).as(tls11.out()).containsExactly(TlsHandshakeFailure.PROTOCOL);

        assertThatThrownBy(() -> handshake(ca.clientContext(), "TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"))
                .isInstanceOf(SSLException.class);
        assertThat(countedOnceClosed(1)).containsExactly(TlsHandshakeFailure.PROTOCOL);
    }

    /** A ClientHello past the SNI handler's 16 KiB (its length announced), as {@link TlsFailuresTest} sends it. */
    @Test
    void aClientHelloPastTheLimitIsProtocol() throws Exception {
        start(TlsCertificates.of(List.of(shop)));
        try (Socket s = connect()) {
            s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00});
            s.getOutputStream().flush();
            assertThat(s.getInputStream().read()).as("closed by the listener").isEqualTo(-1);
        }
        assertThat(countedOnceClosed(1)).containsExactly(TlsHandshakeFailure.PROTOCOL);
    }

    /** No Ingress has a tls entry: the SNI lookup has no certificate for anyone. */
    @Test
    void noCertificateConfiguredIsNoCertificate() throws Exception {
        start(TlsCertificates.of(List.of()));
        assertThatThrownBy(() -> handshake(ca.clientContext(), "TLSv1.3", null)).isInstanceOf(IOException.class);
        assertThat(countedOnceClosed(1)).containsExactly(TlsHandshakeFailure.NO_CERTIFICATE);
    }

    /**
     * A client that connects and closes (a TCP health check, a port scan), one that closes in the middle of its
     * ClientHello, one that resets after it, and one that sends a close_notify alert after it: closed, each once,
     * apart from the failures above.
     */
    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void aClientThatLeavesBeforeTheHandshakeEndsIsClosed(SslProvider provider) throws Exception {
        start(TlsCertificates.of(List.of(shop), provider));
        connect().close();
        assertThat(countedOnceClosed(1)).containsExactly(TlsHandshakeFailure.CLOSED);

        byte[] hello = clientHello();
        try (Socket s = connect()) {
            s.getOutputStream().write(hello, 0, hello.length / 2);
            s.getOutputStream().flush();
        }
        assertThat(countedOnceClosed(1)).containsExactly(TlsHandshakeFailure.CLOSED);

        try (Socket s = connect()) {
            s.getOutputStream().write(hello);
            s.getOutputStream().flush();
            assertThat(s.getInputStream().read()).as("the ServerHello's first byte").isEqualTo(0x16);
            s.setSoLinger(true, 0); // a reset
        }
        assertThat(countedOnceClosed(1)).containsExactly(TlsHandshakeFailure.CLOSED);

        try (Socket s = connect()) {
            s.getOutputStream().write(hello);
            s.getOutputStream().flush();
            assertThat(s.getInputStream().read()).as("the ServerHello's first byte").isEqualTo(0x16);
            // a close_notify alert (warning), in plaintext
            s.getOutputStream().write(new byte[] {0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00});
            s.getOutputStream().flush();
            s.setSoTimeout(30_000);
            s.getInputStream().readAllBytes();
        }
        assertThat(countedOnceClosed(1)).containsExactly(TlsHandshakeFailure.CLOSED);
    }

    /**
     * The handshake timeout (10 s; the listener's, not configurable): a client that sends nothing meets the SNI
     * handler's, one that stops after its ClientHello the TLS handler's. Both wait at once: one wait of 10 s.
     */
    @Test
    void aClientThatStallsIsATimeout() throws Exception {
        start(TlsCertificates.of(List.of(shop)));
        try (Socket silent = connect(); Socket stalled = connect()) {
            stalled.getOutputStream().write(clientHello());
            stalled.getOutputStream().flush();
            silent.setSoTimeout(30_000);
            stalled.setSoTimeout(30_000);
            assertThat(silent.getInputStream().read()).as("closed by the listener").isEqualTo(-1);
            assertThat(stalled.getInputStream().readAllBytes()).as("the server's flight, then the close").isNotEmpty();
        }
        assertThat(countedOnceClosed(2)).containsExactly(TlsHandshakeFailure.TIMEOUT, TlsHandshakeFailure.TIMEOUT);
    }

    /** Plain HTTP to the TLS port is answered 400 by {@link PlainHttpOnTlsPort} and counted as plain_http, once. */
    @Test
    void plainHttpIsPlainHttp() throws Exception {
        start(TlsCertificates.of(List.of(shop)));
        Curl.Result curl = Curl.curl("-w", "\n%{http_code}", "http://" + IP + ":" + port() + "/x");
        assertThat(curl.out()).endsWith("\n400");
        assertThat(countedOnceClosed(1)).containsExactly(TlsHandshakeFailure.PLAIN_HTTP);
    }

    /** A handshake that succeeds counts nothing, whatever comes after it (h2 and http/1.1, a request or none). */
    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void aSuccessfulHandshakeCountsNothing(SslProvider provider) throws Exception {
        start(TlsCertificates.of(List.of(shop), provider));
        handshake(ca.clientContext(), "TLSv1.3", null);
        handshake(ca.clientContext(), "TLSv1.2", null);
        for (String version : List.of("--http2", "--http1.1")) {
            Curl.Result curl = Curl.curl(version, "--cacert", ca.caFile().toString(), "--resolve",
                    "shop.example:" + port() + ":" + IP, "https://shop.example:" + port() + "/ok");
            assertThat(curl.exitCode()).as(curl.err()).isZero();
            assertThat(curl.out()).startsWith("web-1 /ok");
        }
        assertThat(countedOnceClosed(0)).isEmpty();
    }

    /**
     * Handshakes with {@code context} offering only {@code version} (and only {@code cipher}, unless {@code null}),
     * SNI shop.example, then closes.
     */
    private void handshake(SSLContext context, String version, String cipher) throws Exception {
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(IP, port())) {
            SSLParameters params = socket.getSSLParameters();
            params.setServerNames(List.of(new SNIHostName("shop.example")));
            params.setProtocols(new String[] {version});
            if (cipher != null) {
                params.setCipherSuites(new String[] {cipher});
            }
            socket.setSSLParameters(params);
            socket.startHandshake();
        }
    }

    /** A JDK client's ClientHello to shop.example, as its first record. */
    private byte[] clientHello() throws Exception {
        SSLEngine engine = ca.clientContext().createSSLEngine("shop.example", port());
        engine.setUseClientMode(true);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] hello = new byte[out.remaining()];
        out.get(hello);
        return hello;
    }

    private Socket connect() throws IOException {
        Socket s = new Socket();
        s.connect(ingress.localAddress(), 5000);
        return s;
    }

    /**
     * The failures counted since the last call, once {@code expected} were and every connection has closed and its
     * close's events ran: a connection leaves the listener's set when it closes, on the event loop that then runs its
     * inactive event (queued by the close), so a task run there afterwards comes after them all.
     */
    private List<TlsHandshakeFailure> countedOnceClosed(int expected) throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> failures.size() >= expected && ingress.connections() == 0);
        group.next().submit(() -> { }).sync();
        List<TlsHandshakeFailure> counted = new ArrayList<>();
        failures.drainTo(counted);
        return counted;
    }

    private int port() {
        return ingress.localAddress().getPort();
    }
}
