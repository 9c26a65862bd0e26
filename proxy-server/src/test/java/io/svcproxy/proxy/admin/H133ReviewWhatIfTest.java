package io.svcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * helper-133's review of {@code GET /api/v1/simulate} (the "what if" card): a dual-stack Service, whose Service port
 * is in the table once per clusterIP (KubernetesServiceMapper maps every address of {@code spec.clusterIPs}) under
 * one {@code namespace/name} and port name, can never be asked for; and the query's edges.
 */
class H133ReviewWhatIfTest {
    private static final String YAML = """
            proxy: {admin: off}
            services:
              - name: web
                namespace: shop
                clusterIP: 127.0.10.27
                ports: [{name: http, port: 44000}]
                endpoints: [{ip: 127.0.0.88, port: 44001}, {ip: 127.0.0.89, port: 44001}]
            """;

    private static ServicePort port(ServicePortSpec spec) {
        List<BackendState> backends = new ArrayList<>();
        for (EndpointTarget t : spec.endpoints()) {
            backends.add(BackendState.of(t.ip(), t.port(), t.weight()));
        }
        BackendSet set = BackendSet.of(spec.service().scheduler(), spec.service().schedulerFlags(),
                spec.service().sessionAffinity(), backends, System::nanoTime);
        return new ServicePort(spec, set);
    }

    private static ServiceTable table(boolean dualStack) throws Exception {
        ServicePortSpec v4 = ServicePorts.resolve(ConfigLoader.parse(YAML, "c.yaml")).get(0);
        ServiceTable table = new ServiceTable();
        table.put(port(v4));
        if (dualStack) {
            // the same Service port at its IPv6 clusterIP, as the Kubernetes mapper makes it (nothing is bound here)
            ServicePortSpec v6 = new ServicePortSpec(new ServiceKey(InetAddress.getByName("fd00:10::27"),
                    v4.key().port(), v4.key().protocol()), v4.service(), v4.port(), v4.endpoints());
            table.put(port(v6));
        }
        return table;
    }

    private static WhatIf.Answer ask(ServiceTable table, String query) {
        return WhatIf.answer(table, new QueryStringDecoder(WhatIf.PATH + "?" + query));
    }

    /**
     * The card's link is {@code #whatif=shop/web:http} for both families (whatif.js whatIfLink: namespace, name and
     * port name), and the API takes no clusterIP: both Service ports match and every request, the card's included,
     * is a 400 "has 2 ports: name one with port=" although port= names the only port the Service has.
     */
    @Test
    void aDualStackServicePortCanBeReplayed() throws Exception {
        WhatIf.Answer a = ask(table(true), "service=shop/web&port=http");
        assertThat(a.status()).as(a.body()).isEqualTo(HttpResponseStatus.OK);
    }

    /** The same query on the single-stack Service answers 200: only the second family makes it unanswerable. */
    @Test
    void theSameQueryOnASingleStackServiceIsAnswered() throws Exception {
        WhatIf.Answer a = ask(table(false), "service=shop/web&port=http");
        assertThat(a.status()).as(a.body()).isEqualTo(HttpResponseStatus.OK);
    }
}
