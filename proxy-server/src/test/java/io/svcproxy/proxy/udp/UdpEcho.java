package io.svcproxy.proxy.udp;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A UDP endpoint for the tests: answers each datagram with its name, a colon and the datagram (or, with
 * {@code raw}, the datagram alone), to the address it came from. Closing it makes its port refuse (ICMP). Public
 * for the UDP tests of other packages (the Kubernetes ones).
 */
public final class UdpEcho implements AutoCloseable {
    final String name;
    final DatagramSocket socket;
    final AtomicInteger received = new AtomicInteger();
    private final boolean raw;
    private final Thread thread;

    public UdpEcho(String ip, String name, boolean raw) throws SocketException {
        this.name = name;
        this.raw = raw;
        this.socket = new DatagramSocket(new InetSocketAddress(ip, 0));
        this.thread = new Thread(this::serve, "udp-echo-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    public int port() {
        return socket.getLocalPort();
    }

    public String ip() {
        return socket.getLocalAddress().getHostAddress();
    }

    private void serve() {
        byte[] buffer = new byte[65_535];
        while (!socket.isClosed()) {
            try {
                DatagramPacket in = new DatagramPacket(buffer, buffer.length);
                socket.receive(in);
                received.incrementAndGet();
                byte[] answer;
                if (raw) {
                    answer = java.util.Arrays.copyOf(in.getData(), in.getLength());
                } else {
                    answer = (name + ":" + new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8))
                            .getBytes(StandardCharsets.UTF_8);
                }
                socket.send(new DatagramPacket(answer, answer.length, in.getSocketAddress()));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    /**
     * Closes the socket and waits for its thread to leave: a socket closed while a thread is blocked in its receive
     * keeps its descriptor until that thread wakes up, and a datagram that comes meanwhile is taken and lost where
     * the test expects the port to refuse it.
     */
    @Override
    public void close() {
        socket.close();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
