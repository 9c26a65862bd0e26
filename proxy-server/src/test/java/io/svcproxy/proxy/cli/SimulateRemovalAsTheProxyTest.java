package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code svcproxy simulate --events} ends or cuts a removed endpoint's connections when the live proxy does. From
 * helper-133's review: the replay kept a removed endpoint's UDP flows, and so the endpoint, draining until their
 * recorded end (a TCP connection's treatment), where the proxy ends them at the reload; and kept a removed
 * endpoint's TCP connections until their recorded end, where the proxy cuts them at {@code proxy.drainTimeout}.
 */
class SimulateRemovalAsTheProxyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** sh without fallback over two endpoints: a client whose bucket holds a weight-0 endpoint is refused. */
    private static final String SH = """
            proxy: {admin: off, drainTimeout: 1s}
            services:
              - name: web
                clusterIP: 127.0.10.24
                scheduler: sh
                ports: [{name: http, port: 44000}]
                endpoints: [{ip: 127.0.0.84, port: 44001}, {ip: 127.0.0.85, port: 44001}]
            """;

    private static final String SH_UDP = """
            proxy: {admin: off}
            services:
              - name: dns
                clusterIP: 127.0.10.25
                scheduler: sh
                ports: [{name: dns, protocol: UDP, port: 53, targetPort: 5353}]
                endpoints: [{ip: 127.0.0.86}, {ip: 127.0.0.87}]
            """;

    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    /** The endpoint sh gives the client of {@code trace}'s one connection, by a replay without events. */
    private String endpointOf(Path config, Path trace) throws IOException {
        CommandLineTest.Result r = CommandLineTest.simulateTrace(config, trace, "--json");
        assertThat(r.code()).as("err: %s", r.err()).isZero();
        for (JsonNode e : JSON.readTree(r.out()).path("schedulers").path("sh").path("endpoints")) {
            if (e.path("connections").asLong() == 1) {
                return e.path("endpoint").asText();
            }
        }
        throw new AssertionError("no endpoint took the connection: " + r.out());
    }

    /**
     * README: a UDP flow ends when its endpoint "leaves the list (removed, not ready, weight 0)" ({@code
     * UdpFlows.endpointsChanged}); the removed endpoint has no flow left and leaves the list at once. The replay
     * keeps the flow, and so the endpoint, as draining (a TCP connection's treatment) until the flow's recorded end,
     * and refuses the client sh hashes to it meanwhile.
     */
    @Test
    void aUdpFlowEndsWhenItsEndpointIsRemovedAsTheProxyEndsIt() throws IOException {
        Path config = write("c.yaml", SH_UDP);
        Path first = write("first.csv", "start,client,clientPort,duration\n0,127.0.133.12,1000,1000\n");
        String held = endpointOf(config, first);
        Path trace = write("t.csv", "start,client,clientPort,duration\n"
                + "0,127.0.133.12,1000,1000\n"
                + "100,127.0.133.12,1001,1\n");
        Path events = write("ev.yaml", "- {at: 10, endpoint: " + held + ", remove: true}\n");
        CommandLineTest.Result r = CommandLineTest.simulateTrace(config, trace, "--events", events.toString(),
                "--json");
        assertThat(r.code()).as("err: %s", r.err()).isZero();
        JsonNode sh = JSON.readTree(r.out()).path("schedulers").path("sh");
        assertThat(sh.path("refused").asLong())
                .as("the flow at 100 s: %s had no flow left after its removal at 10 s: %s", held, r.out())
                .isZero();
    }

    /**
     * README: a removed endpoint's "established connections go on for up to {@code drainTimeout}, then its
     * connections are reset", and the drained endpoint leaves the list (sh's table is built again without it). The
     * replay keeps a removed endpoint's connection until the trace's own end: here for 1,000 s where the config's
     * drainTimeout is 1 s, so the removed endpoint holds its sh buckets (weight 0) all that time and the same client
     * coming back at 100 s is refused, which the live proxy would have served from the other endpoint since 11 s.
     */
    @Test
    void aRemovedEndpointsConnectionsAreCutAtTheConfigsDrainTimeoutAsTheProxyCutsThem() throws IOException {
        Path config = write("c.yaml", SH);
        Path first = write("first.csv", "start,client,clientPort,duration\n0,127.0.133.11,1000,1000\n");
        String held = endpointOf(config, first);
        Path trace = write("t.csv", "start,client,clientPort,duration\n"
                + "0,127.0.133.11,1000,1000\n"
                + "100,127.0.133.11,1001,1\n");
        Path events = write("ev.yaml", "- {at: 10, endpoint: " + held + ", remove: true}\n");
        CommandLineTest.Result r = CommandLineTest.simulateTrace(config, trace, "--events", events.toString(),
                "--json");
        assertThat(r.code()).as("err: %s", r.err()).isZero();
        JsonNode sh = JSON.readTree(r.out()).path("schedulers").path("sh");
        assertThat(sh.path("refused").asLong())
                .as("the connection at 100 s, 89 s after %s's drain timeout ended its connection and took it out of"
                        + " the list: %s", held, r.out())
                .isZero();
    }
}
