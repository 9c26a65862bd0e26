package io.svcproxy.proxy.dataplane;

import io.svcproxy.balancer.Backends;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listeners of one Service port on its addresses besides the clusterIP (node, external, LoadBalancer), of one
 * protocol: {@code L} is a TCP listening channel or a UDP listener. Kept equal to the wanted addresses by
 * difference, so an address that stays is never rebound; when a reload changes what an address is (an external IP
 * that becomes a LoadBalancer IP), its listener keeps its socket and serves new connections and flows as the new kind
 * at once (source ranges, traffic policy).
 *
 * @param <L> the listener type
 */
final class ExtraAddresses<L> {
    private static final Logger log = LoggerFactory.getLogger(ListenerManager.class);

    /** Binds one address; {@code kind} says what it is now, for every connection or flow it takes. */
    @FunctionalInterface
    interface Binder<L> {
        L bind(InetSocketAddress at, Supplier<AddressKind> kind) throws BindException;
    }

    /** What one bound address is; a reload may change it while the address stays bound. */
    private static final class Kind implements Supplier<AddressKind> {
        private volatile AddressKind kind;

        Kind(AddressKind kind) {
            this.kind = kind;
        }

        @Override
        public AddressKind get() {
            return kind;
        }
    }

    private final ServicePort servicePort;
    private final String protocolSuffix;
    private final Consumer<L> closer;
    /** The listeners bound now, each with what its address is. */
    private final Map<InetSocketAddress, Bound<L>> bound = new ConcurrentHashMap<>();

    private record Bound<L>(L listener, Kind kind) {
    }

    /**
     * @param protocolSuffix appended to addresses in log lines ({@code ""} for TCP, {@code "/UDP"})
     * @param closer closes one listener and waits until it is closed
     */
    ExtraAddresses(ServicePort servicePort, String protocolSuffix, Consumer<L> closer) {
        this.servicePort = servicePort;
        this.protocolSuffix = protocolSuffix;
        this.closer = closer;
    }

    /**
     * Closes the listeners of addresses no longer wanted (established connections go on), gives the bound ones
     * that stay their wanted kind, then binds the wanted ones missing.
     *
     * @return the addresses that could not be bound; the others are served regardless
     */
    List<BindException> set(Map<InetSocketAddress, AddressKind> wanted, Binder<L> binder) {
        for (Map.Entry<InetSocketAddress, Bound<L>> e : List.copyOf(bound.entrySet())) {
            if (!wanted.containsKey(e.getKey())) {
                bound.remove(e.getKey());
                closer.accept(e.getValue().listener());
                log.info("Stopped listening service={} port={} address={}{}", servicePort.serviceLabel(),
                        servicePort.portLabel(), format(e.getKey()), protocolSuffix);
            }
        }
        List<BindException> failures = new ArrayList<>();
        Map<InetSocketAddress, AddressKind> now = new java.util.HashMap<>();
        for (Map.Entry<InetSocketAddress, AddressKind> e : wanted.entrySet()) {
            Bound<L> b = bound.get(e.getKey());
            if (b != null) {
                AddressKind was = b.kind().kind;
                if (was != e.getValue()) {
                    b.kind().kind = e.getValue();
                    log.info("Address kind changed service={} port={} address={}{} kind={} was={}",
                            servicePort.serviceLabel(), servicePort.portLabel(), format(e.getKey()), protocolSuffix,
                            e.getValue().label(), was.label());
                }
                now.put(e.getKey(), e.getValue());
                continue;
            }
            try {
                Kind kind = new Kind(e.getValue());
                bound.put(e.getKey(), new Bound<>(binder.bind(e.getKey(), kind), kind));
                now.put(e.getKey(), e.getValue());
                log.info("Listening service={} port={} address={}{} kind={}", servicePort.serviceLabel(),
                        servicePort.portLabel(), format(e.getKey()), protocolSuffix, e.getValue().label());
            } catch (BindException ex) {
                failures.add(ex);
            }
        }
        servicePort.setExtraAddresses(Map.copyOf(now));
        return failures;
    }

    /** Closes every listener. */
    void closeAll() {
        set(Map.of(), (at, kind) -> {
            throw new IllegalStateException("nothing is bound by closeAll");
        });
    }

    /** Returns the addresses bound now. */
    Set<InetSocketAddress> addresses() {
        return Set.copyOf(bound.keySet());
    }

    /** Returns the listeners bound now. */
    Collection<L> listeners() {
        return bound.values().stream().map(Bound::listener).toList();
    }

    private static String format(InetSocketAddress a) {
        return Backends.format(a.getAddress(), a.getPort());
    }
}
