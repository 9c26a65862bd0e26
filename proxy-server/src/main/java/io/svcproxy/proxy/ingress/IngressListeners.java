package io.svcproxy.proxy.ingress;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.svcproxy.config.Addresses;
import io.svcproxy.config.IngressSettings;
import io.svcproxy.config.IngressSpec;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.proxy.HttpIngressServer;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import io.svcproxy.proxy.dataplane.BindException;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ingress of a running proxy: its listeners and its routing. {@link #start} binds the {@code proxy.ingress}
 * listeners on the data plane's event loops; {@link #apply} compiles the Ingresses of each desired state into a new
 * immutable {@link RoutingTable} and publishes it (requests read it with one volatile read), after the reconciler
 * has put the state's Service ports in force, so a backend resolves to its ClusterIP listener's own endpoint set.
 * A rejected config never reaches {@link #apply}: the last good table keeps serving.
 *
 * <p>Control-plane thread for {@link #start}, {@link #apply} and {@link #close}; the listeners run on event loops.
 */
public final class IngressListeners implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(IngressListeners.class);

    private final Router<ServiceBackend> router = new Router<>();
    private final BackendLookup lookup;
    private final IngressStats stats;
    /** The notices of the routing tables compiled so far: each is logged once, not on every reload. */
    private final Set<String> logged = new HashSet<>();
    private volatile List<IngressSpec> ingresses = List.of();
    private volatile HttpIngressServer http;

    public IngressListeners(BackendLookup lookup, IngressStats stats) {
        this.lookup = Objects.requireNonNull(lookup, "lookup");
        this.stats = Objects.requireNonNull(stats, "stats");
    }

    /**
     * Binds the listeners of {@code settings} (none when neither {@code http} nor {@code https} is set).
     *
     * @throws BindException if an address cannot be bound; the message names it
     */
    public synchronized void start(IngressSettings settings, EventLoopGroup group,
                                   Class<? extends ServerChannel> channelType) throws BindException {
        if (settings.http() != null) {
            try {
                http = HttpIngressServer.bind(group, channelType, settings.http(), router, lookup,
                        settings.responseTimeout(), stats);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BindException(format(settings.http()), e);
            } catch (RuntimeException e) {
                throw new BindException(format(settings.http()), e);
            }
            log.info("Ingress listening proto=http address={} responseTimeout={}", format(http.localAddress()),
                    settings.responseTimeout());
        }
        if (settings.https() != null) {
            log.warn("Ingress https listener not started address={}: TLS is not wired in this build yet",
                    format(settings.https()));
        }
    }

    /** Compiles and publishes the routing table of {@code next}; unchanged Ingresses compile nothing. */
    public synchronized void apply(List<IngressSpec> next) {
        if (next.equals(ingresses)) {
            return;
        }
        RoutingTable<ServiceBackend> table = IngressRoutes.compile(next, this::notice);
        table.notices().forEach(this::notice);
        router.update(table);
        ingresses = List.copyOf(next);
        log.info("Ingress routes applied ingresses={} rules={} defaultBackend={}", next.size(), table.ruleCount(),
                table.defaultRoute() == null ? "none" : table.defaultRoute().ingress());
    }

    private void notice(String line) {
        if (logged.add(line)) {
            log.warn(line);
        }
    }

    private static String format(InetSocketAddress address) {
        return Addresses.format(address.getAddress(), address.getPort());
    }

    /** The Ingresses in force, in routing order. */
    public List<IngressSpec> ingresses() {
        return ingresses;
    }

    /** The routing table in force. */
    public RoutingTable<ServiceBackend> table() {
        return router.table();
    }

    public IngressStats stats() {
        return stats;
    }

    public BackendLookup lookup() {
        return lookup;
    }

    /** The HTTP listener's bound address, or {@code null} when there is none. */
    public InetSocketAddress httpAddress() {
        HttpIngressServer h = http;
        return h == null ? null : h.localAddress();
    }

    /** Stops accepting; connections in progress are closed with the event loops. */
    @Override
    public synchronized void close() {
        if (http != null) {
            http.close();
            http = null;
        }
    }
}
