package io.svcproxy.proxy.admin;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import java.util.List;

/**
 * Renders {@code GET /}: a self-contained HTML page (no scripts, no external assets) with one table row per
 * endpoint of every Service port and links to the other admin paths. It is built on the server from the same
 * live objects as {@code /api/v1/services}; a browser refreshes it every 5 seconds.
 */
final class StatusPage {
    private StatusPage() {
    }

    static String render(ServiceTable table) {
        List<ServicePort> ports = table.servicePorts();
        StringBuilder html = new StringBuilder(4096);
        html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta http-equiv=\"refresh\" content=\"5\"><title>svcproxy</title><style>")
                .append("body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}")
                .append("th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}")
                .append("td.n{text-align:right}th{background:#eee}.draining{color:#a60}</style></head><body>\n")
                .append("<h1>svcproxy</h1>\n<p>config version ").append(table.version()).append(" &middot; ")
                .append(table.isReady() ? "ready" : "<strong>not ready</strong>").append(" &middot; ")
                .append(ports.size()).append(" Service port").append(ports.size() == 1 ? "" : "s").append("</p>\n")
                .append("<p><a href=\"/metrics\">/metrics</a> &middot; <a href=\"/api/v1/services\">")
                .append("/api/v1/services</a> &middot; <a href=\"/healthz\">/healthz</a> &middot; ")
                .append("<a href=\"/readyz\">/readyz</a></p>\n")
                .append("<table>\n<tr><th>service</th><th>port</th><th>address</th><th>scheduler</th>")
                .append("<th>affinity</th><th>endpoint</th><th>weight</th><th>state</th><th>active</th>")
                .append("<th>inactive</th><th>total</th></tr>\n");
        for (ServicePort port : ports) {
            BackendSet set = port.backendSet();
            List<BackendState> backends = set == null ? List.of() : set.backends();
            String head = "<tr><td>" + escape(port.serviceLabel()) + "</td><td>" + escape(port.portLabel())
                    + "</td><td>" + escape(port.key().toString()) + "</td><td>"
                    + escape(set == null ? port.spec().service().scheduler() : set.schedulerName()) + "</td><td>"
                    + escape((set == null ? port.spec().service().sessionAffinity() : set.affinity()).label())
                    + "</td>";
            if (backends.isEmpty()) {
                html.append(head).append("<td colspan=\"6\"><em>no endpoints</em></td></tr>\n");
                continue;
            }
            for (BackendState backend : backends) {
                String state = backend.state().label();
                html.append(head)
                        .append("<td>").append(escape(backend.endpoint())).append("</td>")
                        .append("<td class=\"n\">").append(backend.weight()).append("</td>")
                        .append("<td class=\"").append(state).append("\">").append(state).append("</td>")
                        .append("<td class=\"n\">").append(backend.counters().active()).append("</td>")
                        .append("<td class=\"n\">").append(backend.counters().inactive()).append("</td>")
                        .append("<td class=\"n\">").append(backend.counters().total()).append("</td></tr>\n");
            }
        }
        return html.append("</table>\n</body></html>\n").toString();
    }

    static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
