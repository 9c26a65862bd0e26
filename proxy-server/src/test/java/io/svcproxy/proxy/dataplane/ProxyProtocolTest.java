package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code proxyProtocol: v1 | v2}: the endpoint learns the client's address from the PROXY header svcproxy sends
 * before the first byte; checked by endpoints that parse the header, and by a real peer, Debian's nginx with
 * {@code listen ... proxy_protocol} (test.sh installs nginx).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProxyProtocolTest {
    static final String VIP = "127.0.10.14";
    static final int PORT = 18083;

    @TempDir
    Path dir;
    ProxyFixture fixture = new ProxyFixture(Transport.select());
    Process nginx;

    @AfterEach
    void tearDown() throws InterruptedException {
        fixture.close();
        if (nginx != null) {
            nginx.destroy();
            nginx.waitFor(5, TimeUnit.SECONDS);
        }
    }

    void proxy(int endpointPort, String version) throws Exception {
        fixture.proxy("proxy: {admin: off}\nservices:\n  - name: pp\n    clusterIP: " + VIP + "\n    ports: [{port: "
                + PORT + ", proxyProtocol: " + version + "}]\n    endpoints: [{ip: 127.0.0.14, port: " + endpointPort
                + "}]\n");
    }

    @Test
    void v1SendsTheTextLineBeforeAnyByteEvenWhenTheClientSendsNothing() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.14"))) {
            proxy(server.getLocalPort(), "v1");
            try (Socket client = Net.connect(VIP, PORT); Socket endpoint = server.accept()) {
                endpoint.setSoTimeout(5000);
                String line = readLine(endpoint.getInputStream());
                assertThat(line).isEqualTo("PROXY TCP4 127.0.0.1 " + VIP + " " + client.getLocalPort() + " " + PORT);
                Net.write(client, "hello");
                assertThat(new String(Net.readExactly(endpoint, 5), StandardCharsets.UTF_8)).isEqualTo("hello");
                Net.write(endpoint, "world");
                assertThat(new String(Net.readExactly(client, 5), StandardCharsets.UTF_8))
                        .as("the client sees no header").isEqualTo("world");
            }
        }
    }

    @Test
    void anIpv6ClientGetsATcp6Header() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.14"))) {
            fixture.proxy("proxy: {admin: off}\nservices:\n  - name: pp6\n    clusterIP: \"::1\"\n"
                    + "    ports: [{port: " + (PORT + 2) + ", proxyProtocol: v1}]\n"
                    + "    endpoints: [{ip: 127.0.0.14, port: " + server.getLocalPort() + "}]\n");
            try (Socket client = Net.connect("::1", PORT + 2); Socket endpoint = server.accept()) {
                endpoint.setSoTimeout(5000);
                String line = readLine(endpoint.getInputStream());
                assertThat(line).startsWith("PROXY TCP6 ").endsWith(" " + client.getLocalPort() + " " + (PORT + 2));
                String[] parts = line.split(" ");
                assertThat(InetAddress.getByName(parts[2]).isLoopbackAddress()).isTrue();
                assertThat(InetAddress.getByName(parts[3])).isEqualTo(InetAddress.getByName("::1"));
            }
        }
    }

    @Test
    void v2SendsTheBinaryHeaderWithTheClientsAddressAndPort() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.14"))) {
            proxy(server.getLocalPort(), "v2");
            try (Socket client = Net.connect(VIP, PORT); Socket endpoint = server.accept()) {
                endpoint.setSoTimeout(5000);
                DataInputStream in = new DataInputStream(endpoint.getInputStream());
                byte[] signature = new byte[12];
                in.readFully(signature);
                assertThat(signature).isEqualTo(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55,
                        0x49, 0x54, 0x0A});
                assertThat(in.readUnsignedByte()).as("version 2, PROXY").isEqualTo(0x21);
                assertThat(in.readUnsignedByte()).as("AF_INET, STREAM").isEqualTo(0x11);
                assertThat(in.readUnsignedShort()).as("address block").isEqualTo(12);
                byte[] src = new byte[4];
                byte[] dst = new byte[4];
                in.readFully(src);
                in.readFully(dst);
                assertThat(InetAddress.getByAddress(src).getHostAddress()).isEqualTo("127.0.0.1");
                assertThat(InetAddress.getByAddress(dst).getHostAddress()).isEqualTo(VIP);
                assertThat(in.readUnsignedShort()).isEqualTo(client.getLocalPort());
                assertThat(in.readUnsignedShort()).isEqualTo(PORT);
                Net.write(client, "after");
                assertThat(new String(Net.readExactly(endpoint, 5), StandardCharsets.UTF_8)).isEqualTo("after");
            }
        }
    }

    @Test
    void nginxBehindSvcproxyLogsTheRealClientAddress() throws Exception {
        assertThat(new File("/usr/sbin/nginx").canExecute()).as("/usr/sbin/nginx (apt-get install nginx; test.sh "
                + "does it)").isTrue();
        int nginxPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.14"))) {
            nginxPort = probe.getLocalPort();
        }
        Path conf = dir.resolve("nginx.conf");
        Files.writeString(conf, """
                daemon off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/error.log warn;
                events { worker_connections 64; }
                http {
                    access_log %1$s/access.log;
                    client_body_temp_path %1$s/body;
                    proxy_temp_path %1$s/proxy;
                    fastcgi_temp_path %1$s/fastcgi;
                    uwsgi_temp_path %1$s/uwsgi;
                    scgi_temp_path %1$s/scgi;
                    server {
                        listen 127.0.0.14:%2$d proxy_protocol;
                        location / { return 200 "client $proxy_protocol_addr:$proxy_protocol_port\\n"; }
                    }
                }
                """.formatted(dir, nginxPort));
        nginx = new ProcessBuilder("/usr/sbin/nginx", "-p", dir.toString(), "-c", conf.toString(), "-e",
                dir.resolve("error.log").toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("nginx.out").toFile()).start();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
            try (Socket s = new Socket("127.0.0.14", nginxPort)) {
                return true;
            }
        });
        for (String version : new String[] {"v1", "v2"}) {
            proxy(nginxPort, version);
            try (Socket client = Net.connect(VIP, PORT)) {
                Net.write(client, "GET / HTTP/1.0\r\nHost: pp\r\n\r\n");
                String response = Net.readAllText(client);
                assertThat(response).as(version).startsWith("HTTP/1.1 200")
                        .contains("client 127.0.0.1:" + client.getLocalPort());
            }
            fixture.server().close();
        }
    }

    static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            line.append((char) c);
        }
        assertThat(line.toString()).endsWith("\r");
        return line.substring(0, line.length() - 1);
    }
}
