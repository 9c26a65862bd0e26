package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.svcproxy.ingress.IngressMetrics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The HTTPS listener on 127.0.10.170: certificates per SNI, ALPN h2 and http/1.1, reload, with curl and the JDK. */
@Timeout(180)
class TlsIngressTest extends TlsListenerTestBase {
    private static final String IP = "127.0.10.170";
    private TlsEntry wildcard;
    private TlsEntry api;

    TlsIngressTest() {
        super(IP, "127.0.10.171", 2);
    }

    @BeforeEach
    void issueWildcards() throws Exception {
        wildcard = ca.issue("wildcard", "*.wild.example");
        api = ca.issue("api", "api.wild.example");
    }

    private void start(TlsCertificates certs) throws InterruptedException {
        start(certs, IngressOptions.defaults());
    }

    private void start(TlsCertificates certs, IngressOptions options) throws InterruptedException {
        start(certs, options, IngressMetrics.NONE);
    }

    @Test
    void openSslIsUsedWhereNettyTcnativeLoads() {
        assertThat(OpenSsl.isAvailable()).as("tcnative: %s", OpenSsl.unavailabilityCause()).isTrue();
        assertThat(TlsCertificates.provider()).isEqualTo(SslProvider.OPENSSL);
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void theCertificateIsChosenBySniExactBeforeWildcardAndTheFirstEntryServesClientsWithoutSni(SslProvider provider)
            throws Exception {
        // the wildcard entry comes before api.wild.example's: the exact name still wins
        TlsCertificates certs = TlsCertificates.of(List.of(shop, wildcard, api), provider);
        assertThat(certs.sslProvider()).isEqualTo(provider);
        start(certs);
        assertThat(servedCertificate("shop.example")).contains("O=shop");
        assertThat(servedCertificate("api.wild.example")).contains("O=api");
        assertThat(servedCertificate("x.wild.example")).contains("O=wildcard");
        assertThat(servedCertificate("SHOP.EXAMPLE")).contains("O=shop");
        assertThat(servedCertificate("a.b.wild.example")).contains("O=shop"); // a wildcard is one label: the default
        assertThat(servedCertificate(null)).contains("O=shop");
    }

    @Test
    void aFullyQualifiedSniNameGetsTheCertificateOfItsHost() throws Exception {
        // `openssl s_client -servername shop.example.` got the first entry's certificate, while its Host
        // shop.example. is routed to shop.example's rules (helper-99's review); nginx leaves the dot out too. Java's
        // SNIHostName refuses a trailing dot, so the choice is asked directly
        TlsCertificates certs = TlsCertificates.of(List.of(api, shop, wildcard), SslProvider.JDK);
        assertThat(certs.select("shop.example")).isNotSameAs(certs.select(null));
        assertThat(certs.select("shop.example.")).isSameAs(certs.select("shop.example"));
        assertThat(certs.select("x.wild.example.")).isSameAs(certs.select("x.wild.example"))
                .isNotSameAs(certs.select(null));
    }

    @Test
    void curlGetsH2OrHttp11ByAlpnWithTheCertificateOfEachHost() throws Exception {
        start(TlsCertificates.of(List.of(shop, wildcard, api)));
        for (String host : List.of("shop.example", "api.wild.example", "x.wild.example")) {
            // curl checks the certificate against the host name and the CA
            Curl.Result h2 = Curl.curl("--http2", "--cacert", ca.caFile().toString(), "--resolve", resolve(host),
                    "-w", "=%{http_version}", "https://" + host + ":" + port() + "/x");
            assertThat(h2.exitCode()).as(h2.err()).isZero();
            assertThat(h2.out()).startsWith("web-1 /x\n").contains("x-forwarded-proto=https\n",
                    "x-forwarded-host=" + host + ":" + port() + "\n").endsWith("=2");
        }
        Curl.Result h1 = Curl.curl("--http1.1", "--cacert", ca.caFile().toString(), "--resolve",
                resolve("shop.example"), "-w", "=%{http_version}", "https://shop.example:" + port() + "/one");
        assertThat(h1.exitCode()).as(h1.err()).isZero();
        assertThat(h1.out()).startsWith("web-1 /one\n").contains("x-forwarded-proto=https\n").endsWith("=1.1");
    }

    @Test
    void aReloadSwapsCertificatesForNewHandshakesAndKeepsOpenConnections() throws Exception {
        TlsCertificates certs = TlsCertificates.of(List.of(shop));
        start(certs);
        try (SSLSocket socket = connect("shop.example"); RawHttpClient client = new RawHttpClient(socket)) {
            assertThat(client.get("shop.example", "/before").text()).startsWith("web-1 /before");
            assertThat(subject(socket)).contains("O=shop");

            TlsEntry renewed = ca.issue("renewed", "shop.example");
            certs.update(List.of(renewed));
            assertThat(servedCertificate("shop.example")).contains("O=renewed");

            // the connection made before the swap goes on with its certificate
            assertThat(client.get("shop.example", "/after").text()).startsWith("web-1 /after");
            assertThat(subject(socket)).contains("O=shop");
        }
    }

    @Test
    void certificatesReloadedUnderLoadFailNoRequest() throws Exception {
        TlsCertificates certs = TlsCertificates.of(List.of(shop));
        start(certs);
        TlsEntry renewed = ca.issue("renewed", "shop.example");
        Set<String> seen = ConcurrentHashMap.newKeySet();
        AtomicInteger ok = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4); // not the common pool: one thread on 2 cores
        // long-lived h2 connections over the same time: h2load keeps its 4 connections for all 1,000 requests
        CompletableFuture<Curl.Result> h2 = CompletableFuture.supplyAsync(() -> {
            try {
                return Curl.run(List.of("h2load", "-n", "1000", "-c", "4", "-m", "8",
                        "--connect-to=" + IP + ":" + port(), "https://shop.example:" + port() + "/h2"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, pool);
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            // a new TLS connection per request: every handshake meets whichever certificate is in force
            clients.add(CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 15; i++) {
                    try (SSLSocket socket = connect("shop.example"); RawHttpClient client = new RawHttpClient(socket)) {
                        assertThat(client.get("shop.example", "/new").status()).isEqualTo(200);
                        seen.add(subject(socket).contains("O=renewed") ? "renewed" : "shop");
                        ok.incrementAndGet();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            }, pool));
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new));
        for (boolean flip = true; !all.isDone(); flip = !flip) {
            certs.update(List.of(flip ? renewed : shop));
            Thread.sleep(10);
        }
        all.get(10, TimeUnit.SECONDS);
        Curl.Result r = h2.get(60, TimeUnit.SECONDS);
        pool.shutdown();
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("1000 succeeded, 0 failed, 0 errored").contains("Application protocol: h2");
        assertThat(ok.get()).isEqualTo(45);
        assertThat(seen).containsExactlyInAnyOrder("shop", "renewed");
    }

    @Test
    void aRequestWhoseHeadersDoNotArriveInTimeGetsAn408OverTls() throws Exception {
        start(TlsCertificates.of(List.of(shop)), IngressOptions.defaults().withRequestTimeout(Duration.ofMillis(400)));
        try (SSLSocket socket = connect("shop.example"); RawHttpClient client = new RawHttpClient(socket)) {
            assertThat(client.get("shop.example", "/first").status()).isEqualTo(200);
            Thread.sleep(1000); // idle between requests: no 408 for that
            client.send("GET /x HTTP/1.1\r\nHost: shop.example\r\n"); // and no end of the header block
            assertThat(client.read().status()).isEqualTo(408); // readable: it came through TLS
            assertThat(client.isClosedByPeer()).isTrue();
        }
    }

    @Test
    void withoutCertificatesAHandshakeIsRefusedQuietlyUntilSomeArrive() throws Exception {
        TlsCertificates certs = TlsCertificates.of(List.of());
        start(certs);
        assertThatThrownBy(() -> servedCertificate("shop.example")).isInstanceOf(java.io.IOException.class);
        certs.update(List.of(shop)); // e.g. the first Ingress with a tls entry was applied
        assertThat(servedCertificate("shop.example")).contains("O=shop");
    }

    /**
     * Each pair stands on its own (as in ingress-nginx): one that does not load is left out and named, its hosts get
     * the default certificate, the others are served; a renewal of a loaded pair (same files or Secret) whose new
     * content does not load leaves its previous certificate serving.
     */
    @Test
    void aPairThatDoesNotLoadIsLeftOutOnItsOwnAndABadRenewalKeepsThePreviousPair() throws Exception {
        Path missing = dir.resolve("missing.pem");
        assertThatThrownBy(() -> TlsEntry.ofFiles(List.of("a.example"), missing, missing))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("certFile " + missing + ": cannot be read");
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not a pem\n");
        Path shopKey = dir.resolve("shop-key.pem");
        Path shopCert = dir.resolve("shop.pem");
        TlsCertificates certs = TlsCertificates.of(List.of(shop));
        SslContext before = certs.select("shop.example");
        assertThat(certs.outcomes()).singleElement().satisfies(o -> {
            assertThat(o.problem()).isNull();
            assertThat(o.served().entry()).isEqualTo(shop);
            assertThat(o.served().notAfter()).isAfter(java.time.Instant.now());
        });

        // the renewal of shop's files is garbage, then its key is: the previous pair serves
        TlsEntry badCert = new TlsEntry(shop.hosts(), shop.certSource(), Files.readAllBytes(garbage), shop.keySource(),
                shop.keyPem());
        TlsCertificates.Outcome o = certs.update(List.of(badCert)).get(0);
        assertThat(o.problem()).startsWith(shop.certSource() + ": not a PEM X.509 certificate chain");
        assertThat(o.served().entry()).isEqualTo(shop);
        assertThat(certs.select("shop.example")).isSameAs(before);
        TlsEntry badKey = new TlsEntry(shop.hosts(), shop.certSource(), shop.certPem(), "keyFile " + garbage,
                Files.readAllBytes(garbage));
        o = certs.update(List.of(badKey)).get(0);
        assertThat(o.problem()).startsWith("keyFile " + garbage + ": the private key does not load for "
                + shop.certSource());
        assertThat(o.served()).as("another key file is another source: nothing to fall back to").isNull();
        assertThat(certs.select("shop.example")).isNull();

        // a pair that does not load beside two that do, first in the list: left out, the first that loads is the
        // default
        TlsEntry bad = TlsEntry.ofFiles(List.of("bad.example"), garbage, shopKey);
        List<TlsCertificates.Outcome> outcomes = certs.update(List.of(bad, shop, api));
        assertThat(outcomes.get(0).served()).isNull();
        assertThat(outcomes.get(0).problem()).startsWith("certFile " + garbage + ": not a PEM X.509 certificate chain");
        assertThat(outcomes.get(1).problem()).isNull();
        assertThat(outcomes.get(2).problem()).isNull();
        assertThat(certs.entries()).containsExactly(shop, api);
        assertThat(certs.select("bad.example")).isSameAs(certs.select("shop.example"));
        assertThat(certs.select("api.wild.example")).isNotSameAs(certs.select("shop.example"));
        SslContext shopNow = certs.select("shop.example");
        certs.update(List.of(shop, api)); // unchanged pairs keep their contexts
        assertThat(certs.select("shop.example")).isSameAs(shopNow);
        assertThat(shopCert).exists();
    }

    private String servedCertificate(String sniHost) throws Exception {
        try (SSLSocket socket = connect(sniHost)) {
            return subject(socket);
        }
    }

    private SSLSocket connect(String sniHost) throws Exception {
        SSLSocket socket = (SSLSocket) ca.clientContext().getSocketFactory().createSocket(IP, port());
        if (sniHost != null) {
            SSLParameters params = socket.getSSLParameters();
            params.setServerNames(List.of(new SNIHostName(sniHost)));
            socket.setSSLParameters(params);
        }
        socket.startHandshake();
        return socket;
    }

    private static String subject(SSLSocket socket) throws Exception {
        return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }

    private int port() {
        return ingress.localAddress().getPort();
    }

    private String resolve(String host) {
        return host + ":" + port() + ":" + IP;
    }
}
