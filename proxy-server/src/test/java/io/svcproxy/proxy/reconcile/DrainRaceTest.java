package io.svcproxy.proxy.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Lease;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.proxy.dataplane.DataPlaneSettings;
import io.svcproxy.proxy.dataplane.ListenerManager;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A removed endpoint whose last connection closes leaves the scheduler's list with that connection, not at the next
 * housekeeping tick (issue 11: with mh, whose draining endpoints keep their slots, clients hashed to them were
 * closed meanwhile). No sweep runs here, so only the immediate paths can remove it. Both orders of the race are
 * forced: the connection closing after the list that drains it is in force, and closing between building that
 * list and swapping it in.
 */
class DrainRaceTest {
    static final String BOTH = config("{ip: 127.0.0.21, port: 8080}, {ip: 127.0.0.22, port: 8080}");
    static final String ONLY_B = config("{ip: 127.0.0.22, port: 8080}");

    ListenerManager listeners;
    ServiceTable table;
    /** Runs once, the next time the reconciler reads its clock: between building a list and swapping it in. */
    final AtomicReference<Runnable> onClock = new AtomicReference<>();
    Reconciler reconciler;

    static String config(String endpoints) {
        return config("127.0.10.41", endpoints);
    }

    static String config(String clusterIP, String endpoints) {
        return "proxy: {admin: off}\nservices:\n  - name: mh\n    clusterIP: " + clusterIP + "\n    scheduler: mh\n"
                + "    ports: [{port: 18141}]\n    endpoints: [" + endpoints + "]\n";
    }

    @BeforeEach
    void setUp() throws Exception {
        ProxyConfig first = ConfigLoader.parse(BOTH, "test.yaml");
        listeners = new ListenerManager(Transport.select(), 1, ProxyMetrics.NOOP, DataPlaneSettings.of(first));
        table = new ServiceTable();
        LongSupplier clock = () -> {
            Runnable r = onClock.getAndSet(null);
            if (r != null) {
                r.run();
            }
            return System.nanoTime();
        };
        reconciler = new Reconciler(table, listeners, ProxyMetrics.NOOP, clock);
        apply(BOTH);
    }

    @AfterEach
    void tearDown() {
        listeners.close();
    }

    void apply(String yaml) throws Exception {
        assertThat(reconciler.apply(ServicePorts.resolve(ConfigLoader.parse(yaml, "test.yaml")), Duration.ofMinutes(5)))
                .isEmpty();
    }

    ServicePort port() {
        return table.servicePorts().get(0);
    }

    BackendState endpoint(String ip) {
        return port().backendSet().backends().stream()
                .filter(b -> b.address().getHostAddress().equals(ip)).findFirst().orElse(null);
    }

    /** Opens a connection's claim on {@code backend}, as the data plane does at pick. */
    static Lease connect(BackendState backend) {
        Lease lease = backend.counters().lease();
        lease.established();
        return lease;
    }

    /** Closes it, as the data plane does when the endpoint channel closes. */
    void close(Lease lease, BackendState backend) {
        lease.release();
        port().leaseReleased(backend);
    }

    @Test
    void theLastConnectionClosingAfterTheRemovalTakesTheEndpointOutOfTheListAtOnce() throws Exception {
        BackendState a = endpoint("127.0.0.21");
        Lease lease = connect(a);
        apply(ONLY_B);
        assertThat(endpoint("127.0.0.21").state()).isEqualTo(BackendState.State.DRAINING);
        close(lease, a);
        await().atMost(Duration.ofSeconds(10)).until(() -> endpoint("127.0.0.21") == null);
        assertEveryClientIsServed();
    }

    @Test
    void theLastConnectionClosingWhileTheRemovalIsAppliedTakesTheEndpointOutOfTheListAtOnce() throws Exception {
        BackendState a = endpoint("127.0.0.21");
        Lease lease = connect(a);
        // the list is built with the connection open (a drains), and the connection closes before the swap, when
        // the list in force still has a ready: the data plane sees nothing to report, so the reconciler must
        onClock.set(() -> close(lease, a));
        apply(ONLY_B);
        assertThat(onClock.get()).as("the clock was read between building and swapping").isNull();
        assertThat(endpoint("127.0.0.21")).as("the drained endpoint, right after the swap").isNull();
        assertEveryClientIsServed();
    }

    @Test
    void anEndpointStillServingAConnectionKeepsDraining() throws Exception {
        BackendState a = endpoint("127.0.0.21");
        Lease first = connect(a);
        Lease second = connect(a);
        apply(ONLY_B);
        close(first, a);
        reconciler.publishHealth(port()); // what the data plane's report would run; one connection is still open
        assertThat(endpoint("127.0.0.21").state()).isEqualTo(BackendState.State.DRAINING);
        close(second, a);
        await().atMost(Duration.ofSeconds(10)).until(() -> endpoint("127.0.0.21") == null);
    }

    @Test
    void theLastConnectionClosingOnTheAddressAPortMovedFromTakesTheEndpointOutOfTheMovedPortsList()
            throws Exception {
        ServicePort predecessor = port();
        BackendState a = endpoint("127.0.0.21");
        Lease lease = connect(a); // a connection to a at the old address
        apply(config("127.0.10.67", "{ip: 127.0.0.21, port: 8080}, {ip: 127.0.0.22, port: 8080}")); // moved
        assertThat(endpoint("127.0.0.21")).as("the moved port takes a's counters over").isSameAs(a);
        apply(config("127.0.10.67", "{ip: 127.0.0.22, port: 8080}"));
        assertThat(endpoint("127.0.0.21").state()).isEqualTo(BackendState.State.DRAINING);
        lease.release();
        predecessor.leaseReleased(a); // the old port's data plane reports its connection's close
        await().atMost(Duration.ofSeconds(10)).until(() -> endpoint("127.0.0.21") == null);
    }

    /** With mh and no fallback, a draining endpoint keeps its slots: 200 clients must all find an endpoint. */
    void assertEveryClientIsServed() throws Exception {
        for (int i = 0; i < 200; i++) {
            InetAddress client = InetAddress.getByAddress(new byte[] {127, 0, 1, (byte) i});
            BackendState picked = port().backendSet().pick(PickContext.of(client, 40000 + i,
                    InetAddress.getByName("127.0.10.41")));
            assertThat(picked).as("client %s", client).isNotNull();
            assertThat(picked.address().getHostAddress()).isEqualTo("127.0.0.22");
        }
    }
}
