package io.svcproxy.benchmarks.scale;

/**
 * The synthetic cluster: {@code services} Services of one TCP port each, {@code endpoints} endpoints each, and one
 * more Service, the probe, whose one endpoint is a live backend the harness flips between two names to see when a
 * change is in effect. ClusterIPs 127.0.10.1-200 with 50 ports each (20000-20049), endpoints 127.0.0.10+ (never
 * connected to), the probe at 127.0.10.250:19999 over backends on 127.0.0.8 and 127.0.0.9.
 */
record Cluster(int services, int endpoints) {
    static final String PROBE_IP = "127.0.10.250";
    static final int PROBE_PORT = 19999;
    static final int PORTS_PER_IP = 50;

    Cluster {
        if (services > 200 * PORTS_PER_IP) {
            throw new IllegalArgumentException("at most " + 200 * PORTS_PER_IP + " Services on 127.0.10.1-200");
        }
        if (endpoints < 1 || endpoints > 200) {
            throw new IllegalArgumentException("1 to 200 endpoints per Service");
        }
    }

    static String name(int i) {
        return "svc-" + i;
    }

    static String clusterIP(int i) {
        return "127.0.10." + (1 + i / PORTS_PER_IP);
    }

    static int port(int i) {
        return 20000 + i % PORTS_PER_IP;
    }

    /** The IP of endpoint {@code j} of a Service; {@code generation} moves the first one (an endpoint change). */
    static String endpointIP(int j, int generation) {
        return "127.0.0." + (10 + (j == 0 ? generation % 200 : j + 200) % 245);
    }
}
