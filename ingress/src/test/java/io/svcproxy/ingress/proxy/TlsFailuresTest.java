package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.ssl.SslProvider;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.testing.WarnGuard;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * From helper-118's review of the HTTPS listener (127.0.118.1; endpoints 127.0.0.141 and, for a WebSocket tunnel,
 * 127.0.118.2): handshakes and records gone wrong must end the connection at once and log below WARN, as the
 * listener's own comments promise ("A failed handshake is the client's business ... debug") and WarnGuard requires
 * of the data plane.
 */
@Timeout(180)
class TlsFailuresTest extends TlsListenerTestBase {
    private static final String IP = "127.0.118.1";

    TlsFailuresTest() {
        super(IP, "127.0.0.141", 2);
    }

    private void start(TlsCertificates certs) throws InterruptedException {
        start(certs, IngressOptions.defaults(), IngressMetrics.NONE);
    }

    /**
     * Plain HTTP sent to the HTTPS listener (a client with http:// for https://, a health check on the wrong port)
     * is answered 400 "The plain HTTP request was sent to HTTPS port", as nginx answers it, and the connection closes;
     * before, the handshake failed and the connection closed without a word. With curl, and with a request whose
     * body follows (read and dropped, so the answer is not lost to a reset).
     */
    @Test
    void plainHttpToTheHttpsListenerIsAnsweredWithNginxs400() throws Exception {
        start(TlsCertificates.of(List.of(shop)));
        InetSocketAddress at = ingress.localAddress();
        Curl.Result curl = Curl.curl("-w", "\n%{http_code}", "http://" + IP + ":" + at.getPort() + "/api/x");
        assertThat(curl.exitCode()).as(curl.err()).isZero();
        assertThat(curl.out()).isEqualTo(PlainHttpOnTlsPort.ANSWER + "\n\n400");

        try (Socket s = new Socket()) {
            s.connect(at, 5000);
            s.setSoTimeout(30_000);
            byte[] body = new byte[100_000];
            s.getOutputStream().write(("POST /upload HTTP/1.1\r\nHost: shop.example\r\nContent-Length: " + body.length
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(body);
            s.getOutputStream().flush();
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(answer).startsWith("HTTP/1.1 400 Bad Request\r\n").contains("connection: close\r\n")
                    .endsWith("\r\n\r\n" + PlainHttpOnTlsPort.ANSWER + "\n");
        }
        assertThat(endpoints.hits("web-1")).as("nothing reached an endpoint").isZero();
        assertThat(WarnGuard.drain()).isEmpty();
    }

    /**
     * A ClientHello whose handshake length passes the SNI handler's 16 KiB limit: any client (a scanner) can send
     * it. It is a failed handshake like any other, to be closed and logged at DEBUG, not a WARN of Netty's pipeline
     * tail in the data plane's log.
     */
    @Test
    void aClientHelloPastTheLimitIsRefusedQuietly() throws Exception {
        start(TlsCertificates.of(List.of(shop)));
        try (Socket s = new Socket()) {
            s.connect(ingress.localAddress(), 5000);
            s.setSoTimeout(30_000);
            // a handshake record of 4 bytes: ClientHello (1) of 65,536 bytes announced
            s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00});
            s.getOutputStream().flush();
            assertThat(s.getInputStream().read()).as("closed by the listener").isEqualTo(-1);
        }
        Thread.sleep(200); // the exception's path ends after the close
        assertThat(WarnGuard.drain()).as("WARN or ERROR lines for one client's malformed ClientHello").isEmpty();
    }

    /**
     * A record that does not decrypt after the handshake (a corrupted record, a client or middlebox gone wrong) ends
     * the connection, as nginx ends it (SSL_read's bad record mac, logged at info, then the close): at once, and
     * nothing to log above DEBUG; on HTTP/1.1 and on h2 alike. On HTTP/1.1 the JDK's provider logged Netty's
     * pipeline-tail WARN with the SSLException, and OpenSSL's left the connection open (until the idle timeout).
     */
    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void aRecordThatDoesNotDecryptAfterTheHandshakeClosesQuietly(SslProvider provider) throws Exception {
        start(TlsCertificates.of(List.of(shop), provider));
        List<String> ends = new java.util.ArrayList<>();
        for (String protocol : List.of("http/1.1", "h2")) {
            try (Socket raw = new Socket()) {
                raw.connect(ingress.localAddress(), 5000);
                raw.setSoTimeout(15_000);
                SSLSocket tls = handshake(raw, protocol);
                assertThat(tls.getApplicationProtocol()).isEqualTo(protocol);
                String end = badRecordThenEnd(raw); // the server's alert, session tickets, SETTINGS, then its close
                Thread.sleep(200);
                ends.add(protocol + ": " + end + ", " + WarnGuard.drain());
            }
        }
        assertThat(ends).as("each connection's end and the WARN or ERROR lines it logged")
                .containsExactly("http/1.1: closed, []", "h2: closed, []");
    }

    /**
     * The same record on a WebSocket tunnel (after the endpoint's 101 the connection relays bytes: {@link Tunnel}):
     * the connection ends at once, and nothing is logged above DEBUG. The endpoint (127.0.118.2) answers the upgrade
     * and echoes what comes until the proxy closes its side.
     */
    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void aRecordThatDoesNotDecryptInAWebSocketTunnelClosesQuietly(SslProvider provider) throws Exception {
        try (ScriptedEndpoint ws = new ScriptedEndpoint("127.0.118.2", (line, in, out) -> {
            out.write(("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] buf = new byte[4096];
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                out.flush();
            }
            return false;
        })) {
            web = TestEndpoints.rr(ws.address());
            start(TlsCertificates.of(List.of(shop), provider));
            String end;
            try (Socket raw = new Socket()) {
                raw.connect(ingress.localAddress(), 5000);
                raw.setSoTimeout(15_000);
                SSLSocket tls = handshake(raw, "http/1.1");
                tls.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: shop.example\r\nConnection: Upgrade\r\n"
                        + "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                tls.getOutputStream().flush();
                StringBuilder head = new StringBuilder();
                InputStream plain = tls.getInputStream();
                for (int c; head.indexOf("\r\n\r\n") < 0 && head.length() < 8192 && (c = plain.read()) >= 0; ) {
                    head.append((char) c);
                }
                assertThat(head.toString()).startsWith("HTTP/1.1 101 ");
                // the tunnel relays: an echo through it
                tls.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                tls.getOutputStream().flush();
                assertThat(new String(plain.readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
                end = badRecordThenEnd(raw); // the server's alert, then its close
            }
            Thread.sleep(200);
            assertThat(end + ", " + WarnGuard.drain()).as("the tunnel's end and the WARN or ERROR lines it logged")
                    .isEqualTo("closed, []");
        }
    }

    /** A TLS client over {@code raw} to shop.example offering {@code protocol} by ALPN, its handshake done. */
    private SSLSocket handshake(Socket raw, String protocol) throws Exception {
        SSLSocket tls = (SSLSocket) ca.clientContext().getSocketFactory().createSocket(raw, "shop.example",
                ingress.localAddress().getPort(), false);
        SSLParameters params = tls.getSSLParameters();
        params.setServerNames(List.of(new SNIHostName("shop.example")));
        params.setApplicationProtocols(new String[] {protocol});
        tls.setSSLParameters(params);
        tls.startHandshake();
        return tls;
    }

    /**
     * Writes, under the TLS client, an application data record of 64 bytes that no key made, then reads what comes
     * until the end: "closed", or "still open after 15 s" (the socket's timeout).
     */
    private static String badRecordThenEnd(Socket raw) throws Exception {
        byte[] record = new byte[5 + 64];
        record[0] = 0x17;
        record[1] = 0x03;
        record[2] = 0x03;
        record[4] = 64;
        for (int i = 5; i < record.length; i++) {
            record[i] = (byte) i;
        }
        raw.getOutputStream().write(record);
        raw.getOutputStream().flush();
        InputStream in = raw.getInputStream();
        byte[] buf = new byte[4096];
        int total = 0;
        try {
            for (int n; (n = in.read(buf)) >= 0 && total < 1_000_000; ) {
                total += n;
            }
            return "closed";
        } catch (SocketTimeoutException e) {
            return "still open after 15 s";
        }
    }

    /**
     * Client-initiated renegotiation (TLS 1.2) is refused, as nginx refuses it (a handshake's CPU cost the client
     * chooses, as often as it likes, on one connection; RFC 9113 9.2.1 forbids it under h2), with either provider: the
     * JDK's TLS, the fallback where netty-tcnative does not load, accepts it unless
     * {@code jdk.tls.rejectClientInitiatedRenegotiation} is set (svcproxy's Main sets it, and so does the surefire
     * configuration of this module, before the JVM's first handshake).
     */
    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void clientInitiatedRenegotiationIsRefused(SslProvider provider) throws Exception {
        start(TlsCertificates.of(List.of(shop), provider));
        Process p = new ProcessBuilder("sh", "-c", "(sleep 1; echo R; sleep 2; printf 'GET /after HTTP/1.1\\r\\n"
                + "Host: shop.example\\r\\nConnection: close\\r\\n\\r\\n'; sleep 2) | openssl s_client -tls1_2 "
                + "-connect " + IP + ":" + ingress.localAddress().getPort() + " -servername shop.example 2>&1")
                .start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor();
        // OpenSSL (BoringSSL): "alert no renegotiation"; the JDK's engine renegotiates and serves the request
        assertThat(out).contains("RENEGOTIATING");
        assertThat(out).as("openssl s_client's output after its renegotiation request:%n%s", out)
                .doesNotContain("web-1 /after");
    }
}
