package io.svcproxy.balancer;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/** Builders of backends, counters and pick contexts for the scheduler tests. */
final class TestBackends {
    static final InetAddress CLUSTER_IP = ip("10.96.0.10");

    private TestBackends() {
    }

    static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }

    static BackendState backend(String ip, int port, int weight) {
        return BackendState.of(ip(ip), port, weight);
    }

    /** Returns backends 10.0.0.1:8080, 10.0.0.2:8080, ... with the given weights, in the SPEC's order. */
    static List<BackendState> weighted(int... weights) {
        List<BackendState> list = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            list.add(backend("10.0.0." + (i + 1), 8080, weights[i]));
        }
        return list;
    }

    /** Gives {@code b} exactly {@code active} established and {@code inactive} connecting connections more. */
    static <B extends BackendState> B withConnections(B b, int active, int inactive) {
        for (int i = 0; i < active; i++) {
            b.counters().lease().established();
        }
        for (int i = 0; i < inactive; i++) {
            b.counters().lease();
        }
        return b;
    }

    static PickContext client(String ip) {
        return PickContext.of(ip(ip), 40000, CLUSTER_IP);
    }

    static PickContext client(String ip, int port) {
        return PickContext.of(ip(ip), port, CLUSTER_IP);
    }

    /** Returns the endpoints of {@code n} successive picks, {@code null} for no pick. */
    static List<String> picks(Scheduler s, PickContext ctx, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(name(s.pick(ctx)));
        }
        return out;
    }

    /** Returns A for 10.0.0.1, B for 10.0.0.2 and so on, or the endpoint for other addresses. */
    static String name(Backend b) {
        if (b == null) {
            return null;
        }
        byte[] a = b.address().getAddress();
        if (a.length == 4 && a[0] == 10 && a[1] == 0 && a[2] == 0 && b.port() == 8080) {
            return String.valueOf((char) ('A' + a[3] - 1));
        }
        return Backends.format(b.address(), b.port());
    }
}
