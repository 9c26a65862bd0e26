package io.svcproxy.proxy.dataplane;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.ConnectionCounters;
import io.svcproxy.balancer.EndpointHealth;
import io.svcproxy.config.HealthCheckSpec;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the active TCP health checks of one Service port ({@code healthCheck:} of its Service): every
 * {@code interval}, a connect to each endpoint in the list that does not drain, reset as soon as it succeeds;
 * the results feed each endpoint's {@link EndpointHealth}, and a change of verdict is logged and makes the
 * reconciler publish the list again. Runs on one data-plane event loop with Netty's {@link Bootstrap}, never
 * blocking it; a check still in flight is not started again. Reads the spec in force at each check, so a
 * reload may turn the checks on, off or change them; when they are off, a verdict of "unhealthy" is dropped.
 *
 * <p>Each endpoint has its own timer, as each HAProxy server has its check task: its first check comes at an offset
 * within the interval that {@link CheckSpread} gives it when it joins the list (or the checks are turned on), the
 * next ones every {@code interval} from there, so the checks of a port's endpoints, and of all ports, are spread over
 * the interval rather than a burst of connects at the same instant. An endpoint is first checked within one interval
 * of joining; one that leaves loses its timer, and one that comes back takes a new offset.
 */
final class HealthChecker {
    private static final Logger log = LoggerFactory.getLogger(HealthChecker.class);

    private final ServicePort port;
    private final EventLoop loop;
    private final Transport transport;
    private final CheckSpread spread;
    private volatile boolean stopped;
    /** The endpoints checked, by their counters (which every snapshot of the list shares); the loop's own. */
    private final Map<ConnectionCounters, Timer> timers = new IdentityHashMap<>();

    /** A checker whose endpoints take their offsets from a spread of their own (tests). */
    HealthChecker(ServicePort port, EventLoop loop, Transport transport) {
        this(port, loop, transport, new CheckSpread());
    }

    HealthChecker(ServicePort port, EventLoop loop, Transport transport, CheckSpread spread) {
        this.port = port;
        this.loop = loop;
        this.transport = transport;
        this.spread = spread;
    }

    /** Starts the checks; returns this. */
    HealthChecker start() {
        loop.execute(this::sync);
        return this;
    }

    /** Stops the checks; checks in flight complete and are ignored. */
    void stop() {
        stopped = true;
        loop.execute(this::cancelAll);
    }

    /**
     * Makes the checker look at the spec and the list in force again, after the port's spec or endpoints changed:
     * checks that were turned on start (each endpoint at its offset), checks turned off forget their verdicts now;
     * an endpoint that joined gets its timer, one that left or drains loses it; a shorter interval takes effect at
     * once. Any thread.
     */
    void wake() {
        loop.execute(this::sync);
    }

    /** The delay until each endpoint's next check, in ms (tests: the spread); any thread, waits for the loop. */
    Map<String, Long> nextChecks() throws Exception {
        return loop.submit(() -> {
            Map<String, Long> delays = new java.util.TreeMap<>();
            for (Timer t : timers.values()) {
                delays.put(t.backend.endpoint(), t.next == null ? -1 : t.next.getDelay(TimeUnit.MILLISECONDS));
            }
            return delays;
        }).get();
    }

    /**
     * Brings the timers in line with the spec and list in force, on the loop. With checks off no timer is left (a
     * port without checks costs none: 10,000 of them would otherwise wake every second).
     */
    private void sync() {
        if (stopped) {
            return;
        }
        HealthCheckSpec spec = port.spec().service().healthCheck();
        if (spec == null) {
            cancelAll();
            boolean changed = false;
            for (BackendState b : port.backendSet().backends()) {
                if (b.counters().health().clearChecks()) {
                    changed = true;
                }
            }
            if (changed) {
                port.healthChanged();
            }
            return;
        }
        long interval = spec.interval().toMillis();
        Set<ConnectionCounters> listed = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (BackendState b : port.backendSet().backends()) {
            if (b.state() == BackendState.State.DRAINING) {
                continue;
            }
            listed.add(b.counters());
            Timer t = timers.get(b.counters());
            if (t == null) {
                t = new Timer(b, spread.next());
                timers.put(b.counters(), t);
                t.schedule((long) (t.offset * interval), interval);
            } else {
                t.backend = b;
                if (interval < t.interval && t.next != null) {
                    // a shorter interval takes effect at once: the next check comes when the new interval says, not
                    // when the old one (up to an hour) would have; at the endpoint's offset within it, so that the
                    // endpoints whose next checks were further away than the new interval are not checked together
                    long remaining = t.next.getDelay(TimeUnit.MILLISECONDS);
                    t.next.cancel(false);
                    t.schedule(Math.max(0, Math.min(remaining, (long) (t.offset * interval))), interval);
                }
            }
        }
        timers.values().removeIf(t -> {
            if (listed.contains(t.backend.counters())) {
                return false;
            }
            t.cancel(); // left the list, or drains: a check in flight ends without a verdict
            return true;
        });
    }

    private void cancelAll() {
        for (Timer t : timers.values()) {
            t.cancel();
        }
        timers.clear();
    }

    /** One endpoint's checks: its next one, every interval from its offset. The loop's own. */
    private final class Timer implements Runnable {
        /** The endpoint as last listed (its counters stay the same). */
        private BackendState backend;
        /** Its offset within the interval, a fraction. */
        private final double offset;
        private ScheduledFuture<?> next;
        /** The interval the next check was scheduled with. */
        private long interval;

        Timer(BackendState backend, double offset) {
            this.backend = backend;
            this.offset = offset;
        }

        void schedule(long delay, long interval) {
            this.interval = interval;
            next = loop.schedule(this, delay, TimeUnit.MILLISECONDS);
        }

        void cancel() {
            if (next != null) {
                next.cancel(false);
                next = null;
            }
        }

        @Override
        public void run() {
            next = null;
            if (stopped || timers.get(backend.counters()) != this) {
                return;
            }
            HealthCheckSpec spec = port.spec().service().healthCheck();
            if (spec == null) {
                sync(); // turned off, and the wake that says so not run yet
                return;
            }
            // the next check is timed from this one's start (HAProxy times it from the end of the check), so that a
            // check that hangs until its timeout does not move the endpoint's offset; with the timeout at the
            // interval, the next one finds it still in flight and waits one interval more, as HAProxy's would
            schedule(spec.interval().toMillis(), spec.interval().toMillis());
            if (backend.counters().health().startCheck()) {
                check(backend, spec);
            }
        }
    }

    private void check(BackendState backend, HealthCheckSpec spec) {
        EndpointHealth health = backend.counters().health();
        Bootstrap bootstrap = new Bootstrap()
                .group(loop)
                .channel(transport.socketChannel())
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
                        // an endpoint that resets the check's connection (its PROXY header unsent): the check's
                        // verdict is its connect's; anything else is svcproxy's own and said
                        if (!ConnectErrors.isIoError(cause)) {
                            log.warn("Unexpected error of a health check connection service={} port={}",
                                    port.serviceLabel(), port.portLabel(), cause);
                        }
                        ctx.close();
                    }
                })
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, spec.timeout().toMillis()))
                .option(ChannelOption.AUTO_READ, false);
        bootstrap.connect(backend.socketAddress())
                .addListener((ChannelFutureListener) f -> {
                    boolean ok = f.isSuccess();
                    if (ok) {
                        close(f.channel());
                    }
                    if (port.spec().service().healthCheck() == null) {
                        // turned off while the check was in flight: wake() forgets the verdicts of the endpoints
                        // listed, and this one may have left the list meanwhile (its flag, kept with its counters
                        // for its return, would stop it from ever being checked again)
                        health.abandonCheck();
                        return;
                    }
                    if (stopped) {
                        // its port left (or moved: the successor's checker judges the shared health, and must be
                        // able to start the next check)
                        health.abandonCheck();
                        return;
                    }
                    if (!ok && ConnectErrors.isLocal(f.cause())) {
                        // socket(2) or connect(2) failed for want of svcproxy's own descriptors (EMFILE, ENFILE),
                        // buffers, or a local port for the endpoint's address (EADDRNOTAVAIL): not the endpoint's
                        // failure (as the relay and the Ingress count it); the next round checks again
                        health.abandonCheck();
                        log.debug("Health check failed locally service={} port={} endpoint={}: {}",
                                port.serviceLabel(), port.portLabel(), backend.endpoint(), f.cause().toString());
                        return;
                    }
                    if (!listed(backend)) {
                        // left the list (or drains) while checked: no verdict on an endpoint no longer served, which
                        // its counters would keep for its return (a new Pod at the same address)
                        health.abandonCheck();
                        return;
                    }
                    Boolean change = health.checkResult(ok, spec.rise(), spec.fall());
                    if (change != null && change) {
                        log.info("Endpoint healthy service={} port={} endpoint={} checks={}", port.serviceLabel(),
                                port.portLabel(), backend.endpoint(), spec.rise());
                    } else if (change != null) {
                        log.warn("Endpoint unhealthy service={} port={} endpoint={} failedChecks={} reason={}",
                                port.serviceLabel(), port.portLabel(), backend.endpoint(), spec.fall(),
                                ConnectErrors.reason(f.cause()));
                    }
                    // a passing check ends an ejection (as Envoy does by default): the endpoint takes connects again
                    boolean returned = ok && health.returnAfterCheck(System.nanoTime());
                    if (returned) {
                        log.info("Returning endpoint service={} port={} endpoint={} ejections={} after=check",
                                port.serviceLabel(), port.portLabel(), backend.endpoint(), health.ejections());
                    }
                    if (change != null || returned) {
                        port.healthChanged();
                    }
                });
    }

    /** Whether {@code backend} is in the port's list now, and not draining (a check ended after it left). */
    private boolean listed(BackendState backend) {
        for (BackendState b : port.backendSet().backends()) {
            if (b.counters() == backend.counters()) {
                return b.state() != BackendState.State.DRAINING;
            }
        }
        return false;
    }

    /**
     * Closes a check's connection with a reset, as HAProxy ends its TCP checks: svcproxy closes first, and a FIN would
     * leave a TIME_WAIT socket on the node for every check (60 s each: a port's checks every second hold a minute of
     * them per endpoint). On a {@code proxyProtocol} port the PROXY header of a connection of the proxy's own goes
     * first (v2 {@code LOCAL}; v1 with the connection's own addresses), as HAProxy checks a {@code send-proxy}
     * server (an endpoint that requires the header would log every check as a protocol error), and a FIN after it,
     * which a reset could overtake. A UDP port's check is a TCP connection to the endpoint's same port, whose TCP
     * service was never said to expect the header (a UDP port's {@code proxyProtocol} is its datagrams'): reset, no
     * header.
     */
    private void close(Channel channel) {
        io.svcproxy.config.ProxyProtocol proxyProtocol = port.key().protocol() == io.svcproxy.config.Protocol.TCP
                ? port.spec().port().proxyProtocol() : null;
        if (proxyProtocol == null) {
            Relay.reset(channel);
            return;
        }
        ProxyProtocolHeader.writeLocal(channel, proxyProtocol);
        channel.flush();
        channel.close();
    }
}
