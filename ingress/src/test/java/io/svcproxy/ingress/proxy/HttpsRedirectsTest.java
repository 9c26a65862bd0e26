package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.HttpsRedirect;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code Location} of a redirect to HTTPS: host without port, the port to name, the target escaped. */
class HttpsRedirectsTest {
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);
    private final Router<ServiceBackend> router = new Router<>();
    private final RoutingTable<ServiceBackend> table = RoutingTable.compile(List.of(new IngressRules<>("default/all",
            null, List.of(new Rule<>(null, List.of(new PathRule<>("/", PathType.PREFIX, WEB)))),
            HttpsRedirect.ALWAYS, List.of())));

    private String location(String proto, int httpsPort, String host, String target) {
        ListenerSettings settings = ListenerSettings.create(router, null, IngressOptions.defaults(), proto,
                IngressMetrics.NONE);
        settings.httpsPort().set(httpsPort);
        return HttpsRedirects.location(settings, table, table.match(host, target), host, target);
    }

    @Test
    void namesTheHostWithoutItsPortTheHttpsPortUnless443AndTheTargetAsReceived() {
        assertThat(location("http", 8443, "shop.example:8080", "/a/?q=1&r=/2"))
                .isEqualTo("https://shop.example:8443/a/?q=1&r=/2");
        assertThat(location("http", 443, "Shop.Example", "/")).isEqualTo("https://Shop.Example/");
        assertThat(location("http", 443, "[::1]:8080", "/x")).isEqualTo("https://[::1]/x");
        assertThat(location("http", 443, "127.0.60.1:8080", "/x")).isEqualTo("https://127.0.60.1/x");
    }

    @Test
    void redirectsNothingWithoutAHostAPathOrAPortAndNothingOnTheHttpsListener() {
        assertThat(location("http", 0, "shop.example", "/")).as("no HTTPS port to name").isNull();
        assertThat(location("https", 443, "shop.example", "/")).isNull();
        assertThat(location("http", 443, null, "/")).as("HTTP/1.0 without Host").isNull();
        assertThat(location("http", 443, "shop.example", "*")).as("OPTIONS *").isNull();
        assertThat(location("http", 443, "[::1", "/")).isNull();
        assertThat(location("http", 443, "shop example", "/")).isNull();
        assertThat(HttpsRedirects.hostOf("[fe80::1%eth0]")).as("no zone in a Location").isNull();
    }

    @Test
    void escapesWhatCannotStandInAHeaderValue() {
        assertThat(location("http", 443, "shop.example", "/a\u0001b\u007fc d\u00e9"))
                .isEqualTo("https://shop.example/a%01b%7Fc%20d%E9");
        assertThat(HttpsRedirects.escapeControls("/\u20ac")).isEqualTo("/%E2%82%AC");
        String plain = "/already%20escaped?x=1";
        assertThat(HttpsRedirects.escapeControls(plain)).isSameAs(plain);
    }
}
