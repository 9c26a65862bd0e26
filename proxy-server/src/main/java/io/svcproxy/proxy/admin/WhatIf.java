package io.svcproxy.proxy.admin;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.Schedulers;
import io.svcproxy.config.Addresses;
import io.svcproxy.proxy.connlog.ConnectionLog;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.simulate.InputException;
import io.svcproxy.proxy.simulate.Reports;
import io.svcproxy.proxy.simulate.SimulationRun;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code GET /api/v1/simulate?service=NS/NAME&port=P[&clusterIP=IP][&schedulers=rr,lc,...][&seed=N]}: the "what
 * if" card's numbers. Replays the Service port's last recorded connections ({@link ServicePort#recent()}) and
 * its TCP connections still open ({@link ServicePort#stillOpen()}) under each scheduler asked (default: every one)
 * with {@link SimulationRun#replay}, and answers with the same JSON object {@code svcproxy simulate --json} prints
 * for the same connections read from the connection log (which has the ended ones only).
 */
final class WhatIf {
    static final String PATH = "/api/v1/simulate";

    /** An answer: its status and body (JSON, or a one-line text error). */
    record Answer(HttpResponseStatus status, String contentType, String body) {
    }

    private WhatIf() {
    }

    static Answer answer(ServiceTable table, QueryStringDecoder query) {
        for (java.util.Map.Entry<String, List<String>> p : query.parameters().entrySet()) {
            if (p.getValue().size() > 1) { // taking one of them would drop the others without a word
                return bad(p.getKey() + ": given " + p.getValue().size() + " times (expected: once"
                        + (p.getKey().equals("schedulers") ? ", a list as schedulers=rr,lc)" : ")"));
            }
        }
        String service = single(query, "service");
        String port = single(query, "port");
        if (service == null || service.isEmpty()) {
            return bad("service: missing (expected: NS/NAME, as service=default/web)");
        }
        if (port != null && port.isEmpty()) {
            return bad("port: missing (expected: a port name or number, as port=http, or no port= at all)");
        }
        List<String> schedulers = new ArrayList<>();
        String names = single(query, "schedulers");
        if (names == null) {
            schedulers.addAll(Schedulers.NAMES);
        } else if (names.isBlank()) {
            return bad("schedulers: missing (expected: scheduler names separated by commas, as schedulers=rr,lc, or no"
                    + " schedulers= at all for every one)");
        } else {
            try {
                schedulers.addAll(SimulationRun.schedulerNames(names, "schedulers", "schedulers=rr,lc"));
            } catch (InputException e) {
                return bad(e.getMessage());
            }
        }
        long seed = 1;
        String seedText = single(query, "seed");
        if (seedText != null) {
            try {
                seed = Long.parseLong(seedText);
            } catch (NumberFormatException e) {
                return bad("seed: " + seedText + " (expected: an integer)");
            }
        }
        InetAddress clusterIP = null;
        String clusterIPText = single(query, "clusterIP");
        if (clusterIPText != null) {
            try {
                clusterIP = Addresses.parseIp(clusterIPText);
            } catch (IllegalArgumentException e) {
                return bad("clusterIP: " + (clusterIPText.isEmpty() ? "missing" : clusterIPText) + " (expected: one"
                        + " of the Service's clusterIPs, as clusterIP=10.96.0.10, or no clusterIP= at all)");
            }
        }
        List<ServicePort> matches = new ArrayList<>();
        List<String> known = new ArrayList<>();
        for (ServicePort p : table.servicePorts()) {
            known.add(p.serviceLabel() + ":" + p.portLabel());
            if (p.serviceLabel().equals(service) && (port == null || port.equals(p.portLabel())
                    || port.equals(Integer.toString(p.key().port())))) {
                matches.add(p);
            }
        }
        String what = service + (port == null ? "" : ":" + port);
        if (matches.isEmpty()) {
            return new Answer(HttpResponseStatus.NOT_FOUND, AdminHandler.TEXT, "no Service port " + what
                    + " (expected one of: " + String.join(", ", known.stream().distinct().toList()) + ")\n");
        }
        // a dual-stack Service has each port once per clusterIP (KubernetesServiceMapper): one clusterIP is replayed
        List<InetAddress> clusterIPs = clusterIPs(matches);
        if (clusterIP == null) {
            clusterIP = clusterIPs.get(0);
        } else if (!clusterIPs.contains(clusterIP)) {
            return bad(what + " has no clusterIP " + Backends.formatIp(clusterIP) + " (expected one of: "
                    + String.join(", ", clusterIPs.stream().map(Backends::formatIp).toList()) + ")");
        }
        InetAddress chosen = clusterIP;
        matches.removeIf(p -> !p.key().clusterIP().equals(chosen));
        if (matches.size() > 1) {
            return bad(what + " has " + matches.size() + " ports: name one with port=");
        }
        ServicePort servicePort = matches.get(0);
        try {
            // the ended ones first: a connection ending in between is then in one list at most (ServicePort#stillOpen)
            List<ConnectionLog.Entry> ended = servicePort.recent().snapshot();
            SimulationRun.Report report = SimulationRun.replay(servicePort.spec(), ended, servicePort.stillOpen(),
                    schedulers, seed);
            return new Answer(HttpResponseStatus.OK, AdminHandler.JSON, Reports.json(report));
        } catch (InputException e) {
            return bad(e.getMessage().replaceFirst("^--schedulers", "schedulers"));
        }
    }

    /**
     * Returns the clusterIPs of {@code ports}, each once, in the order a query without {@code clusterIP=} takes the
     * first of: IPv4 before IPv6, then by address. The table does not keep the order of the Service's {@code
     * spec.clusterIPs} (which family is its primary), so the default is IPv4's, the primary family of most
     * dual-stack clusters.
     */
    private static List<InetAddress> clusterIPs(List<ServicePort> ports) {
        List<InetAddress> out = new ArrayList<>();
        for (ServicePort p : ports) {
            if (!out.contains(p.key().clusterIP())) {
                out.add(p.key().clusterIP());
            }
        }
        out.sort(Backends::compareAddresses);
        return out;
    }

    /** Returns a parameter's value ({@link #answer} refused a repeated one), or {@code null} when not given. */
    private static String single(QueryStringDecoder query, String name) {
        List<String> values = query.parameters().get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    private static Answer bad(String message) {
        return new Answer(HttpResponseStatus.BAD_REQUEST, AdminHandler.TEXT, message + "\n");
    }
}
