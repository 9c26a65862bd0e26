package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-117's review of {@code proxyProtocol}: the v1 line as HAProxy's {@code send-proxy} writes it. Endpoint
 * on 127.0.0.139; the IPv6 ClusterIP is ::1 at a port the kernel chose.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProxyProtocolIpv6TextTest {
    final ProxyFixture fixture = new ProxyFixture(Transport.select());

    @AfterEach
    void tearDown() {
        fixture.close();
    }

    static int freePort(String ip) throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(ip))) {
            return s.getLocalPort();
        }
    }

    /**
     * The v1 line carries IPv6 addresses in their canonical text (HAProxy's spec: "IPv6 addresses must be indicated as
     * series of 4 hexadecimal digits ... with the acceptance of one double colon sequence to replace the largest
     * acceptable range of consecutive zeroes"; HAProxy's own {@code make_proxy_line_v1} writes them with
     * {@code inet_ntop}: {@code ::1}). svcproxy writes Java's {@code getHostAddress()}, {@code 0:0:0:0:0:0:0:1}: an
     * endpoint that logs or matches the text it got (nginx's {@code $proxy_protocol_addr}, an allow-list of
     * addresses) sees a different client than behind HAProxy; and a link-local client's would carry a scope
     * ({@code fe80:0:0:0:0:0:0:1%2}), which no parser of the spec accepts.
     */
    @Test
    void anIpv6ClientIsWrittenInCanonicalTextAsHaproxyWritesIt() throws Exception {
        int port = freePort("::1");
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.139"))) {
            fixture.proxy("proxy: {admin: off}\nservices:\n  - name: pp6\n    clusterIP: \"::1\"\n"
                    + "    ports: [{port: " + port + ", proxyProtocol: v1}]\n"
                    + "    endpoints: [{ip: 127.0.0.139, port: " + server.getLocalPort() + "}]\n");
            try (Socket client = Net.connect("::1", port); Socket endpoint = server.accept()) {
                endpoint.setSoTimeout(5000);
                String line = ProxyProtocolTest.readLine(endpoint.getInputStream());
                assertThat(line).as("the PROXY line an IPv6 client's connection starts with")
                        .isEqualTo("PROXY TCP6 ::1 ::1 " + client.getLocalPort() + " " + port);
            }
        }
    }
}
