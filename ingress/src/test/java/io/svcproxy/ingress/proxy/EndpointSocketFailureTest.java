package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.ChannelException;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.io.Closeable;
import java.io.FileInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An endpoint connect for which svcproxy cannot open a socket (EMFILE: Netty's {@link ChannelException} from
 * {@code Bootstrap.connect}) is reported to {@link BackendLookup.Outcomes} as any failed connect, whose classifier
 * (proxy-server's ConnectErrors, shared with the TCP relay) counts it as {@code reason="local"} and not against the
 * endpoint; and the request's 502 is answered and counted on its connection's event loop. From helper-148's review:
 * Exchange left such a failure out of the outcomes (a classification of its own, the metric never told), and
 * Bootstrap fails that connect with a future of {@code GlobalEventExecutor}, so the exchange's listener (the next
 * endpoint's connect, the 502, the access log and request metrics) ran on that thread, beside the event loop that
 * owns the connection. Listener on 127.0.148.6, endpoint (a closed port) on 127.0.148.5.
 *
 * <p>Lowers this JVM's soft RLIMIT_NOFILE with prlimit(1) for a moment (as HealthCheckOwnSocketFailureTest in
 * proxy-server; restored in {@code finally}).
 */
@Timeout(60)
class EndpointSocketFailureTest {
    private static final ServiceBackend GONE = new ServiceBackend("default", "gone", 80, null);

    /** One {@link BackendLookup.Outcomes#connectFailed} call. */
    private record Failure(Throwable cause, Thread thread) {
    }

    private final List<Failure> failures = new CopyOnWriteArrayList<>();
    private final List<Thread> accounted = new CopyOnWriteArrayList<>();
    private final List<Integer> statuses = new CopyOnWriteArrayList<>();
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @AfterEach
    void tearDown() throws Exception {
        if (ingress != null) {
            ingress.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    @Test
    void aConnectWithoutASocketIsReportedAndAnsweredOnTheEventLoop() throws Exception {
        InetSocketAddress endpoint;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.148.5"))) {
            endpoint = new InetSocketAddress("127.0.148.5", s.getLocalPort()); // closed: a connect is refused
        }
        Thread loop = start("127.0.148.6", endpoint);
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            // warm-up with descriptors to spare (every class of the path loaded): refused, 502
            assertThat(client.get("any", "/").status()).isEqualTo(502);
            assertThat(failures).hasSize(1);
            // a descriptor another thread closes meanwhile (an earlier test's connection closing late) lets the
            // socket open: that round is refused as the warm-up was, and is run again (a few times at most)
            for (int round = 0; round < 5; round++) {
                failures.clear();
                accounted.clear();
                int status = withoutDescriptors(() -> client.get("any", "/").status());
                assertThat(status).isEqualTo(502);
                if (failures.isEmpty() || failures.get(0).cause() instanceof ChannelException) {
                    break;
                }
            }
        }
        assertThat(failures).as("the failed connect reported").hasSize(1);
        assertThat(failures.get(0).cause()).isInstanceOf(ChannelException.class);
        assertThat(failures.get(0).thread()).isSameAs(loop);
        assertThat(accounted).as("the 502 counted on the connection's event loop").containsExactly(loop);
    }

    /**
     * A stream reset in the same read as its HEADERS, whose endpoint connect got no socket: the connect's end, back
     * on the event loop, finds the exchange no longer current, releases its claim and closes the connect's channel.
     * Bootstrap's channel of a socket never opened ({@code FailedChannel}) has no event loop, and its close threw
     * IllegalStateException ("channel not registered to an event loop"), which the event loop logged as a failed
     * task (a WARN with its stack): nothing was wrong but that line. The stream is counted 499 (its client went
     * away), and the connect reported once. Listener on 127.0.158.2, endpoint (a closed port) on 127.0.158.1.
     */
    @Test
    void aStreamResetBeforeItsSocketlessConnectEndedEndsQuietly() throws Exception {
        InetSocketAddress endpoint;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.158.1"))) {
            endpoint = new InetSocketAddress("127.0.158.1", s.getLocalPort());
        }
        Thread loop = start("127.0.158.2", endpoint);
        EventLoopGroup clientGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (RawH2Client client = RawH2Client.connect(clientGroup, ingress.localAddress())) {
            Http2Headers head = new DefaultHttp2Headers().method("GET").path("/").scheme("http").authority("any");
            // warm-up with descriptors to spare: refused, 502
            client.headers(1, head, true);
            assertThat(client.untilEnd(1)).isNotEmpty();
            for (int round = 0, stream = 3; round < 5; round++, stream += 2) {
                failures.clear();
                statuses.clear();
                int id = stream;
                withoutDescriptors(() -> {
                    client.headersThenReset(id, head, Http2Error.CANCEL.code());
                    await().atMost(Duration.ofSeconds(10)).until(() -> !statuses.isEmpty());
                    // the connect's end was queued on the loop before the reset was read: it has run after this
                    return group.next().submit(() -> null).get(10, TimeUnit.SECONDS);
                });
                if (!failures.isEmpty() && failures.get(0).cause() instanceof ChannelException) {
                    break;
                }
            }
        } finally {
            clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        assertThat(failures).as("the failed connect reported").hasSize(1);
        assertThat(failures.get(0).cause()).isInstanceOf(ChannelException.class);
        assertThat(failures.get(0).thread()).isSameAs(loop);
        assertThat(statuses).as("the stream its client reset").containsExactly(499);
    }

    /** Serves the Ingress on {@code listenerIp} with {@code endpoint} the one endpoint; returns its event loop. */
    private Thread start(String listenerIp, InetSocketAddress endpoint) throws Exception {
        BackendSet set = TestEndpoints.rr(endpoint);
        BackendLookup.Outcomes outcomes = new BackendLookup.Outcomes() {
            @Override
            public void connected(BackendState backend, long nanos) {
            }

            @Override
            public void connectFailed(BackendState backend, Throwable cause) {
                failures.add(new Failure(cause, Thread.currentThread()));
            }

            @Override
            public void noEndpoint() {
            }
        };
        BackendLookup lookup = new BackendLookup() {
            @Override
            public BackendSet backendSet(ServiceBackend backend) {
                return set;
            }

            @Override
            public Target target(ServiceBackend backend) {
                return new Target(set, null, null, outcomes);
            }
        };
        IngressMetrics metrics = new IngressMetrics() {
            @Override
            public void requestCompleted(Route<ServiceBackend> route, int status, long durationNanos) {
                accounted.add(Thread.currentThread());
                statuses.add(status);
            }
        };
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/gone", GONE, List.of()))));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress(listenerIp, 0),
                router, lookup, IngressOptions.defaults(), metrics);
        return group.next().submit(Thread::currentThread).get();
    }

    /** Runs {@code action} with no descriptor left to open in this JVM. */
    private static <T> T withoutDescriptors(IoAction<T> action) throws Exception {
        long original = softNofile();
        List<Closeable> fillers = new ArrayList<>();
        try {
            setSoftNofile(openFds() + 16);
            for (int i = 0; i < 4096; i++) {
                try {
                    fillers.add(new FileInputStream("/dev/null"));
                } catch (IOException e) {
                    break;
                }
            }
            return action.run();
        } finally {
            for (Closeable c : fillers) {
                c.close();
            }
            setSoftNofile(original);
        }
    }

    @FunctionalInterface
    private interface IoAction<T> {
        T run() throws Exception;
    }

    private static long openFds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static void setSoftNofile(long soft) throws Exception {
        Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(ProcessHandle.current().pid()),
                "--nofile=" + soft + ":").inheritIO().start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
    }

    private static long softNofile() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                return Long.parseLong(line.substring(26).trim().split("\\s+")[0]);
            }
        }
        throw new IllegalStateException("no Max open files in /proc/self/limits");
    }
}
