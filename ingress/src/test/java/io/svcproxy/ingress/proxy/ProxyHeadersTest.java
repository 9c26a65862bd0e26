package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

/** The header rewriting, in place on the decoded headers: RFC 9110 7.6.1's hop-by-hop fields and X-Forwarded-*. */
class ProxyHeadersTest {
    private static HttpHeaders headers(String... nameValues) {
        HttpHeaders h = new DefaultHttpHeaders();
        for (int i = 0; i < nameValues.length; i += 2) {
            h.add(nameValues[i], nameValues[i + 1]);
        }
        return h;
    }

    @Test
    void removesTheFieldsEveryConnectionLineNamesWhateverTheWhiteSpaceAndCase() {
        HttpHeaders h = headers("Connection", "keep-alive, X-One ,\tx-two,,", "connection", "X-Three",
                "X-One", "1", "X-Two", "2", "x-three", "3", "X-Kept", "k", "Keep-Alive", "timeout=5");
        ProxyHeaders.removeHopByHop(h, false);
        assertThat(h.names()).containsExactly("X-Kept");
    }

    @Test
    void removesTheListedHopByHopFieldsWithoutAConnectionField() {
        HttpHeaders h = headers("TE", "trailers", "Trailer", "X-T", "Upgrade", "h2c", "Proxy-Connection", "keep-alive",
                "Proxy-Authorization", "Basic x", "Proxy-Authenticate", "Basic", "Keep-Alive", "max=5", "Host", "a");
        ProxyHeaders.removeHopByHop(h, false);
        // Trailer announces the message's own trailer fields (RFC 9110 6.6.2): not hop-by-hop
        assertThat(h.names()).containsExactlyInAnyOrder("Trailer", "Host");
    }

    @Test
    void keepsTransferEncodingEvenWhenConnectionNamesIt() {
        // the codec re-frames the body with it on the next hop
        HttpHeaders h = headers("Connection", "close, Transfer-Encoding", "Transfer-Encoding", "chunked");
        ProxyHeaders.removeHopByHop(h, false);
        assertThat(h.get("transfer-encoding")).isEqualTo("chunked");
        assertThat(h.contains("connection")).isFalse();
    }

    @Test
    void keepsTheMessagesFramingAndHostWhateverConnectionNames() {
        HttpHeaders h = new DefaultHttpHeaders().add("Connection", "keep-alive, Content-Length, HOST, x-a")
                .add("Content-Length", "60").add("Host", "shop.example").add("X-A", "1");
        ProxyHeaders.removeHopByHop(h, false);
        assertThat(h.get("content-length")).isEqualTo("60");
        assertThat(h.get("host")).isEqualTo("shop.example");
        assertThat(h.contains("x-a")).isFalse();
        assertThat(h.contains("connection")).isFalse();
    }

    @Test
    void aWebSocketUpgradeKeepsConnectionUpgradeAndItsUpgradeField() {
        HttpHeaders h = headers("Connection", "Upgrade, X-Hop", "Upgrade", "websocket", "X-Hop", "1",
                "Sec-WebSocket-Key", "k");
        ProxyHeaders.removeHopByHop(h, true);
        assertThat(h.get("connection")).isEqualTo("upgrade");
        assertThat(h.get("upgrade")).isEqualTo("websocket");
        assertThat(h.contains("x-hop")).isFalse();
        assertThat(h.get("sec-websocket-key")).isEqualTo("k");
    }

    @Test
    void xForwardedForAppendsTheClientToEveryEarlierValueInOrder() {
        HttpHeaders h = headers("X-Forwarded-For", "203.0.113.7", "x-forwarded-for", "198.51.100.1, 10.0.0.1",
                "Host", "shop.example:8080", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "spoofed");
        ProxyHeaders.addForwarded(h, "127.0.0.1", "http");
        assertThat(h.getAll("x-forwarded-for")).containsExactly("203.0.113.7, 198.51.100.1, 10.0.0.1, 127.0.0.1");
        assertThat(h.getAll("x-forwarded-proto")).containsExactly("http");
        assertThat(h.getAll("x-forwarded-host")).containsExactly("shop.example:8080");
    }

    /** X-Real-IP is the client's address whatever the client sent (ingress-nginx's), and Proxy is dropped (httpoxy). */
    @Test
    void xRealIpIsTheClientsAddressAndAProxyFieldIsDropped() {
        HttpHeaders h = headers("X-Real-IP", "127.0.60.1", "x-real-ip", "127.0.60.2", "Proxy", "http://evil.example:8080",
                "Host", "shop.example");
        ProxyHeaders.addForwarded(h, "127.0.0.1", "http");
        assertThat(h.getAll("x-real-ip")).containsExactly("127.0.0.1");
        assertThat(h.contains("proxy")).isFalse();
    }

    @Test
    void withoutHostAClientsXForwardedHostIsDroppedAndXForwardedForIsTheClientAlone() {
        HttpHeaders h = headers("X-Forwarded-Host", "spoofed");
        ProxyHeaders.addForwarded(h, "::1", "https");
        assertThat(h.getAll("x-forwarded-for")).containsExactly("::1");
        assertThat(h.get("x-forwarded-proto")).isEqualTo("https");
        assertThat(h.contains("x-forwarded-host")).isFalse();
    }

    private static String[] originForm(String method, String target) {
        io.netty.handler.codec.http.HttpRequest r = new io.netty.handler.codec.http.DefaultHttpRequest(
                io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                io.netty.handler.codec.http.HttpMethod.valueOf(method), target);
        r.headers().set("Host", "received.example");
        return ProxyHeaders.toOriginForm(r) ? new String[] {r.uri(), r.headers().get("host")} : null;
    }

    @Test
    void anAbsoluteFormTargetBecomesItsPathAndQueryWithItsAuthorityAsHost() {
        assertThat(originForm("GET", "http://a_b.example/x/y?q=|1^")).containsExactly("/x/y?q=|1^", "a_b.example");
        assertThat(originForm("GET", "HTTPS://[::1]:8443")).containsExactly("/", "[::1]:8443");
        assertThat(originForm("GET", "http://h.example?x=1")).containsExactly("/?x=1", "h.example");
        assertThat(originForm("OPTIONS", "http://h.example")).as("nginx's /").containsExactly("/", "h.example");
        assertThat(originForm("GET", "/kept?as=is")).containsExactly("/kept?as=is", "received.example");
        for (String bad : new String[] {"ftp://h.example/x", "http://user@h.example/x", "http:///x",
                "http://h.example/x#frag", "h.example/x", "httpx://h.example/", "*"}) {
            assertThat(originForm("GET", bad)).as(bad).isNull();
        }
    }
}
