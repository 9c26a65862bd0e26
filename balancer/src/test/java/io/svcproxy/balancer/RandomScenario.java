package io.svcproxy.balancer;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/** Seeded random backend lists, counters and clients for the property tests. */
final class RandomScenario {
    private static final int[] WEIGHTS = {0, 1, 1, 1, 2, 3, 4, 5, 8, 10, 100, 65535};

    final Random random;

    RandomScenario(long seed) {
        this.random = new Random(seed);
    }

    /** Returns up to {@code max} distinct backends in the SPEC's order, with random weights and counters. */
    List<BackendState> backends(int max) {
        int n = random.nextInt(max + 1);
        Set<String> seen = new LinkedHashSet<>();
        List<BackendState> list = new ArrayList<>();
        while (list.size() < n) {
            InetAddress address = address();
            int port = random.nextBoolean() ? 8080 : 1 + random.nextInt(65535);
            if (!seen.add(address.getHostAddress() + port)) {
                continue;
            }
            BackendState b = BackendState.of(address, port, 1 + random.nextInt(20));
            int weight = WEIGHTS[random.nextInt(WEIGHTS.length)];
            if (weight == 0 && random.nextInt(4) == 0) {
                b = BackendState.of(address, port, 0); // never had a weight
            } else if (weight == 0) {
                b = b.withWeight(0, BackendState.State.DRAINING);
            } else {
                b = BackendState.of(address, port, weight);
            }
            TestBackends.withConnections(b, random.nextInt(4), random.nextInt(6));
            list.add(b);
        }
        list.sort(Backends.ORDER);
        return list;
    }

    InetAddress address() {
        byte[] bytes = new byte[random.nextInt(5) == 0 ? 16 : 4];
        random.nextBytes(bytes);
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    PickContext client() {
        return PickContext.of(address(), 1024 + random.nextInt(64000), address());
    }

    /** Returns the client with a random subset of {@code backends} avoided (often none). */
    PickContext clientAvoiding(List<? extends Backend> backends) {
        PickContext ctx = client();
        if (random.nextBoolean()) {
            for (Backend b : backends) {
                if (random.nextInt(3) == 0) {
                    ctx = ctx.withAvoided(b);
                }
            }
        }
        return ctx;
    }
}
