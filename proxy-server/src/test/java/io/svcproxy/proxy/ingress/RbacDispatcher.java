package io.svcproxy.proxy.ingress;

import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The fabric8 mock API server in CRUD mode, enforcing RBAC rules on svcproxy's requests (those carrying
 * MockKubeconfig's token; the test client's carry none): a request the rules do not allow is a 403, as the API
 * server answers it; each one is recorded, and each refused one. From helper-130's review.
 */
final class RbacDispatcher extends KubernetesCrudDispatcher {
    /** The token of MockKubeconfig: requests carrying it are svcproxy's. */
    static final String SVCPROXY_AUTH = "Bearer test-token";

    volatile List<Grant> grants;
    final List<String> seen = new CopyOnWriteArrayList<>();
    final List<String> refused = new CopyOnWriteArrayList<>();

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        List<Grant> g = grants;
        if (g != null && SVCPROXY_AUTH.equals(request.getHeader("Authorization"))) {
            String attrs = attributes(request.getMethod(), request.getPath());
            seen.add(String.valueOf(attrs));
            if (attrs != null && g.stream().noneMatch(grant -> grant.allows(attrs))) {
                refused.add(attrs);
                return new MockResponse().setResponseCode(403).setBody("{\"kind\":\"Status\","
                        + "\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Forbidden\",\"message\":"
                        + "\"forbidden: " + attrs + "\",\"code\":403}");
            }
        }
        return super.dispatch(request);
    }

    /** One verb on one resource (with its subresource), in one namespace or, with {@code null}, in all. */
    record Grant(String group, String resource, String verb, String namespace) {
        boolean allows(String attrs) {
            String[] a = attrs.split(" ", -1); // group resource verb namespace
            return group.equals(a[0]) && resource.equals(a[1]) && verb.equals(a[2])
                    && (namespace == null || namespace.equals(a[3]));
        }
    }

    /**
     * The request's RBAC attributes {@code "group resource verb namespace"} (as the API server's request info
     * resolver finds them), or {@code null} for a path that is not a resource (discovery).
     */
    static String attributes(String method, String pathAndQuery) {
        String path = pathAndQuery.split("\\?")[0];
        String query = pathAndQuery.contains("?") ? pathAndQuery.substring(pathAndQuery.indexOf('?') + 1) : "";
        String[] s = path.substring(1).split("/");
        String group;
        int i;
        if (s[0].equals("api") && s.length > 2) {
            group = "";
            i = 2;
        } else if (s[0].equals("apis") && s.length > 3) {
            group = s[1];
            i = 3;
        } else {
            return null;
        }
        String namespace = "";
        if (s[i].equals("namespaces") && s.length > i + 2) {
            namespace = s[i + 1];
            i += 2;
        }
        String resource = s[i];
        String name = s.length > i + 1 ? s[i + 1] : null;
        if (s.length > i + 2) {
            resource = resource + "/" + s[i + 2];
        }
        String verb = switch (method) {
            case "GET" -> name != null ? "get" : query.contains("watch=true") || query.contains("watch=1") ? "watch"
                    : "list";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "POST" -> "create";
            case "DELETE" -> "delete";
            default -> method.toLowerCase();
        };
        return group + " " + resource + " " + verb + " " + namespace;
    }
}
