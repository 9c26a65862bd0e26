package io.svcproxy.proxy.simulate;

import io.svcproxy.balancer.sim.SchedulerResult;
import io.svcproxy.balancer.sim.Timeline;
import io.svcproxy.proxy.connlog.JsonText;

import java.util.Locale;

/** The three shapes of a simulation report: a table for people, SPEC's JSON object, and a self-contained HTML page. */
public final class Reports {
    private static final String[] COLORS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

    private Reports() {
    }

    /** Returns a fixed-point number with up to 3 decimals, the same on every machine. */
    static String number(double v) {
        String s = String.format(Locale.ROOT, "%.3f", v);
        return s;
    }

    /** Returns the table for people. */
    public static String table(SimulationRun.Report r) {
        StringBuilder b = new StringBuilder();
        b.append("Service ").append(r.service()).append(" port ").append(r.port()).append(": ")
                .append(r.connections()).append(" connections");
        if (r.skipped() > 0) {
            b.append(" (").append(r.skipped()).append(" of other Service ports left out)");
        }
        b.append('\n');
        b.append(String.format(Locale.ROOT, "%-9s %-40s %11s %7s %10s%n", "scheduler", "endpoint", "connections",
                "share", "peakActive"));
        for (SchedulerResult s : r.results()) {
            for (SchedulerResult.EndpointResult e : s.endpoints()) {
                b.append(String.format(Locale.ROOT, "%-9s %-40s %11d %7s %10d%n", s.scheduler(), e.endpoint(),
                        e.connections(), number(e.share()), e.peakActive()));
            }
            b.append(String.format(Locale.ROOT, "%-9s imbalance %s  peakImbalance %s  moved %s%s%n%n",
                    s.scheduler(), number(s.imbalance()), number(s.peakImbalance()), number(s.moved()),
                    s.refused() > 0 ? "  refused " + s.refused() : ""));
        }
        return b.toString();
    }

    /** Returns SPEC's JSON object, on one line. */
    public static String json(SimulationRun.Report r) {
        StringBuilder b = new StringBuilder();
        b.append("{\"service\": ").append(quote(r.service())).append(", \"port\": ").append(quote(r.port()))
                .append(", \"connections\": ").append(r.connections()).append(", \"schedulers\": {");
        String sep = "";
        for (SchedulerResult s : r.results()) {
            b.append(sep).append(quote(s.scheduler())).append(": {\"endpoints\": [");
            String esep = "";
            for (SchedulerResult.EndpointResult e : s.endpoints()) {
                b.append(esep).append("{\"endpoint\": ").append(quote(e.endpoint())).append(", \"connections\": ")
                        .append(e.connections()).append(", \"peakActive\": ").append(e.peakActive())
                        .append(", \"share\": ").append(number(e.share())).append('}');
                esep = ", ";
            }
            b.append("], \"imbalance\": ").append(number(s.imbalance())).append(", \"peakImbalance\": ")
                    .append(number(s.peakImbalance())).append(", \"moved\": ").append(number(s.moved()))
                    .append(", \"refused\": ").append(s.refused()).append('}');
            sep = ", ";
        }
        return b.append("}}").toString();
    }

    static String quote(String s) {
        return JsonText.quote(s);
    }

    /** Returns one self-contained HTML page (inline SVG and CSS, nothing fetched) with a chart per scheduler. */
    public static String html(SimulationRun.Report r) {
        StringBuilder b = new StringBuilder();
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>svcproxy simulate: ")
                .append(escape(r.service())).append(':').append(escape(r.port())).append("</title>\n<style>")
                .append("body{font:14px system-ui,sans-serif;margin:24px;color:#222}")
                .append("table{border-collapse:collapse;margin:8px 0}td,th{padding:2px 10px;text-align:right}")
                .append("td:first-child,th:first-child{text-align:left}th{border-bottom:1px solid #999}")
                .append(".chart{margin:8px 0 28px}.key span{display:inline-block;width:12px;height:12px;")
                .append("margin:0 4px 0 12px;vertical-align:middle}</style></head><body>\n");
        b.append("<h1>").append(escape(r.service())).append(" port ").append(escape(r.port())).append("</h1>\n<p>")
                .append(r.connections()).append(" connections replayed under ").append(r.results().size())
                .append(" scheduler(s), each from a fresh state.</p>\n");
        for (SchedulerResult s : r.results()) {
            b.append("<h2>").append(escape(s.scheduler())).append("</h2>\n<p>imbalance ")
                    .append(number(s.imbalance())).append(", peakImbalance ").append(number(s.peakImbalance()))
                    .append(", moved ").append(number(s.moved()));
            if (s.refused() > 0) {
                b.append(", refused ").append(s.refused());
            }
            b.append("</p>\n<table><tr><th>endpoint</th><th>connections</th><th>share</th><th>peakActive</th></tr>\n");
            for (SchedulerResult.EndpointResult e : s.endpoints()) {
                b.append("<tr><td><span style=\"color:").append(color(e.index())).append("\">&#9632;</span> ")
                        .append(escape(e.endpoint())).append("</td><td>").append(e.connections())
                        .append("</td><td>").append(number(e.share())).append("</td><td>").append(e.peakActive())
                        .append("</td></tr>\n");
            }
            b.append("</table>\n");
            chart(b, s);
        }
        return b.append("</body></html>\n").toString();
    }

    private static void chart(StringBuilder b, SchedulerResult s) {
        Timeline t = s.timeline();
        int w = 800;
        int h = 240;
        int left = 40;
        int bottom = 24;
        int max = 1;
        for (int i = 0; i < t.size(); i++) {
            for (SchedulerResult.EndpointResult e : s.endpoints()) {
                max = Math.max(max, t.peak(i, e.index()));
            }
        }
        double seconds = t.size() * (t.width() / 1e9);
        b.append("<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(w + left + 10)
                .append("\" height=\"").append(h + bottom + 10).append("\" role=\"img\" aria-label=\"active connections")
                .append(" per endpoint over time under ").append(escape(s.scheduler())).append("\">\n");
        b.append("<line x1=\"").append(left).append("\" y1=\"5\" x2=\"").append(left).append("\" y2=\"").append(h + 5)
                .append("\" stroke=\"#999\"/><line x1=\"").append(left).append("\" y1=\"").append(h + 5)
                .append("\" x2=\"").append(left + w).append("\" y2=\"").append(h + 5).append("\" stroke=\"#999\"/>\n");
        b.append("<text x=\"").append(left - 4).append("\" y=\"12\" text-anchor=\"end\" font-size=\"11\">").append(max)
                .append("</text><text x=\"").append(left - 4).append("\" y=\"").append(h + 5)
                .append("\" text-anchor=\"end\" font-size=\"11\">0</text>\n");
        b.append("<text x=\"").append(left).append("\" y=\"").append(h + 20).append("\" font-size=\"11\">0 s</text>")
                .append("<text x=\"").append(left + w).append("\" y=\"").append(h + 20)
                .append("\" text-anchor=\"end\" font-size=\"11\">").append(number(seconds))
                .append(" s (active connections per endpoint, peak per interval)</text>\n");
        for (SchedulerResult.EndpointResult e : s.endpoints()) {
            b.append("<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"").append(color(e.index()))
                    .append("\" points=\"");
            for (int i = 0; i < t.size(); i++) {
                double x0 = left + (double) w * i / Math.max(1, t.size());
                double x1 = left + (double) w * (i + 1) / Math.max(1, t.size());
                double y = 5 + h - (double) h * t.peak(i, e.index()) / max;
                b.append(String.format(Locale.ROOT, "%.1f,%.1f %.1f,%.1f ", x0, y, x1, y));
            }
            b.append("\"><title>").append(escape(e.endpoint())).append("</title></polyline>\n");
        }
        b.append("</svg>\n");
    }

    private static String color(int index) {
        return COLORS[index % COLORS.length];
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
