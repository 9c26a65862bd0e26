package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.proxy.ProxyServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A client that reset before svcproxy served it (its event loop was busy) gets no endpoint connection on a {@code
 * proxyProtocol} port: on epoll the endpoint saw a PROXY header naming it and a close, one per such client (the
 * connect to a local endpoint completes within channelActive, before the client is ever read), where io_uring's
 * acceptor closes the client unserved. Nothing is counted against the endpoint. NIO is left out: Java keeps the
 * peer's address from accept, so the reset is known only at the client's first read (see FrontendHandler).
 * ClusterIP 127.0.153.10, endpoint 127.0.153.1.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ProxyProtocolGoneClientTest {
    static final String VIP = "127.0.153.10";
    static final String ENDPOINT = "127.0.153.1";

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
    void aClientGoneBeforeItWasServedGetsNoEndpointConnection(Transport transport) throws Exception {
        int vipPort = DrainDeadlineOnEveryTransportTest.freePort(VIP);
        try (ProxyFixture fixture = new ProxyFixture(transport);
             ServerSocket endpoint = new ServerSocket(0, 50, InetAddress.getByName(ENDPOINT))) {
            ProxyServer server = fixture.proxy("proxy: {admin: off}\nservices:\n  - name: pp\n    clusterIP: " + VIP
                    + "\n    ports: [{port: " + vipPort + ", proxyProtocol: v1}]\n    endpoints: [{ip: " + ENDPOINT
                    + ", port: " + endpoint.getLocalPort() + "}]\n");
            IoUringGoneClientIngressTest.resetBeforeServed(server, new InetSocketAddress(VIP, vipPort),
                    "hello".getBytes(StandardCharsets.US_ASCII), 5);
            IoUringGoneClientIngressTest.checkLoopsIdle(server);
            // a client served after them: its header is the last the endpoint gets
            List<String> gone = new ArrayList<>();
            try (Socket live = Net.connect(VIP, vipPort)) {
                String last = "PROXY TCP4 127.0.0.1 " + VIP + " " + live.getLocalPort() + " " + vipPort;
                endpoint.setSoTimeout(20_000);
                while (true) {
                    try (Socket s = endpoint.accept()) {
                        s.setSoTimeout(5000);
                        String line = firstLine(s.getInputStream());
                        if (line.equals(last)) {
                            break;
                        }
                        gone.add(line);
                    }
                }
            }
            ServicePort port = server.table().servicePorts().stream()
                    .filter(p -> p.key().port() == vipPort).findFirst().orElseThrow();
            assertThat(gone).as("%s: endpoint connections of clients gone before they were served", transport)
                    .isEmpty();
            assertThat(port.backendSet().backends().get(0).counters().health().consecutiveFailures())
                    .as("%s: nothing counted against the endpoint", transport).isZero();
        }
    }

    /** The first line, without its CRLF; what was read up to an end or a reset when there is none. */
    private static String firstLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        try {
            for (int c; (c = in.read()) != -1 && c != '\n'; ) {
                if (c != '\r') {
                    b.append((char) c);
                }
            }
        } catch (SocketTimeoutException | java.net.SocketException e) {
            b.append(" <").append(e.getMessage()).append('>');
        }
        return b.toString();
    }
}
