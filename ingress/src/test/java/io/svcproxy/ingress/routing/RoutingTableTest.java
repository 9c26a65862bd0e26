package io.svcproxy.ingress.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RoutingTableTest {

    /**
     * The "Examples" table of the Kubernetes Ingress documentation (concepts/services-networking/ingress, section
     * "Path types", "Examples"), row by row. Each rule's backend is named after its path and type; a request no rule
     * matches goes to the default backend {@code default}.
     */
    static Stream<Arguments> kubernetesDocsExamples() {
        return Stream.of(
                row("Prefix /", "/", "Prefix /"),
                row("Prefix /", "/anything/at/all", "Prefix /"),
                row("Exact /foo", "/foo", "Exact /foo"),
                row("Exact /foo", "/bar", "default"),
                row("Exact /foo", "/foo/", "default"),
                row("Exact /foo/", "/foo", "default"),
                row("Prefix /foo", "/foo", "Prefix /foo"),
                row("Prefix /foo", "/foo/", "Prefix /foo"),
                row("Prefix /foo/", "/foo", "Prefix /foo/"),
                row("Prefix /foo/", "/foo/", "Prefix /foo/"),
                row("Prefix /aaa/bb", "/aaa/bbb", "default"),
                row("Prefix /aaa/bbb", "/aaa/bbb", "Prefix /aaa/bbb"),
                row("Prefix /aaa/bbb/", "/aaa/bbb", "Prefix /aaa/bbb/"),  // ignores trailing slash
                row("Prefix /aaa/bbb", "/aaa/bbb/", "Prefix /aaa/bbb"),   // matches trailing slash
                row("Prefix /aaa/bbb", "/aaa/bbb/ccc", "Prefix /aaa/bbb"), // matches subpath
                row("Prefix /aaa/bbb", "/aaa/bbbxyz", "default"),         // not a string prefix
                row("Prefix /,Prefix /aaa", "/aaa/ccc", "Prefix /aaa"),
                row("Prefix /,Prefix /aaa,Prefix /aaa/bbb", "/aaa/bbb", "Prefix /aaa/bbb"),
                row("Prefix /,Prefix /aaa,Prefix /aaa/bbb", "/ccc", "Prefix /"),
                row("Prefix /aaa", "/ccc", "default"),
                row("Prefix /foo,Exact /foo", "/foo", "Exact /foo"),      // Exact over Prefix
                row("Exact /foo,Prefix /foo", "/foo", "Exact /foo"));     // in either order
    }

    @ParameterizedTest(name = "{0} on {1} -> {2}")
    @MethodSource("kubernetesDocsExamples")
    void kubernetesDocsExample(String rules, String requestPath, String expected) {
        List<PathRule<String>> paths = new ArrayList<>();
        for (String r : rules.split(",")) {
            String[] typeAndPath = r.split(" ");
            paths.add(new PathRule<>(typeAndPath[1], PathType.of(typeAndPath[0]), r));
        }
        RoutingTable<String> table = RoutingTable.compile(List.of(
                new IngressRules<>("default/example", "default", List.of(new Rule<>("foo.bar.com", paths)))));

        assertThat(table.match("foo.bar.com", requestPath).backend()).isEqualTo(expected);
    }

    private static Arguments row(String rules, String requestPath, String expected) {
        return Arguments.of(rules, requestPath, expected);
    }

    /**
     * Host rules and the default backend, as the ingress-controller conformance features "host_rules",
     * "path_rules" and "default_backend" exercise them, plus SPEC.md's details.
     */
    static Stream<Arguments> hostCases() {
        return Stream.of(
                Arguments.of("foo.bar.com", "/f", "foo"),
                Arguments.of("FOO.Bar.com", "/f", "foo"),                 // host names are case-insensitive
                Arguments.of("foo.bar.com:8080", "/f", "foo"),            // the Host header's port is ignored
                Arguments.of("foo.bar.com:80:8080", "/f", "foo"),         // host: before the first colon (nginx)
                Arguments.of("baz.bar.com:1:2", "/w", "wild"),
                Arguments.of("foo.bar.com.", "/f/x", "foo"),              // a fully qualified name
                Arguments.of("baz.bar.com", "/w", "wild"),                // wildcard of one label
                Arguments.of("a.b.bar.com", "/w", "any"),                 // not two labels
                Arguments.of("bar.com", "/w", "any"),                     // not zero labels
                Arguments.of("foo.bar.com", "/w", "default"),             // exact host, no path: default, not wildcard
                Arguments.of("foo.bar.com", "/api", "default"),           // ... nor host-less
                Arguments.of("baz.bar.com", "/nothing", "default"),       // wildcard host, no path: default
                Arguments.of("other.example", "/", "any"),                // host-less rule
                Arguments.of("", "/", "any"),                             // no Host header (HTTP/1.0)
                Arguments.of("127.0.10.150:80", "/", "any"),
                Arguments.of("[::1]:8080", "/", "any"),
                Arguments.of("other.example", "/x?q=1", "any"),
                Arguments.of("foo.bar.com", "/exact?q=/x", "exact"),      // the query is not part of the path
                Arguments.of("foo.bar.com", "/exact#frag", "exact"),
                Arguments.of("foo.bar.com", "/Exact", "default"),         // paths are case-sensitive
                Arguments.of("other.example", "/api", "api"),
                Arguments.of("other.example", "/api/v1", "api"),
                Arguments.of("other.example", "/apiv1", "any"));
    }

    @ParameterizedTest(name = "{0}{1} -> {2}")
    @MethodSource("hostCases")
    void hostRules(String host, String target, String expected) {
        RoutingTable<String> table = RoutingTable.compile(List.of(
                new IngressRules<>("default/a", "default", List.of(
                        new Rule<>("foo.bar.com", List.of(
                                new PathRule<>("/f", PathType.PREFIX, "foo"),
                                new PathRule<>("/exact", PathType.EXACT, "exact"))),
                        new Rule<>("*.bar.com", List.of(
                                new PathRule<>("/w", PathType.IMPLEMENTATION_SPECIFIC, "wild"),
                                new PathRule<>("/only-wild", PathType.PREFIX, "only-wild"))))),
                new IngressRules<>("default/b", null, List.of(
                        new Rule<>(null, List.of(
                                new PathRule<>("/", PathType.PREFIX, "any"),
                                new PathRule<>("/api", PathType.PREFIX, "api")))))));

        assertThat(table.match(host, target).backend()).isEqualTo(expected);
    }

    @Test
    void noRuleAndNoDefaultBackendIsA404() {
        RoutingTable<String> table = RoutingTable.compile(List.of(new IngressRules<>("default/a", null, List.of(
                new Rule<>("shop.example", List.of(new PathRule<>("/api", PathType.PREFIX, "api")))))));

        assertThat(table.match("shop.example", "/web")).isNull();
        assertThat(table.match("other.example", "/api")).isNull();
        assertThat(RoutingTable.<String>empty().match("shop.example", "/")).isNull();
    }

    @Test
    void routeCarriesTheLabelsOfTheMetrics() {
        RoutingTable<String> table = RoutingTable.compile(List.of(new IngressRules<>("shop/front", "web", List.of(
                new Rule<>("shop.example", List.of(new PathRule<>("/api/", PathType.PREFIX, "api"))),
                new Rule<>(null, List.of(new PathRule<>("/login", PathType.EXACT, "login")))))));

        assertThat(table.match("shop.example:443", "/api/x"))
                .isEqualTo(new Route<>("shop/front", "shop.example", "/api/", PathType.PREFIX, "api"));
        assertThat(table.match("x.example", "/login"))
                .isEqualTo(new Route<>("shop/front", "*", "/login", PathType.EXACT, "login"));
        Route<String> fallback = table.match("shop.example", "/other");
        assertThat(fallback).isEqualTo(new Route<>("shop/front", "", "", null, "web"));
        assertThat(fallback.isDefaultBackend()).isTrue();
        assertThat(table.ruleCount()).isEqualTo(2);
    }

    @Test
    void rulesOfAllIngressesAreMergedAndTheFirstWinsOnDuplicates() {
        RoutingTable<String> table = RoutingTable.compile(List.of(
                new IngressRules<>("ns/first", "web-first", List.of(
                        new Rule<>("shop.example", List.of(new PathRule<>("/api", PathType.PREFIX, "api-first"))))),
                new IngressRules<>("ns/second", "web-second", List.of(
                        new Rule<>("Shop.Example", List.of(
                                new PathRule<>("/api/", PathType.PREFIX, "api-second"),   // same prefix as /api
                                new PathRule<>("/cart", PathType.EXACT, "cart")))))));

        assertThat(table.match("shop.example", "/api/x").backend()).isEqualTo("api-first");
        assertThat(table.match("shop.example", "/cart").backend()).isEqualTo("cart");
        assertThat(table.match("shop.example", "/cart/x").backend()).isEqualTo("web-first");
        assertThat(table.notices()).containsExactly(
                "Ignoring defaultBackend ingress=ns/second (the first one is used: ingress=ns/first)",
                "Ignoring duplicate path ingress=ns/second host=Shop.Example path=/api/ pathType=Prefix"
                        + " (the first one is used: ingress=ns/first)");
        assertThat(table.ruleCount()).isEqualTo(2);
    }

    @Test
    void prefixMatchingSkipsEmptyElementsOfTheRequestPath() {
        RoutingTable<String> table = RoutingTable.compile(List.of(new IngressRules<>("ns/a", null, List.of(
                new Rule<>(null, List.of(new PathRule<>("/aaa", PathType.PREFIX, "aaa")))))));

        assertThat(table.match("h", "/aaa//bbb").backend()).isEqualTo("aaa");
        assertThat(table.match("h", "/aaa//").backend()).isEqualTo("aaa");
        assertThat(table.match("h", "//aaa")).isNull();
        assertThat(table.match("h", "*")).isNull();
    }

    @Test
    void routerPublishesANewTableToTheNextRequest() {
        Router<String> router = new Router<>();
        assertThat(router.route("shop.example", "/api")).isNull();

        router.update(RoutingTable.compile(List.of(new IngressRules<>("ns/a", null, List.of(
                new Rule<>("shop.example", List.of(new PathRule<>("/api", PathType.PREFIX, "api"))))))));

        assertThat(router.route("shop.example", "/api").backend()).isEqualTo("api");
    }

    @Test
    void badRulesAreRefusedWithTheValueAndWhatWasExpected() {
        assertThatThrownBy(() -> PathType.of("Regex"))
                .hasMessage("pathType: Regex (expected: Exact, Prefix or ImplementationSpecific)");
        assertThatThrownBy(() -> new PathRule<>("api", PathType.PREFIX, "b"))
                .hasMessage("path: api (expected: an absolute path starting with /)");
        assertThatThrownBy(() -> new Rule<>("*.*.example", List.of()))
                .hasMessageStartingWith("host: *.*.example (expected:");
        assertThatThrownBy(() -> new Rule<>("a.*.example", List.of()))
                .hasMessageStartingWith("host: a.*.example (expected:");
        assertThatThrownBy(() -> new Rule<>("shop.example:80", List.of()))
                .hasMessageStartingWith("host: shop.example:80 (expected:");
        assertThatThrownBy(() -> new Rule<>("127.0.0.1", List.of()))
                .hasMessage("host: 127.0.0.1 (expected: a DNS name, not an IP address)");
        assertThatThrownBy(() -> new Rule<>("-bad.example", List.of()))
                .hasMessageStartingWith("host: -bad.example (expected:");
    }

    /**
     * ingress-nginx's redirect decisions: a host with a certificate (exact, or a one-label wildcard, from any
     * Ingress) is redirected under the default; {@code ssl-redirect: "false"} turns it off for the Ingress's routes,
     * {@code force-ssl-redirect} turns it on without a certificate; ACME challenge paths never are; a 404 follows the
     * host's certificate.
     */
    @Test
    void redirectsToHttpsAsIngressNginxDecides() {
        PathRule<String> root = new PathRule<>("/", PathType.PREFIX, "root");
        RoutingTable<String> table = RoutingTable.compile(List.of(
                new IngressRules<>("ns/shop", null, List.of(new Rule<>("shop.example", List.of(
                        new PathRule<>("/api", PathType.PREFIX, "api")))), HttpsRedirect.WITH_TLS,
                        List.of("shop.example", "*.wild.example")),
                new IngressRules<>("ns/acme", null, List.of(new Rule<>("shop.example", List.of(
                        new PathRule<>("/.well-known/acme-challenge/token", PathType.EXACT, "acme")))),
                        HttpsRedirect.ALWAYS, List.of()),
                new IngressRules<>("ns/wild", null, List.of(new Rule<>("a.wild.example", List.of(root)),
                        new Rule<>("plain.example", List.of(root))), HttpsRedirect.WITH_TLS, List.of()),
                new IngressRules<>("ns/optout", null, List.of(new Rule<>("optout.example", List.of(root))),
                        HttpsRedirect.NEVER, List.of("optout.example")),
                new IngressRules<>("ns/forced", null, List.of(new Rule<>("forced.example", List.of(root))),
                        HttpsRedirect.ALWAYS, List.of())));

        assertThat(redirects(table, "shop.example", "/api/x")).isTrue();
        assertThat(redirects(table, "SHOP.example:8080", "/api")).isTrue();
        assertThat(redirects(table, "shop.example", "/other")).as("a 404 of a host with a certificate").isTrue();
        assertThat(redirects(table, "shop.example", "/.well-known/acme-challenge/token"))
                .as("an ACME challenge, even under force-ssl-redirect").isFalse();
        assertThat(redirects(table, "a.wild.example", "/")).as("another Ingress's wildcard certificate").isTrue();
        assertThat(redirects(table, "a.b.wild.example", "/")).as("a wildcard is one label").isFalse();
        assertThat(redirects(table, "plain.example", "/")).isFalse();
        assertThat(redirects(table, "optout.example", "/")).isFalse();
        assertThat(redirects(table, "forced.example", "/")).isTrue();
        assertThat(redirects(table, "unknown.example", "/")).isFalse();
        assertThat(RoutingTable.<String>empty().redirectsToHttps(null, "shop.example")).isFalse();
    }

    /**
     * A request that matches none of its host's paths (a 404, or the default backend) follows the Ingress that first
     * wrote a rule for the host, as ingress-nginx's default location of that host's server; the catch-all (a host
     * without rules) never redirects, whichever Ingress's default backend answers it.
     */
    @Test
    void unmatchedRequestsFollowTheFirstIngressOfTheirHost() {
        PathRule<String> api = new PathRule<>("/api", PathType.PREFIX, "api");
        RoutingTable<String> table = RoutingTable.compile(List.of(
                new IngressRules<>("ns/optout", null, List.of(new Rule<>("optout.example", List.of(api))),
                        HttpsRedirect.NEVER, List.of("optout.example")),
                new IngressRules<>("ns/forced", null, List.of(new Rule<>("forced.example", List.of(api)),
                        new Rule<>("*.wild.example", List.of(api))), HttpsRedirect.ALWAYS, List.of()),
                new IngressRules<>("ns/later", null, List.of(new Rule<>("optout.example", List.of(
                        new PathRule<>("/web", PathType.PREFIX, "web")))), HttpsRedirect.ALWAYS, List.of()),
                new IngressRules<>("ns/catchall", "default", List.of(), HttpsRedirect.ALWAYS,
                        List.of("tls.example"))));

        assertThat(redirects(table, "optout.example", "/other")).as("the host's first Ingress opted out").isFalse();
        assertThat(redirects(table, "optout.example", "/web")).as("a later Ingress's own rule").isTrue();
        assertThat(table.match("forced.example", "/other").isDefaultBackend()).isTrue();
        assertThat(redirects(table, "forced.example", "/other")).as("forced, without a certificate").isTrue();
        assertThat(redirects(table, "a.wild.example", "/other")).as("by the wildcard host's Ingress").isTrue();
        assertThat(redirects(table, "tls.example", "/")).as("the catch-all, a certificate or not").isFalse();
        assertThat(redirects(table, "none.example", "/")).isFalse();
    }

    private static boolean redirects(RoutingTable<String> table, String host, String path) {
        return table.redirectsToHttps(table.match(host, path), host);
    }
}
