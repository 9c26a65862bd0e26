package io.svcproxy.proxy.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The Ingress's meters ({@code svcproxy_http_requests_total{ingress,host,path,service,code}} and
 * {@code svcproxy_http_request_duration_seconds{ingress,service}}), created on first use and cached; the Ingress
 * holds a {@link #meter} per rule, so a request costs an array read, a counter increment and a timer record. The
 * label values come from the rules (and the status codes), so they are bounded by the configuration: meters of rules
 * removed by a reload stay while their Ingress does, as counters may, and go with it ({@link #retain}: the API's
 * Ingresses come and go, cert-manager's HTTP-01 solvers one per certificate).
 */
final class HttpRequestMeters {
    /** {@code svcproxy_http_requests_total}: counter; ingress, host, path, service, code. */
    static final String REQUESTS = "svcproxy.http.requests";
    /** {@code svcproxy_http_request_duration_seconds}: histogram; ingress, service. */
    static final String DURATION = "svcproxy.http.request.duration";

    /** From a cached response on loopback (tens of microseconds) to the default responseTimeout (60 s). */
    private static final Duration[] BUCKETS = {
        Duration.ofNanos(250_000), Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5),
        Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
        Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500),
        Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60),
    };

    private record RequestKey(String ingress, String host, String path, String service, int code) {
    }

    private record DurationKey(String ingress, String service) {
    }

    private final MeterRegistry registry;
    private final Map<RequestKey, Counter> requests = new ConcurrentHashMap<>();
    private final Map<DurationKey, Timer> durations = new ConcurrentHashMap<>();

    HttpRequestMeters(MeterRegistry registry) {
        this.registry = registry;
    }

    void record(String ingress, String host, String path, String service, int code, long nanos) {
        counter(ingress, host, path, service, code).increment();
        timer(ingress, service).record(nanos, TimeUnit.NANOSECONDS);
    }

    /** The meters of one rule's labels, resolved once (the counter of each status code on its first use). */
    ProxyMetrics.HttpRequestMeter meter(String ingress, String host, String path, String service) {
        Timer timer = timer(ingress, service);
        // by status code 100-599; a race between event loops resolves the same counter twice, harmlessly
        Counter[] byCode = new Counter[500];
        return (code, nanos) -> {
            Counter c = code >= 100 && code < 600 ? byCode[code - 100] : null;
            if (c == null) {
                c = counter(ingress, host, path, service, code);
                if (code >= 100 && code < 600) {
                    byCode[code - 100] = c;
                }
            }
            c.increment();
            timer.record(nanos, TimeUnit.NANOSECONDS);
        };
    }

    /** Removes the meters of every Ingress but those of {@code ingresses}, and keeps the 404s' (ingress {@code ""}). */
    void retain(java.util.Set<String> ingresses) {
        removeAbsent(requests, RequestKey::ingress, ingresses);
        removeAbsent(durations, DurationKey::ingress, ingresses);
    }

    /** Unregisters and drops the meters of {@code meters} whose Ingress is neither the 404s' nor in {@code present}. */
    private <K> void removeAbsent(Map<K, ? extends Meter> meters, java.util.function.Function<K, String> ingressOf,
                                  java.util.Set<String> present) {
        meters.entrySet().removeIf(e -> {
            String ingress = ingressOf.apply(e.getKey());
            if (ingress.isEmpty() || present.contains(ingress)) {
                return false;
            }
            registry.remove(e.getValue());
            return true;
        });
    }

    private Counter counter(String ingress, String host, String path, String service, int code) {
        RequestKey key = new RequestKey(ingress, host, path, service, code);
        return requests.computeIfAbsent(key, k -> Counter.builder(REQUESTS)
                .description("HTTP requests answered by the Ingress")
                .tags("ingress", k.ingress(), "host", k.host(), "path", k.path(), "service", k.service(),
                        "code", Integer.toString(k.code()))
                .register(registry));
    }

    private Timer timer(String ingress, String service) {
        return durations.computeIfAbsent(new DurationKey(ingress, service), k -> Timer.builder(DURATION)
                .description("From an HTTP request's headers to the end of its response")
                .tags("ingress", k.ingress(), "service", k.service())
                .serviceLevelObjectives(BUCKETS)
                .register(registry));
    }
}
