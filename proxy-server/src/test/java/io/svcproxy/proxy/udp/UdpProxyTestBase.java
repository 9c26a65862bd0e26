package io.svcproxy.proxy.udp;

import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.ServicePort;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;

/**
 * The fixture of the UDP tests that start svcproxy in front of their own endpoints: the client sockets, the echo
 * endpoints and the proxy a test makes, closed after it (the clients, then the proxy, then the endpoints).
 */
abstract class UdpProxyTestBase {
    final List<DatagramSocket> sockets = new ArrayList<>();
    final List<UdpEcho> echoes = new ArrayList<>();
    ProxyServer server;

    @AfterEach
    void closeAll() {
        sockets.forEach(DatagramSocket::close);
        if (server != null) {
            server.close();
        }
        echoes.forEach(UdpEcho::close);
    }

    /** The one Service port of the test's config. */
    ServicePort port() {
        return server.table().servicePorts().get(0);
    }

    /** An echo endpoint on {@code ip} answering {@code name:} and what it got, closed after the test. */
    UdpEcho echo(String ip, String name) throws IOException {
        UdpEcho e = new UdpEcho(ip, name, false);
        echoes.add(e);
        return e;
    }

    /** A client socket on {@code ip}, connected to {@code vip:port}, closed after the test. */
    DatagramSocket client(String ip, String vip, int port, int timeoutMillis) throws IOException {
        DatagramSocket socket = new DatagramSocket(new InetSocketAddress(ip, 0));
        socket.setSoTimeout(timeoutMillis);
        socket.connect(new InetSocketAddress(vip, port));
        sockets.add(socket);
        return socket;
    }
}
