package io.svcproxy.ingress.routing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The rules of all Ingresses of the class merged into one immutable table, compiled once per reload.
 *
 * <p>A request picks its host group first: the exact host, else the one-label wildcard {@code *.rest} of its host,
 * else the rules without host. In that group the path decides: an {@code Exact} rule equal to the path, else the
 * longest {@code Prefix} (or {@code ImplementationSpecific}) rule whose path elements begin the request's. An exact
 * match is never shorter than a prefix match, so looking up exact first gives "longest wins, Exact over Prefix at
 * equal length". No path of the group matches: the default backend, else {@code null} (404). A host that has a
 * group but no matching path does not fall through to a wildcard or host-less group.
 *
 * <p>Same host and path written twice (by one Ingress or two): the first in order wins and the others are listed in
 * {@link #notices()}; likewise for several default backends.
 *
 * <p>The table also knows which hosts have a certificate (the Ingresses' TLS hosts), for {@link #redirectsToHttps}.
 */
public final class RoutingTable<B> {
    private static final RoutingTable<?> EMPTY = new RoutingTable<>(Map.of(), Map.of(), null, null, List.of(), 0,
            Set.of(), Set.of());

    private final Map<String, HostGroup<B>> exactHosts;
    private final Map<String, HostGroup<B>> wildcardHosts; // key: the suffix after "*", with its leading dot
    private final HostGroup<B> anyHost;
    private final Route<B> defaultRoute;
    private final List<String> notices;
    private final int ruleCount;
    /** The TLS hosts: exact names, and the suffixes (after {@code *}, dot first) of one-label wildcards. */
    private final Set<String> tlsHosts;
    private final Set<String> tlsWildcards;

    private RoutingTable(Map<String, HostGroup<B>> exactHosts, Map<String, HostGroup<B>> wildcardHosts,
                         HostGroup<B> anyHost, Route<B> defaultRoute, List<String> notices, int ruleCount,
                         Set<String> tlsHosts, Set<String> tlsWildcards) {
        this.exactHosts = exactHosts;
        this.wildcardHosts = wildcardHosts;
        this.anyHost = anyHost;
        this.defaultRoute = defaultRoute;
        this.notices = notices;
        this.ruleCount = ruleCount;
        this.tlsHosts = tlsHosts;
        this.tlsWildcards = tlsWildcards;
    }

    /** The table without rules: every request is a 404. */
    @SuppressWarnings("unchecked")
    public static <B> RoutingTable<B> empty() {
        return (RoutingTable<B>) EMPTY;
    }

    /** Compiles the Ingresses, in order (config file order; from the API, oldest first). */
    public static <B> RoutingTable<B> compile(List<IngressRules<B>> ingresses) {
        Map<String, GroupBuilder<B>> exact = new LinkedHashMap<>();
        Map<String, GroupBuilder<B>> wildcard = new LinkedHashMap<>();
        GroupBuilder<B> any = new GroupBuilder<>(HttpsRedirect.NEVER);
        List<String> notices = new ArrayList<>();
        Route<B> defaultRoute = null;
        int rules = 0;
        Set<String> tlsHosts = new HashSet<>();
        Set<String> tlsWildcards = new HashSet<>();
        for (IngressRules<B> ingress : ingresses) {
            for (String host : ingress.tlsHosts()) {
                String h = host.toLowerCase(Locale.ROOT);
                if (h.startsWith("*.")) {
                    tlsWildcards.add(h.substring(1));
                } else {
                    tlsHosts.add(h);
                }
            }
            if (ingress.defaultBackend() != null) {
                if (defaultRoute == null) {
                    defaultRoute = new Route<>(ingress.ingress(), "", "", null, ingress.defaultBackend(),
                            ingress.redirect());
                } else {
                    notices.add("Ignoring defaultBackend ingress=" + ingress.ingress()
                            + " (the first one is used: ingress=" + defaultRoute.ingress() + ")");
                }
            }
            for (IngressRules.Rule<B> rule : ingress.rules()) {
                GroupBuilder<B> group;
                String host = rule.host() == null ? null : rule.host().toLowerCase(Locale.ROOT);
                if (host == null) {
                    group = any;
                } else if (host.startsWith("*.")) {
                    group = wildcard.computeIfAbsent(host.substring(1), k -> new GroupBuilder<>(ingress.redirect()));
                } else {
                    group = exact.computeIfAbsent(host, k -> new GroupBuilder<>(ingress.redirect()));
                }
                String routeHost = rule.host() == null ? Route.ANY_HOST : rule.host();
                for (IngressRules.PathRule<B> p : rule.paths()) {
                    Route<B> route = new Route<>(ingress.ingress(), routeHost, p.path(), p.pathType(), p.backend(),
                            ingress.redirect());
                    Route<B> earlier = group.add(route);
                    if (earlier != null) {
                        notices.add("Ignoring duplicate path ingress=" + ingress.ingress() + " host=" + routeHost
                                + " path=" + p.path() + " pathType=" + p.pathType().apiName()
                                + " (the first one is used: ingress=" + earlier.ingress() + ")");
                    } else {
                        rules++;
                    }
                }
            }
        }
        return new RoutingTable<>(build(exact), build(wildcard), any.isEmpty() ? null : any.build(), defaultRoute,
                List.copyOf(notices), rules, Set.copyOf(tlsHosts), Set.copyOf(tlsWildcards));
    }

    private static <B> Map<String, HostGroup<B>> build(Map<String, GroupBuilder<B>> builders) {
        Map<String, HostGroup<B>> out = new HashMap<>();
        builders.forEach((k, v) -> out.put(k, v.build()));
        return Collections.unmodifiableMap(out);
    }

    /**
     * The route of a request, or {@code null} for a 404.
     *
     * @param hostHeader the Host header (HTTP/2: {@code :authority}) as received, port and case allowed
     * @param target     the request target's path, query allowed (it is ignored)
     */
    public Route<B> match(String hostHeader, String target) {
        return matchPath(hostHeader, Paths.pathOf(target));
    }

    /**
     * The route of a request whose path is given as matched: {@link RequestPath#of}'s normal form, whose decoded
     * {@code ?} or {@code #} is part of the path (no query to cut off), or {@code null} for a 404.
     */
    public Route<B> matchPath(String hostHeader, String path) {
        HostGroup<B> group = group(Hosts.normalize(hostHeader));
        if (group == null) {
            group = anyHost;
        }
        if (group != null) {
            Route<B> route = group.match(path);
            if (route != null) {
                return route;
            }
        }
        return defaultRoute;
    }

    /**
     * Whether a plain-HTTP request to {@code hostHeader} that {@code route} matched ({@code null}: none, a 404) is
     * sent to HTTPS, as ingress-nginx decides. A rule's route: never under {@link HttpsRedirect#ACME_CHALLENGE}, else
     * by its Ingress's {@link HttpsRedirect}. A request that matched none of its host's paths (a 404, or the default
     * backend): by the Ingress that first wrote a rule for the host, as ingress-nginx's server for the host has its
     * default location; a host without rules (ingress-nginx's catch-all server): never. Under
     * {@link HttpsRedirect#WITH_TLS} when the host has a certificate ({@link #hasCertificate}).
     */
    public boolean redirectsToHttps(Route<B> route, String hostHeader) {
        HttpsRedirect redirect;
        if (route != null && !route.isDefaultBackend()) {
            if (route.path().startsWith(HttpsRedirect.ACME_CHALLENGE)) {
                return false;
            }
            redirect = route.redirect();
        } else {
            redirect = hostRedirect(hostHeader);
        }
        return switch (redirect) {
            case ALWAYS -> true;
            case NEVER -> false;
            case WITH_TLS -> hasCertificate(hostHeader);
        };
    }

    /** The group of a normalized host: its exact host's, else its one-label wildcard's; {@code null} for none. */
    private HostGroup<B> group(String host) {
        HostGroup<B> group = exactHosts.get(host);
        if (group == null && !wildcardHosts.isEmpty()) {
            int dot = host.indexOf('.');
            if (dot > 0) {
                group = wildcardHosts.get(host.substring(dot));
            }
        }
        return group;
    }

    /** The redirect of the Ingress that first wrote a rule for the request's host, exact or wildcard; else never. */
    private HttpsRedirect hostRedirect(String hostHeader) {
        HostGroup<B> group = group(Hosts.normalize(hostHeader));
        return group == null ? HttpsRedirect.NEVER : group.redirect;
    }

    /** Whether an Ingress has a certificate for the request's host: an exact TLS host, else a one-label wildcard. */
    private boolean hasCertificate(String hostHeader) {
        if (tlsHosts.isEmpty() && tlsWildcards.isEmpty()) {
            return false;
        }
        String host = Hosts.normalize(hostHeader);
        if (tlsHosts.contains(host)) {
            return true;
        }
        int dot = host.indexOf('.');
        return dot > 0 && tlsWildcards.contains(host.substring(dot));
    }

    /** The default backend's route, or {@code null}. */
    public Route<B> defaultRoute() {
        return defaultRoute;
    }

    /** Lines to log once per compile: duplicates and ignored default backends. */
    public List<String> notices() {
        return notices;
    }

    /** How many host-and-path rules the table holds (duplicates not counted). */
    public int ruleCount() {
        return ruleCount;
    }

    /** The paths of one host group: exact paths as written, prefix paths without trailing slashes. */
    private static final class HostGroup<B> {
        private final Map<String, Route<B>> exactPaths;
        private final Map<String, Route<B>> prefixPaths;
        /** The redirect of the host's requests that match none of its paths. */
        private final HttpsRedirect redirect;

        HostGroup(Map<String, Route<B>> exactPaths, Map<String, Route<B>> prefixPaths, HttpsRedirect redirect) {
            this.exactPaths = exactPaths;
            this.prefixPaths = prefixPaths;
            this.redirect = redirect;
        }

        Route<B> match(String path) {
            Route<B> exact = exactPaths.get(path);
            if (exact != null) {
                return exact;
            }
            if (prefixPaths.isEmpty()) {
                return null;
            }
            String candidate = Paths.stripTrailingSlashes(path);
            while (true) {
                Route<B> prefix = prefixPaths.get(candidate);
                if (prefix != null || candidate.equals("/")) {
                    return prefix;
                }
                candidate = Paths.parent(candidate);
            }
        }
    }

    private static final class GroupBuilder<B> {
        private final Map<String, Route<B>> exactPaths = new HashMap<>();
        private final Map<String, Route<B>> prefixPaths = new HashMap<>();
        private final HttpsRedirect redirect;

        /** @param redirect that of the Ingress that first wrote a rule for the host */
        GroupBuilder(HttpsRedirect redirect) {
            this.redirect = redirect;
        }

        /** Adds the route; returns the earlier route it duplicates (and is ignored for), else {@code null}. */
        Route<B> add(Route<B> route) {
            if (route.pathType() == PathType.EXACT) {
                return exactPaths.putIfAbsent(route.path(), route);
            }
            return prefixPaths.putIfAbsent(Paths.stripTrailingSlashes(route.path()), route);
        }

        boolean isEmpty() {
            return exactPaths.isEmpty() && prefixPaths.isEmpty();
        }

        HostGroup<B> build() {
            return new HostGroup<>(Map.copyOf(exactPaths), Map.copyOf(prefixPaths), redirect);
        }
    }
}
