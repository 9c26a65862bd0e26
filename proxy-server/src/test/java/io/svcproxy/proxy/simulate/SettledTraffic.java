package io.svcproxy.proxy.simulate;

import static org.awaitility.Awaitility.await;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.proxy.dataplane.ServicePort;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;

/**
 * Drives a sequence of client connections through a live Service port one step at a time, waiting after each
 * step until the proxy took or released the lease and recorded the connection: the order of starts and ends in
 * the connection log is then the order the proxy's scheduler saw, which makes the live picks reproducible by a
 * replay (and by another live run of the same steps).
 */
public final class SettledTraffic {
    /** One step: close {@code closeFirst} of the open connections (oldest first), then open one from {@code client}. */
    public record Step(int client, int closeFirst) {
    }

    /** What a new connection does once connected, before the next step (it must see the relay up). */
    public interface Exchange {
        void run(Socket socket) throws IOException;
    }

    private SettledTraffic() {
    }

    /** Returns {@code n} steps of {@code clients} client addresses from a seeded generator. */
    public static List<Step> steps(long seed, int n, int clients) {
        Random random = new Random(seed);
        List<Step> steps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            steps.add(new Step(random.nextInt(clients), random.nextInt(3)));
        }
        return steps;
    }

    /**
     * Runs {@code steps} against {@code service}, served by {@code port}: client {@code i} connects from
     * {@code clientIps.get(i)}; at most {@code maxOpen} connections are open at once (older ones close first).
     */
    public static void drive(ServicePort port, InetSocketAddress service, List<Step> steps, List<String> clientIps,
                             int maxOpen, Exchange exchange) throws IOException {
        Deque<Socket> open = new ArrayDeque<>();
        long closed = port.recent().total();
        for (Step step : steps) {
            int toClose = Math.min(step.closeFirst(), open.size());
            if (open.size() - toClose >= maxOpen) {
                toClose = open.size() - maxOpen + 1;
            }
            for (int i = 0; i < toClose; i++) {
                open.removeFirst().close();
                closed++;
            }
            settle(port, open.size(), closed);
            Socket s = new Socket();
            s.setSoTimeout(5000);
            s.bind(new InetSocketAddress(clientIps.get(step.client()), 0));
            s.connect(service, 5000);
            exchange.run(s);
            open.addLast(s);
        }
        while (!open.isEmpty()) {
            open.removeFirst().close();
            closed++;
        }
        settle(port, 0, closed);
    }

    /** Waits until {@code port} holds exactly {@code open} leases and has recorded {@code closed} connections. */
    public static void settle(ServicePort port, int open, long closed) {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(1)).until(() -> {
            int held = 0;
            for (BackendState b : port.backendSet().backends()) {
                held += b.activeConnections() + b.inactiveConnections();
            }
            return held == open && port.recent().total() == closed;
        });
    }
}
