package io.svcproxy.config.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.config.ServiceSpec;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The registry follows a sequence of Kubernetes lists (endpoints changed in place, Services added and removed,
 * keys the config file also serves, externalIPs that several Services and the config file list) to exactly the state
 * a fresh registry computes from the last list alone: its shortcut for changes in place gives the same answer as the
 * full merge, claims of shared addresses included.
 */
class RegistryChangesPropertiesTest {
    /** The config file serves 127.0.10.1:80 and 127.0.10.2:80; Kubernetes Services 0-1 claim the same keys. */
    private static final String CONFIG = """
            proxy: {scheduler: lc}
            services:
              - {name: file-a, clusterIP: 127.0.10.1, externalIPs: [127.0.10.52], ports: [{port: 80}],
                 endpoints: [{ip: 127.0.0.1}]}
              - {name: file-b, clusterIP: 127.0.10.2, ports: [{port: 80}], endpoints: [{ip: 127.0.0.2}]}
            """;
    private static final int SERVICES = 12;

    /** The externalIPs a Service may list: none, two that Services share, one the config file lists. */
    private static final String[] EXTERNAL = {null, "127.0.10.50", "127.0.10.51", "127.0.10.52"};

    /**
     * One step: which Service, and what happens to it (0 new endpoints, 1 added or removed, 2 a scheduler, 3 its
     * externalIP: {@code endpoints} picks it).
     */
    record Step(int service, int kind, int endpoints) {
    }

    @Property(tries = 200)
    void followingTheChangesGivesWhatAFreshRegistryGives(@ForAll("steps") List<Step> steps) throws Exception {
        ProxyConfig config = ConfigLoader.parse(CONFIG, "svcproxy.yaml");
        AtomicReference<DesiredState> followed = new AtomicReference<>();
        Registry registry = new Registry(true, followed::set);
        registry.setConfig(config);
        ServicePortSpec[] present = new ServicePortSpec[SERVICES];
        String[] external = new String[SERVICES];
        for (int i = 0; i < SERVICES; i += 2) {
            external[i] = EXTERNAL[i % 3];
            present[i] = spec(i, 1, null, external[i]);
        }
        registry.setKubernetes(list(present), true);
        int generation = 1;
        for (Step step : steps) {
            int i = step.service();
            generation++;
            switch (step.kind()) {
                case 0 -> present[i] = present[i] == null ? null
                        : spec(i, step.endpoints(), schedulerOf(present[i]), external[i]);
                case 1 -> present[i] = present[i] == null ? spec(i, step.endpoints(), null, external[i]) : null;
                case 2 -> present[i] = present[i] == null ? null
                        : spec(i, present[i].endpoints().size(), generation % 2 == 0 ? "sh" : null, external[i]);
                default -> {
                    external[i] = EXTERNAL[step.endpoints() % EXTERNAL.length];
                    present[i] = present[i] == null ? null
                            : spec(i, present[i].endpoints().size(), schedulerOf(present[i]), external[i]);
                }
            }
            List<ServicePortSpec> list = list(present);
            registry.setKubernetes(list, true);

            AtomicReference<DesiredState> fresh = new AtomicReference<>();
            Registry reference = new Registry(true, fresh::set);
            reference.setConfig(config);
            reference.setKubernetes(list, true);
            assertThat(followed.get().servicePorts()).isEqualTo(fresh.get().servicePorts());
        }
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        return Arbitraries.integers().between(0, SERVICES - 1).flatMap(service -> Arbitraries.integers()
                .between(0, 3).flatMap(kind -> Arbitraries.integers().between(0, 4)
                        .map(endpoints -> new Step(service, kind, endpoints))))
                .list().ofMaxSize(30);
    }

    private static String schedulerOf(ServicePortSpec spec) {
        return spec.service().scheduler();
    }

    private static List<ServicePortSpec> list(ServicePortSpec[] present) {
        List<ServicePortSpec> list = new ArrayList<>();
        for (ServicePortSpec spec : present) {
            if (spec != null) {
                list.add(spec);
            }
        }
        return list;
    }

    /** Service {@code i} as the Kubernetes source gives it: a new object each time, on the key of its index. */
    private static ServicePortSpec spec(int i, int endpoints, String scheduler, String external) throws Exception {
        // Services 0 and 1 sit on the config file's keys; the others on their own
        String yaml = "services:\n  - name: k8s-" + i + "\n    clusterIP: 127.0.10." + (i < 2 ? i + 1 : 10 + i)
                + (external == null ? "" : "\n    externalIPs: [" + external + "]")
                + "\n    ports: [{port: 80}]\n    endpoints: [{ip: 127.0.0.100}]\n";
        ServicePortSpec shape = ServicePorts.resolve(ConfigLoader.parse(yaml, "k8s.yaml")).get(0);
        ServiceSpec s = shape.service();
        ServiceSpec service = new ServiceSpec(s.name(), s.namespace(), s.clusterIP(), s.selector(), scheduler,
                s.schedulerFlags(), s.sessionAffinity(), s.ports(), s.endpoints(), s.maxConnections(),
                s.maxConnectionsPerClient(), s.healthCheck(), s.exposure());
        List<EndpointTarget> targets = new ArrayList<>();
        for (int e = 0; e < endpoints; e++) {
            targets.add(EndpointTarget.ready(InetAddress.getByName("127.0.0." + (100 + e)), 8080, 1));
        }
        return new ServicePortSpec(shape.key(), service, shape.port(), targets);
    }
}
