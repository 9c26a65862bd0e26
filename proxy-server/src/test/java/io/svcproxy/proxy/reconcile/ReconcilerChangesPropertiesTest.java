package io.svcproxy.proxy.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.proxy.dataplane.DataPlaneSettings;
import io.svcproxy.proxy.dataplane.ListenerManager;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Whatever the sequence of desired lists (endpoints replaced in place, which takes the reconciler's shortcut,
 * Service ports added and removed, which take the full pass), the data plane serves exactly the last list: one
 * bound port per key, each with the last spec's endpoints and scheduler.
 */
class ReconcilerChangesPropertiesTest {
    private static final int PORTS = 6;
    private static final String[] SCHEDULERS = {"rr", "lc", "mh"};

    /** One step: which Service port, and what happens to it (0-1 new endpoints or scheduler, 2 added/removed). */
    record Step(int port, int kind, int endpoints) {
    }

    @Property(tries = 40)
    void theDataPlaneServesTheLastList(@ForAll("steps") List<Step> steps) throws Exception {
        ProxyConfig settings = ConfigLoader.parse("proxy: {admin: off}\nservices: []\n", "test.yaml");
        ListenerManager listeners = new ListenerManager(Transport.select(), 1, ProxyMetrics.NOOP,
                DataPlaneSettings.of(settings));
        ServiceTable table = new ServiceTable();
        Reconciler reconciler = new Reconciler(table, listeners, ProxyMetrics.NOOP, System::nanoTime);
        try {
            ServicePortSpec[] present = new ServicePortSpec[PORTS];
            for (int i = 0; i < PORTS; i += 2) {
                present[i] = spec(i, 2, 0);
            }
            applyAndCheck(reconciler, table, present);
            int generation = 0;
            for (Step step : steps) {
                int i = step.port();
                generation++;
                if (step.kind() == 2) {
                    present[i] = present[i] == null ? spec(i, step.endpoints(), generation) : null;
                } else if (present[i] != null) {
                    present[i] = spec(i, step.endpoints(), generation);
                }
                applyAndCheck(reconciler, table, present);
            }
        } finally {
            listeners.close();
        }
    }

    private static void applyAndCheck(Reconciler reconciler, ServiceTable table, ServicePortSpec[] present) {
        List<ServicePortSpec> desired = new ArrayList<>();
        for (ServicePortSpec spec : present) {
            if (spec != null) {
                desired.add(spec);
            }
        }
        assertThat(reconciler.apply(desired, Duration.ofMinutes(5))).isEmpty();
        assertThat(Set.copyOf(table.keys())).isEqualTo(desired.stream().map(ServicePortSpec::key)
                .collect(Collectors.toSet()));
        for (ServicePortSpec spec : desired) {
            ServicePort port = table.get(spec.key());
            assertThat(port.spec()).isEqualTo(spec);
            assertThat(port.backendSet().backends().stream().filter(b -> b.state() == BackendState.State.READY)
                    .map(BackendState::endpoint).toList())
                    .isEqualTo(spec.endpoints().stream().map(t -> t.ip().getHostAddress() + ":" + t.port()).toList());
        }
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        return Arbitraries.integers().between(0, PORTS - 1).flatMap(port -> Arbitraries.integers().between(0, 2)
                .flatMap(kind -> Arbitraries.integers().between(0, 3).map(n -> new Step(port, kind, n))))
                .list().ofMaxSize(25);
    }

    /** Service port {@code i} on 127.0.10.46, a new object each time, with {@code n} endpoints. */
    private static ServicePortSpec spec(int i, int n, int generation) throws Exception {
        StringBuilder endpoints = new StringBuilder();
        for (int e = 0; e < n; e++) {
            endpoints.append(e == 0 ? "" : ", ").append("{ip: 127.0.0.4").append(e).append(", port: ")
                    .append(8080 + generation % 3).append("}");
        }
        String yaml = "services:\n  - name: p" + i + "\n    clusterIP: 127.0.10.46\n    scheduler: "
                + SCHEDULERS[generation % SCHEDULERS.length] + "\n    ports: [{port: " + (18460 + i) + "}]\n"
                + "    endpoints: [" + endpoints + "]\n";
        return ServicePorts.resolve(ConfigLoader.parse(yaml, "test.yaml")).get(0);
    }
}
