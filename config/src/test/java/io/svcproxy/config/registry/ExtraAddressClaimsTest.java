package io.svcproxy.config.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ServiceExposure;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.config.ServiceSpec;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Which listener an external address goes to when more than one Service port could take it, as the registry
 * publishes it (found by a review of the claims, helper-84). Nothing is bound here.
 */
class ExtraAddressClaimsTest {
    static List<ServicePortSpec> api(String yaml) throws Exception {
        return ServicePorts.resolve(ConfigLoader.parse("services:\n" + yaml, "api.yaml"));
    }

    static ServicePortSpec withExternal(ServicePortSpec spec, String... ips) throws Exception {
        List<InetAddress> ext = new ArrayList<>();
        for (String ip : ips) {
            ext.add(InetAddress.getByName(ip));
        }
        ServiceSpec s = spec.service();
        ServiceExposure e = s.exposure();
        ServiceExposure x = new ServiceExposure(e.type(), ext, e.loadBalancerIPs(), e.loadBalancerSourceRanges(),
                e.externalTrafficPolicy(), e.internalTrafficPolicy(), e.healthCheckNodePort());
        ServiceSpec service = new ServiceSpec(s.name(), s.namespace(), s.clusterIP(), s.selector(), s.scheduler(),
                s.schedulerFlags(), s.sessionAffinity(), s.ports(), s.endpoints(), s.maxConnections(),
                s.maxConnectionsPerClient(), s.healthCheck(), x);
        return new ServicePortSpec(spec.key(), service, spec.port(), spec.endpoints());
    }

    static List<String> ext(DesiredState state, String name) {
        return state.servicePorts().stream().filter(p -> p.service().name().equals(name))
                .flatMap(p -> p.service().exposure().externalIPs().stream()).map(InetAddress::getHostAddress)
                .toList();
    }

    static Registry registry(String config, AtomicReference<DesiredState> out) throws Exception {
        Registry r = new Registry(true, out::set);
        r.setConfig(ConfigLoader.parse(config, "svcproxy.yaml"));
        return r;
    }

    /**
     * An IPv4 single-stack Service lists an IPv6 externalIP it can never bind (ServiceAddresses serves only its
     * family's); an IPv6 Service listing the same address at the same port should keep it.
     */
    @Test
    void anAddressOfTheOtherFamilyIsNotClaimed() throws Exception {
        AtomicReference<DesiredState> out = new AtomicReference<>();
        Registry r = registry("proxy: {admin: off}\nservices: []\n", out);
        ServicePortSpec a = withExternal(api("  - {name: a, clusterIP: 127.0.10.100, ports: [{port: 45001}], "
                + "endpoints: [{ip: 127.0.0.80}]}\n").get(0), "127.0.10.102", "fd00::5");
        ServicePortSpec b = withExternal(api("  - {name: b, clusterIP: \"::1\", ports: [{port: 45001}], "
                + "endpoints: [{ip: \"::1\", port: 45081}]}\n").get(0), "fd00::5");
        r.setKubernetes(List.of(a, b), true);
        assertThat(ext(out.get(), "b")).as("b is the only one that could serve fd00::5").isNotEmpty();
    }

    /** The config file's externalIP at a port, and a Kubernetes Service's clusterIP there: the config file's. */
    @Test
    void aConfigFileExternalIpAtAKubernetesClusterIpIsGivenToOneListener() throws Exception {
        AtomicReference<DesiredState> out = new AtomicReference<>();
        Registry r = registry("proxy: {admin: off}\nservices:\n  - {name: f, clusterIP: 127.0.10.100, "
                + "externalIPs: [127.0.10.101], ports: [{port: 45002}], endpoints: [{ip: 127.0.0.80}]}\n", out);
        r.setKubernetes(api("  - {name: k, clusterIP: 127.0.10.101, ports: [{port: 45002}], "
                + "endpoints: [{ip: 127.0.0.81}]}\n"), true);
        List<String> listening = new ArrayList<>();
        for (ServicePortSpec p : out.get().servicePorts()) {
            listening.add(p.key().toString());
            for (InetAddress e : p.service().exposure().externalIPs()) {
                listening.add(e.getHostAddress() + ":" + p.key().port() + "/" + p.key().protocol());
            }
        }
        assertThat(listening).as("each address:port/protocol once").doesNotHaveDuplicates();
    }

    /** By namespace, then name: not the string "namespace/name", in which 'a-b/y' comes before 'a/x'. */
    @Test
    void claimsFollowNamespaceThenName() throws Exception {
        AtomicReference<DesiredState> out = new AtomicReference<>();
        Registry r = registry("proxy: {admin: off}\nservices: []\n", out);
        List<ServicePortSpec> list = new ArrayList<>();
        list.addAll(api("  - {name: x, namespace: a, clusterIP: 127.0.10.100, externalIPs: [127.0.10.103], "
                + "ports: [{port: 45003}], endpoints: [{ip: 127.0.0.80}]}\n"));
        list.addAll(api("  - {name: y, namespace: a-b, clusterIP: 127.0.10.101, externalIPs: [127.0.10.103], "
                + "ports: [{port: 45003}], endpoints: [{ip: 127.0.0.81}]}\n"));
        r.setKubernetes(list, true);
        assertThat(ext(out.get(), "x")).as("namespace a before a-b").containsExactly("127.0.10.103");
    }

    /**
     * The fast in-place path agrees with the full merge: a Service at the same key and place replaced by one of
     * another name (the clusterIP reused), with the same exposure.
     */
    @Test
    void inPlaceAgreesWithAFreshMergeWhenTheServiceAtAKeyChangesName() throws Exception {
        String cfg = "proxy: {admin: off}\nservices: []\n";
        AtomicReference<DesiredState> out = new AtomicReference<>();
        Registry r = registry(cfg, out);
        String a = "  - {name: a, clusterIP: 127.0.10.100, externalIPs: [127.0.10.104], ports: [{port: 45004}], "
                + "endpoints: [{ip: 127.0.0.80}]}\n";
        String c = "  - {name: c, clusterIP: 127.0.10.101, externalIPs: [127.0.10.104], ports: [{port: 45004}], "
                + "endpoints: [{ip: 127.0.0.81}]}\n";
        List<ServicePortSpec> first = new ArrayList<>(api(a));
        first.addAll(api(c));
        r.setKubernetes(first, true);
        assertThat(ext(out.get(), "a")).containsExactly("127.0.10.104");
        List<ServicePortSpec> second = new ArrayList<>(api(a.replace("name: a", "name: z")));
        second.addAll(api(c));
        r.setKubernetes(second, true);

        AtomicReference<DesiredState> fresh = new AtomicReference<>();
        registry(cfg, fresh).setKubernetes(second, true);
        assertThat(out.get().servicePorts()).isEqualTo(fresh.get().servicePorts());
    }
}
