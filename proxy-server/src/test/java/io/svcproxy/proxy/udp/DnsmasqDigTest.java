package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster DNS with real peers: three Debian {@code dnsmasq} instances on 127.0.0.51-53 as the endpoints of a DNS
 * Service (UDP and TCP on one port, as kube-dns), and Debian's {@code dig} as the client. Each dnsmasq answers
 * {@code svc.test} with its own address, so the answers show which endpoint served each query. test.sh installs
 * dnsmasq-base and bind9-dnsutils; without them these tests fail, saying so.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DnsmasqDigTest {
    static final String VIP = "127.0.10.53";
    static final int PORT = 10054;
    static final int DNS_PORT = 5354;

    @TempDir
    Path dir;

    final List<Process> dnsmasqs = new ArrayList<>();
    ProxyServer server;

    @BeforeEach
    void startDnsmasq() throws Exception {
        for (String tool : new String[] {"/usr/sbin/dnsmasq", "/usr/bin/dig"}) {
            assertThat(new File(tool).canExecute())
                    .as("%s (apt-get install dnsmasq-base bind9-dnsutils; test.sh does it)", tool).isTrue();
        }
        for (int i = 1; i <= 3; i++) {
            Process p = new ProcessBuilder("/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                    "--no-resolv", "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.5" + i,
                    "--port=" + DNS_PORT, "--pid-file=", "--user=root", "--log-facility=-",
                    "--address=/svc.test/127.1.0." + i)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("dnsmasq-" + i + ".log").toFile()).start();
            dnsmasqs.add(p);
        }
        for (int i = 1; i <= 3; i++) {
            String server = "127.0.0.5" + i;
            await().atMost(Duration.ofSeconds(10)).until(() -> dig(server, DNS_PORT, "").equals("127.1.0."
                    + server.charAt(server.length() - 1)));
        }
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        for (Process p : dnsmasqs) {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    static String dig(String server, int port, String extra) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("/usr/bin/dig", "@" + server, "-p", Integer.toString(port),
                "svc.test", "A", "+short", "+tries=1", "+time=2"));
        if (!extra.isEmpty()) {
            command.add(extra);
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        p.waitFor(10, TimeUnit.SECONDS);
        return out;
    }

    void startProxy(String scheduler) throws Exception {
        String yaml = "proxy: {admin: off}\nservices:\n  - name: kube-dns\n    namespace: kube-system\n"
                + "    clusterIP: " + VIP + "\n    scheduler: " + scheduler + "\n    ports:\n"
                + "      - {name: dns, protocol: UDP, port: " + PORT + ", targetPort: " + DNS_PORT
                + ", udpResponses: 1}\n"
                + "      - {name: dns-tcp, protocol: TCP, port: " + PORT + ", targetPort: " + DNS_PORT + "}\n"
                + "    endpoints: [{ip: 127.0.0.51}, {ip: 127.0.0.52}, {ip: 127.0.0.53}]\n";
        Files.writeString(dir.resolve("svcproxy.yaml"), yaml);
        server = ProxyServer.start(ConfigLoader.parse(yaml, "svcproxy.yaml"));
    }

    @Test
    void digThroughTheClusterIpIsAnsweredByTheThreeDnsmasqsInTurn() throws Exception {
        startProxy("rr");
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            answers.add(dig(VIP, PORT, ""));
        }
        assertThat(answers).containsExactly("127.1.0.1", "127.1.0.2", "127.1.0.3", "127.1.0.1", "127.1.0.2",
                "127.1.0.3");
        // udpResponses: 1 ends each flow with its answer
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().udpFlowCount() == 0);
    }

    @Test
    void digOverTcpUsesTheTcpPortOfTheSameNumber() throws Exception {
        startProxy("rr");
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            answers.add(dig(VIP, PORT, "+tcp"));
        }
        assertThat(answers).containsExactly("127.1.0.1", "127.1.0.2", "127.1.0.3");
    }

    @Test
    void aStoppedDnsmasqIsNoLongerAskedOnceItRefuses() throws Exception {
        startProxy("rr");
        dnsmasqs.get(0).destroy(); // 127.0.0.51 now refuses (ICMP port unreachable)
        dnsmasqs.get(0).waitFor(5, TimeUnit.SECONDS);
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            String answer = dig(VIP, PORT, "");
            if (!answer.isEmpty() && !answer.contains("timed out") && !answer.contains("connection refused")) {
                answers.add(answer);
            }
        }
        assertThat(answers).isNotEmpty().doesNotContain("127.1.0.1").allMatch(a -> a.startsWith("127.1.0."));
    }
}
