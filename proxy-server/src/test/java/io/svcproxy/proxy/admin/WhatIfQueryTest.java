package io.svcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The edges of {@code GET /api/v1/simulate}'s query. From helper-133's review: a repeated {@code schedulers} was
 * cut to its last value without a word, and an empty {@code port=} was a 404 for a port named "" where an empty
 * {@code service=} is a 400.
 */
class WhatIfQueryTest {
    private static final String YAML = """
            proxy: {admin: off}
            services:
              - name: web
                namespace: shop
                clusterIP: 127.0.10.27
                ports: [{name: http, port: 44000}]
                endpoints: [{ip: 127.0.0.88, port: 44001}, {ip: 127.0.0.89, port: 44001}]
            """;

    private static ServiceTable table() throws Exception {
        ServicePortSpec spec = ServicePorts.resolve(ConfigLoader.parse(YAML, "c.yaml")).get(0);
        List<BackendState> backends = new ArrayList<>();
        for (EndpointTarget t : spec.endpoints()) {
            backends.add(BackendState.of(t.ip(), t.port(), t.weight()));
        }
        BackendSet set = BackendSet.of(spec.service().scheduler(), spec.service().schedulerFlags(),
                spec.service().sessionAffinity(), backends, System::nanoTime);
        ServiceTable table = new ServiceTable();
        table.put(new ServicePort(spec, set));
        return table;
    }

    private static WhatIf.Answer ask(ServiceTable table, String query) {
        return WhatIf.answer(table, new QueryStringDecoder(WhatIf.PATH + "?" + query));
    }

    /**
     * {@code schedulers=rr&schedulers=lc} (the repeated-parameter form many HTTP APIs take for a list) answers
     * for lc alone: the earlier values are dropped without a word (WhatIf.single takes the last).
     */
    @Test
    void aRepeatedSchedulersParameterIsNotSilentlyCutToItsLastValue() throws Exception {
        WhatIf.Answer a = ask(table(), "service=shop/web&port=http&schedulers=rr&schedulers=lc");
        if (a.status().equals(HttpResponseStatus.OK)) {
            assertThat(a.body()).as("asked for rr and lc").contains("\"rr\": {", "\"lc\": {");
        } else {
            assertThat(a.status()).isEqualTo(HttpResponseStatus.BAD_REQUEST);
            assertThat(a.body()).startsWith("schedulers: given 2 times");
        }
    }

    /**
     * {@code service=} empty is a 400 "service: missing"; {@code port=} empty is a 404 "no Service port shop/web:"
     * (looked up as a port named ""), the client's malformed query answered as a missing resource.
     */
    @Test
    void anEmptyPortIsABadRequestAsAnEmptyServiceIs() throws Exception {
        WhatIf.Answer a = ask(table(), "service=shop/web&port=");
        assertThat(a.status()).as(a.body()).isEqualTo(HttpResponseStatus.BAD_REQUEST);
    }

    @Test
    void aRepeatedServiceOrPortIsABadRequestToo() throws Exception {
        WhatIf.Answer a = ask(table(), "service=shop/web&port=http&port=http");
        assertThat(a.status()).isEqualTo(HttpResponseStatus.BAD_REQUEST);
        assertThat(a.body()).startsWith("port: given 2 times");
    }
}
