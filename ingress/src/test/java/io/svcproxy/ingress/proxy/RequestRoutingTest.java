package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.HttpsRedirect;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The decision both frontends (HTTP/1.1 and HTTP/2) take per request, in its order: the redirect to HTTPS before
 * anything else, then 404 without a rule, then the pick of the rule's Service port, 503 when it has no endpoint
 * or no port; the connection's pick context asked for only when a pick happens.
 */
class RequestRoutingTest {
    private static final ServiceBackend API = new ServiceBackend("default", "api", 80, null);
    private static final ServiceBackend EMPTY = new ServiceBackend("default", "empty", 80, null);
    private static final ServiceBackend GONE = new ServiceBackend("default", "gone", 80, null);

    private final Router<ServiceBackend> router = new Router<>();
    private final List<String> contextsAsked = new ArrayList<>();
    private final BackendSet api = set(2);
    private final Map<ServiceBackend, BackendSet> sets = Map.of(API, api, EMPTY, set(0));
    private final ListenerSettings settings = ListenerSettings.create(router, sets::get, IngressOptions.defaults(),
            "http", IngressMetrics.NONE);

    RequestRoutingTest() {
        router.update(RoutingTable.compile(List.of(
                new IngressRules<>("default/shop", null, List.of(new Rule<>("shop.example", List.of(
                        new PathRule<>("/api", PathType.PREFIX, API),
                        new PathRule<>("/empty", PathType.PREFIX, EMPTY),
                        new PathRule<>("/gone", PathType.PREFIX, GONE)))), HttpsRedirect.WITH_TLS, List.of()),
                new IngressRules<>("default/secure", null, List.of(new Rule<>("secure.example", List.of(
                        new PathRule<>("/", PathType.PREFIX, API)))), HttpsRedirect.ALWAYS, List.of()))));
    }

    private static BackendSet set(int endpoints) {
        List<BackendState> list = new ArrayList<>();
        for (int i = 0; i < endpoints; i++) {
            list.add(BackendState.of(InetAddress.getLoopbackAddress(), 8080 + i, 1));
        }
        return BackendSet.of("rr", Set.of(), SessionAffinity.NONE, list, System::nanoTime);
    }

    private RequestRouting.Decision route(String host, String path) {
        return RequestRouting.route(settings, host, path, path, () -> {
            contextsAsked.add(path);
            return PickContext.of(InetAddress.getLoopbackAddress(), 40000, InetAddress.getLoopbackAddress());
        });
    }

    @Test
    void picksTheRulesServicePortInItsSchedulersOrder() {
        RequestRouting.Decision first = route("shop.example", "/api/x");
        RequestRouting.Decision second = route("shop.example:8080", "/api/y");
        assertThat(first.status()).isNull();
        assertThat(first.route().backend()).isEqualTo(API);
        assertThat(first.target().set()).isSameAs(api);
        assertThat(List.of(first.backend().port(), second.backend().port())).as("rr").containsExactly(8080, 8081);
        assertThat(first.pickContext()).isNotNull();
        assertThat(contextsAsked).containsExactly("/api/x", "/api/y");
    }

    @Test
    void answers404WithoutARuleAnd503WithoutAnEndpointOrAPort() {
        RequestRouting.Decision none = route("other.example", "/api");
        assertThat(none.status()).isEqualTo(HttpResponseStatus.NOT_FOUND);
        assertThat(none.route()).isNull();
        RequestRouting.Decision empty = route("shop.example", "/empty");
        assertThat(empty.status()).isEqualTo(HttpResponseStatus.SERVICE_UNAVAILABLE);
        assertThat(empty.route().backend()).as("counted under its rule").isEqualTo(EMPTY);
        assertThat(empty.backend()).isNull();
        RequestRouting.Decision gone = route("shop.example", "/gone");
        assertThat(gone.status()).isEqualTo(HttpResponseStatus.SERVICE_UNAVAILABLE);
        assertThat(contextsAsked).as("no pick without a port").containsExactly("/empty");
    }

    @Test
    void redirectsToHttpsBeforeAnyPickAndOnlyWithAnHttpsPort() {
        assertThat(route("secure.example", "/a").status()).as("no HTTPS listener").isNull();
        settings.httpsPort().set(8443);
        RequestRouting.Decision redirect = route("secure.example", "/a?b=1");
        assertThat(redirect.status()).isEqualTo(HttpResponseStatus.PERMANENT_REDIRECT);
        assertThat(redirect.location()).isEqualTo("https://secure.example:8443/a?b=1");
        assertThat(redirect.route().backend()).isEqualTo(API);
        assertThat(redirect.backend()).isNull();
        assertThat(contextsAsked).containsExactly("/a");
        assertThat(route("shop.example", "/api").status()).as("its host has no certificate").isNull();
    }
}
