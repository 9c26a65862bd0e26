package io.svcproxy.proxy.simulate;

import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.sim.Connection;
import io.svcproxy.balancer.sim.EndpointChange;
import io.svcproxy.balancer.sim.SchedulerResult;
import io.svcproxy.balancer.sim.Simulation;
import io.svcproxy.balancer.sim.Target;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.proxy.connlog.ConnectionLog;
import io.svcproxy.proxy.connlog.OpenConnection;
import io.svcproxy.proxy.connlog.RecentConnections;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One {@code simulate} run: chooses the Service port, reads the events and the trace, puts the trace in start
 * order and replays it under each scheduler.
 */
public final class SimulationRun {
    /**
     * What a run found.
     *
     * @param service {@code ns/name}
     * @param port the port's label (name, or number when unnamed)
     * @param connections the trace's connections replayed (of this Service port)
     * @param skipped the trace's connections of other Service ports, left out
     * @param results one per scheduler, in the order asked
     * @param cutLine {@code FILE:LINE} of a connection log's last line left out as cut short, or {@code null}
     */
    public record Report(String service, String port, long connections, long skipped,
                         List<SchedulerResult> results, String cutLine, String unlisted) {
        public Report(String service, String port, long connections, long skipped, List<SchedulerResult> results) {
            this(service, port, connections, skipped, results, null, null);
        }
    }

    private SimulationRun() {
    }

    /**
     * Runs the simulation.
     *
     * @param service {@code ns/name[:port]} or {@code null}
     * @param schedulers the schedulers, or empty for the configured one
     * @param events EVENTS.yaml or {@code null}
     * @param seed the seed of the {@code random} scheduler
     * @throws InputException bad trace, events or choice of Service, as {@code FILE:LINE: message}
     */
    public static Report run(ProxyConfig config, String configFile, Path trace, String service,
                             List<String> schedulers, Path events, long seed) throws IOException, InputException {
        List<ServicePortSpec> ports = ServicePorts.resolve(config);
        try (TraceReader reader = new TraceReader(trace); StartOrder order = new StartOrder()) {
            TraceRow first = reader.next();
            ServicePortSpec chosen = choose(ports, configFile, service, first, reader.file());
            String serviceName = chosen.service().qualifiedName();
            String portLabel = chosen.port().label();
            String portNumber = Integer.toString(chosen.port().port());
            Set<String> endpoints = new LinkedHashSet<>();
            for (Target t : targets(chosen)) {
                endpoints.add(Backends.format(t.address(), t.port()));
            }
            List<EndpointChange> changes = events == null ? List.of() : EventsReader.read(events, endpoints);
            Set<String> known = new java.util.HashSet<>(endpoints);
            for (EndpointChange c : changes) {
                known.add(Backends.format(c.address(), c.port()));
            }
            Set<String> inConfig = new java.util.HashSet<>();
            for (ServicePortSpec p : ports) {
                String name = p.service().qualifiedName();
                inConfig.add(name);
                inConfig.add(name + ":" + p.port().label());
                inConfig.add(name + ":" + p.port().port());
            }
            long skipped = 0;
            long unlisted = 0;
            String firstUnlisted = null;
            for (TraceRow r = first; r != null; r = reader.next()) {
                boolean other = r.service() != null && !r.service().equals(serviceName)
                        || r.port() != null && !r.port().equals(portLabel) && !r.port().equals(portNumber);
                if (other) {
                    // another Service port of the config is left out (a trace of several, replayed one at a time);
                    // one the config does not have is a typo or the wrong config, at its line as in the first row
                    String what = (r.service() == null ? serviceName : r.service())
                            + (r.port() == null ? "" : ":" + r.port());
                    if (!inConfig.contains(what)) {
                        throw new InputException(reader.file(), r.line(), "no Service port " + what
                                + " in the config (expected one of: " + labels(ports) + ")");
                    }
                    skipped++;
                    continue;
                }
                order.add(r);
                String endpoint = reader.endpoint(); // r's: the reader moves on at the loop's next()
                if (endpoint != null && !known.contains(endpoint)) {
                    unlisted++;
                    if (firstUnlisted == null) {
                        firstUnlisted = reader.file() + ":" + r.line() + ": " + endpoint;
                    }
                }
            }
            if (order.rows() == 0 && skipped == 0) {
                // nothing to replay is the wrong file (or a log not written to yet), not a report of zeros
                if (reader.cutLine() != null) {
                    throw new InputException(reader.file(), reader.lines(), "no connections in it: its only entry"
                            + " is cut short (a log still being written)");
                }
                throw new InputException(reader.file(), reader.lines() + 1, "no connections in it (expected: a CSV"
                        + " header line and a row per connection, or the connection log's lines)");
            }
            // removed endpoints' connections are cut at the config's drainTimeout, as the proxy cuts them
            Simulation sim = simulation(chosen, schedulers, changes, seed)
                    .drainTimeout(config.proxy().drainTimeout());
            order.replay(sim::accept);
            String note = unlisted == 0 ? null : firstUnlisted + " (and " + (unlisted - 1) + " more of "
                    + order.rows() + " connections) went to an endpoint the config does not list for " + serviceName
                    + ": the replay decides over the config's endpoints, not the ones of the log";
            return new Report(serviceName, portLabel, order.rows(), skipped, sim.finish(), reader.cutLine(), note);
        }
    }

    /**
     * Replays the connections a Service port recorded in memory ({@link RecentConnections}), as {@link #run}
     * replays the same connections read back from the connection log: times cut to the log's microseconds, in
     * start order, ties in the order they ended (the log's line order). The connections still {@code open} are
     * replayed too, each holding its endpoint from its start to the end of the replay (as the proxy's counts hold
     * it: lc, wlc, sed and nq see its endpoint busy), after the ended ones of the same start.
     *
     * @param open connections not ended, by start; none of them among {@code recorded}
     * @param schedulers the schedulers, or empty for the configured one
     * @throws InputException an unknown scheduler, as {@code --schedulers: message}
     */
    public static Report replay(ServicePortSpec spec, List<ConnectionLog.Entry> recorded, List<OpenConnection> open,
                                List<String> schedulers, long seed) throws InputException {
        List<Connection> connections = new ArrayList<>(recorded.size() + open.size());
        for (ConnectionLog.Entry e : recorded) {
            connections.add(new Connection(micros(e.startEpochNanos()), e.clientAddress(), e.clientPort(),
                    micros(e.durationNanos())));
        }
        for (OpenConnection o : open) {
            // open-ended: Connection.end() saturates, so it is released only when the replay finishes
            connections.add(new Connection(micros(o.startEpochNanos()), o.clientAddress(), o.clientPort(),
                    Long.MAX_VALUE));
        }
        connections.sort(java.util.Comparator.comparingLong(Connection::start)); // stable: ties keep end order
        Simulation sim = simulation(spec, schedulers, List.of(), seed);
        connections.forEach(sim::accept);
        return new Report(spec.service().qualifiedName(), spec.port().label(), connections.size(), 0, sim.finish());
    }

    /**
     * The scheduler names of a comma-separated {@code list}, each stripped. An empty element (a trailing or doubled
     * comma: {@code rr,}, {@code rr,,lc}) is refused as such, {@code WHERE: element N of "LIST" is empty}, not
     * taken for a scheduler "" ("unknown scheduler: ", or "named twice" for {@code ,}). Used by {@code --schedulers}
     * and {@code schedulers=} alike, {@code example} showing each its own form.
     */
    public static List<String> schedulerNames(String list, String where, String example) throws InputException {
        List<String> names = new ArrayList<>();
        String[] elements = list.split(",", -1);
        for (int i = 0; i < elements.length; i++) {
            String name = elements[i].strip();
            if (name.isEmpty()) {
                throw new InputException(where, "element " + (i + 1) + " of \"" + list + "\" is empty (expected:"
                        + " scheduler names separated by commas, as " + example + ")");
            }
            names.add(name);
        }
        return names;
    }

    /** Cuts nanoseconds to the connection log's microseconds. */
    private static long micros(long nanos) {
        return Math.floorDiv(nanos, 1000L) * 1000L;
    }

    private static Simulation simulation(ServicePortSpec chosen, List<String> schedulers, List<EndpointChange> changes,
                                         long seed) throws InputException {
        List<String> names = schedulers.isEmpty() ? List.of(chosen.service().scheduler()) : schedulers;
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String name : names) {
            if (!seen.add(name)) { // one result per scheduler: the report is keyed by name
                throw new InputException("--schedulers", name + " is named twice");
            }
        }
        try {
            return Simulation.create(names, chosen.service().schedulerFlags(), chosen.service().sessionAffinity(),
                    chosen.key().clusterIP(), targets(chosen), changes, seed,
                    chosen.key().protocol() == io.svcproxy.config.Protocol.UDP);
        } catch (IllegalArgumentException e) {
            throw new InputException("--schedulers", e.getMessage());
        }
    }

    /** The endpoints the proxy would put in the list: the ready ones, or if none is, the serving terminating ones. */
    private static List<Target> targets(ServicePortSpec spec) {
        boolean anyReady = spec.endpoints().stream().anyMatch(EndpointTarget::ready);
        List<Target> list = new ArrayList<>();
        for (EndpointTarget t : spec.endpoints()) {
            if (anyReady ? t.ready() : t.serving() && t.terminating()) {
                list.add(new Target(t.ip(), t.port(), t.weight()));
            }
        }
        return list;
    }

    private static ServicePortSpec choose(List<ServicePortSpec> ports, String configFile, String service,
                                          TraceRow first, String traceFile) throws InputException {
        String name;
        String port;
        String where;
        if (service != null) {
            int colon = service.indexOf(':');
            name = colon < 0 ? service : service.substring(0, colon);
            port = colon < 0 ? null : service.substring(colon + 1);
            where = "--service";
        } else if (first != null && first.service() != null) {
            name = first.service();
            port = first.port();
            where = traceFile + ":" + first.line();
        } else {
            if (ports.size() == 1) {
                return ports.get(0);
            }
            throw new InputException(configFile, 1, ports.size() + " Service ports in the config and none named"
                    + " by the trace: choose one with --service NS/NAME[:PORT] (expected one of: "
                    + labels(ports) + ")");
        }
        List<ServicePortSpec> matches = new ArrayList<>();
        for (ServicePortSpec p : ports) {
            if (p.service().qualifiedName().equals(name) && (port == null || port.equals(p.port().label())
                    || port.equals(Integer.toString(p.port().port())))) {
                matches.add(p);
            }
        }
        if (matches.size() == 1) {
            return matches.get(0);
        }
        String what = name + (port == null ? "" : ":" + port);
        throw new InputException(where, (matches.isEmpty() ? "no Service port " + what + " in the config"
                : what + " has " + matches.size() + " ports: name one as NS/NAME:PORT")
                + " (expected one of: " + labels(ports) + ")");
    }

    private static String labels(List<ServicePortSpec> ports) {
        List<String> labels = new ArrayList<>();
        for (ServicePortSpec p : ports) {
            labels.add(p.service().qualifiedName() + ":" + p.port().label());
        }
        return String.join(", ", labels);
    }
}
