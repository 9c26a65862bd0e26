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
 * The edges of {@code GET /api/v1/simulate}'s query. From helper-133's review: a repeated {@code schedulers} was
 * cut to its last value without a word, and an empty {@code port=} was a 404 for a port named "" where an empty
 * {@code service=} is a 400. And a dual-stack Service, whose port is in the table once per clusterIP
 * (KubernetesServiceMapper maps every address of {@code spec.clusterIPs} under one {@code namespace/name} and port
 * name), could never be asked for: every query, the card's link included, was a 400 "has 2 ports: name one with
 * port=" although port= named the only port the Service has.
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

    private static ServicePort port(ServicePortSpec spec) {
        List<BackendState> backends = new ArrayList<>();
        for (EndpointTarget t : spec.endpoints()) {
            backends.add(BackendState.of(t.ip(), t.port(), t.weight()));
        }
        BackendSet set = BackendSet.of(spec.service().scheduler(), spec.service().schedulerFlags(),
                spec.service().sessionAffinity(), backends, System::nanoTime);
        return new ServicePort(spec, set);
    }

    private static ServiceTable table() throws Exception {
        return table(false);
    }

    /**
     * The Service, and with {@code dualStack} the same Service port at its IPv6 clusterIP with IPv6 endpoints, as
     * the Kubernetes mapper makes it (the endpoints of each family from its slices; nothing is bound here). The IPv6
     * one is put first: the table's order is not the answer's.
     */
    static ServiceTable table(boolean dualStack) throws Exception {
        ServicePortSpec v4 = ServicePorts.resolve(ConfigLoader.parse(YAML, "c.yaml")).get(0);
        ServiceTable table = new ServiceTable();
        if (dualStack) {
            ServicePortSpec v6 = new ServicePortSpec(new ServiceKey(InetAddress.getByName("fd00:10::27"),
                    v4.key().port(), v4.key().protocol()), v4.service(), v4.port(),
                    List.of(EndpointTarget.ready(InetAddress.getByName("fd00:1::88"), 44001, 1),
                            EndpointTarget.ready(InetAddress.getByName("fd00:1::89"), 44001, 1)));
            table.put(port(v6));
        }
        table.put(port(v4));
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

    /**
     * The card's link for a single-stack Service is {@code #whatif=shop/web:http} (namespace, name and port name),
     * and the API took no clusterIP: on a dual-stack Service both Service ports matched and every request was a 400.
     * Without a clusterIP the IPv4 one is replayed (the table does not know which family is the Service's primary).
     */
    @Test
    void aDualStackServicePortCanBeReplayed() throws Exception {
        WhatIf.Answer a = ask(table(true), "service=shop/web&port=http");
        assertThat(a.status()).as(a.body()).isEqualTo(HttpResponseStatus.OK);
        assertThat(a.body()).contains("\"endpoint\": \"127.0.0.88:44001\"").doesNotContain("fd00:1::88");
    }

    /** The same query on the single-stack Service answers 200: only the second family made it unanswerable. */
    @Test
    void theSameQueryOnASingleStackServiceIsAnswered() throws Exception {
        WhatIf.Answer a = ask(table(false), "service=shop/web&port=http");
        assertThat(a.status()).as(a.body()).isEqualTo(HttpResponseStatus.OK);
    }

    @Test
    void clusterIpChoosesTheOtherFamilyOfADualStackService() throws Exception {
        WhatIf.Answer a = ask(table(true), "service=shop/web&port=http&clusterIP=fd00:10:0:0::27");
        assertThat(a.status()).as(a.body()).isEqualTo(HttpResponseStatus.OK);
        assertThat(a.body()).contains("\"endpoint\": \"[fd00:1::88]:44001\"").doesNotContain("127.0.0.88");
        WhatIf.Answer v4 = ask(table(true), "service=shop/web&port=http&clusterIP=127.0.10.27");
        assertThat(v4.body()).isEqualTo(ask(table(true), "service=shop/web&port=http").body());
    }

    @Test
    void aClusterIpTheServiceDoesNotHaveIsABadRequestNamingTheOnesItHas() throws Exception {
        WhatIf.Answer a = ask(table(true), "service=shop/web&port=http&clusterIP=127.0.10.29");
        assertThat(a.status()).isEqualTo(HttpResponseStatus.BAD_REQUEST);
        assertThat(a.body()).isEqualTo("shop/web:http has no clusterIP 127.0.10.29"
                + " (expected one of: 127.0.10.27, fd00:10::27)\n");
        WhatIf.Answer notAnAddress = ask(table(false), "service=shop/web&clusterIP=web.shop");
        assertThat(notAnAddress.status()).isEqualTo(HttpResponseStatus.BAD_REQUEST);
        assertThat(notAnAddress.body()).startsWith("clusterIP: web.shop (expected: one of the Service's clusterIPs");
    }

    /**
     * An empty element in the list ({@code schedulers=,}, {@code schedulers=rr,}, {@code schedulers=rr,,lc}: a
     * trailing or doubled comma) is a 400 that names the parameter and the empty element. Before: "schedulers:  is
     * named twice" for {@code ,} (two empty names), "schedulers: unknown scheduler:  (expected: ...)" for the others,
     * naming a scheduler "" the client never wrote (helper-146).
     */
    @Test
    void anEmptyElementOfTheSchedulersListIsNamedAsSuch() throws Exception {
        for (String[] c : new String[][] {{",", "1"}, {"rr,", "2"}, {"rr,,lc", "2"}, {",rr", "1"},
                {"rr,%20", "2"}}) {
            WhatIf.Answer a = ask(table(), "service=shop/web&port=http&schedulers=" + c[0]);
            String given = c[0].replace("%20", " ");
            assertThat(a.status()).as(c[0]).isEqualTo(HttpResponseStatus.BAD_REQUEST);
            assertThat(a.body()).as(c[0]).isEqualTo("schedulers: element " + c[1] + " of \"" + given
                    + "\" is empty (expected: scheduler names separated by commas, as schedulers=rr,lc)\n");
        }
    }

    /** An empty {@code schedulers=} is a 400 as an empty {@code port=} is; left out, every scheduler is replayed. */
    @Test
    void anEmptySchedulersIsABadRequestAsAnEmptyPortIs() throws Exception {
        WhatIf.Answer a = ask(table(), "service=shop/web&port=http&schedulers=");
        assertThat(a.status()).as(a.body()).isEqualTo(HttpResponseStatus.BAD_REQUEST);
        assertThat(a.body()).isEqualTo("schedulers: missing (expected: scheduler names separated by commas, as"
                + " schedulers=rr,lc, or no schedulers= at all for every one)\n");
        WhatIf.Answer all = ask(table(), "service=shop/web&port=http");
        assertThat(all.status()).isEqualTo(HttpResponseStatus.OK);
        assertThat(all.body()).contains("\"rr\": {", "\"lc\": {");
        WhatIf.Answer spaced = ask(table(), "service=shop/web&port=http&schedulers=rr,%20lc");
        assertThat(spaced.status()).as(spaced.body()).isEqualTo(HttpResponseStatus.OK);
    }
}
