package io.svcproxy.ingress.routing;

import java.util.Locale;

/** How an Ingress path is compared with a request's path (networking.k8s.io/v1 {@code pathType}). */
public enum PathType {
    /** The whole path, case-sensitive. */
    EXACT("Exact"),
    /** Path elements split by {@code /}; a trailing slash in the rule is ignored. */
    PREFIX("Prefix"),
    /** Left to the implementation: treated as {@link #PREFIX}, as SPEC.md says. */
    IMPLEMENTATION_SPECIFIC("ImplementationSpecific");

    private final String apiName;

    PathType(String apiName) {
        this.apiName = apiName;
    }

    /** The name in the Kubernetes API and the config file. */
    public String apiName() {
        return apiName;
    }

    /** Parses the API name; throws with the value and the expected names. */
    public static PathType of(String apiName) {
        for (PathType t : values()) {
            if (t.apiName.equals(apiName)) {
                return t;
            }
        }
        throw new IllegalArgumentException("pathType: " + apiName + " (expected: Exact, Prefix or ImplementationSpecific)");
    }

    boolean exact() {
        return this == EXACT;
    }

    @Override
    public String toString() {
        return apiName.toLowerCase(Locale.ROOT);
    }
}
