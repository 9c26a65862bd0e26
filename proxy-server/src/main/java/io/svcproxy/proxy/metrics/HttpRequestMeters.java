package io.svcproxy.proxy.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The Ingress's meters ({@code svcproxy_http_requests_total{ingress,host,path,service,code}} and
 * {@code svcproxy_http_request_duration_seconds{ingress,service}}), created on first use and cached, so an event loop
 * does one map lookup per meter per request. The label values come from the rules (and the status codes), so they
 * are bounded by the configuration; meters of rules removed by a reload stay until restart, as counters may.
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
        requests.computeIfAbsent(new RequestKey(ingress, host, path, service, code), k -> Counter.builder(REQUESTS)
                .description("HTTP requests answered by the Ingress")
                .tags("ingress", k.ingress(), "host", k.host(), "path", k.path(), "service", k.service(),
                        "code", Integer.toString(k.code()))
                .register(registry)).increment();
        durations.computeIfAbsent(new DurationKey(ingress, service), k -> Timer.builder(DURATION)
                .description("From an HTTP request's headers to the end of its response")
                .tags("ingress", k.ingress(), "service", k.service())
                .serviceLevelObjectives(BUCKETS)
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }
}
