package io.svcproxy.benchmarks.scale;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * The probe's two backends (each answers its name and closes) and the client that asks the probe Service which
 * one it reaches.
 */
final class Probe implements AutoCloseable {
    static final String A = "127.0.0.8";
    static final String B = "127.0.0.9";
    private final ServerSocket a;
    private final ServerSocket b;

    Probe() throws IOException {
        a = serve(A, "a");
        b = serve(B, "b");
    }

    int port(String ip) {
        return (ip.equals(A) ? a : b).getLocalPort();
    }

    private static ServerSocket serve(String ip, String name) throws IOException {
        ServerSocket server = new ServerSocket(0, 512, InetAddress.getByName(ip));
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept(); OutputStream out = s.getOutputStream()) {
                    out.write(name.getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    if (server.isClosed()) {
                        return;
                    }
                }
            }
        }, "probe-" + name);
        t.setDaemon(true);
        t.start();
        return server;
    }

    /** Returns the name of the backend the probe Service reaches now, or "" when it does not answer. */
    static String ask() {
        try (Socket s = new Socket()) {
            s.setSoTimeout(2000);
            s.connect(new InetSocketAddress(Cluster.PROBE_IP, Cluster.PROBE_PORT), 2000);
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * Waits until the probe answers {@code name} and returns the milliseconds since {@code sinceNanos}, or -1 after
     * {@code timeoutMillis}.
     */
    static double waitFor(String name, long sinceNanos, long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (System.nanoTime() < deadline) {
            if (name.equals(ask())) {
                return (System.nanoTime() - sinceNanos) / 1e6;
            }
            ScaleBench.sleep(2);
        }
        return -1;
    }

    @Override
    public void close() throws IOException {
        a.close();
        b.close();
    }
}
