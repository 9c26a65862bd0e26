package io.svcproxy.docker.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * The application of the container tests: a plain TCP client that runs inside the app container (on the image's
 * own Java, from the mounted test classes) and connects to a Service address, as an application next to the
 * svcproxy sidecar would. It needs nothing but java.base, so it runs on any base image.
 *
 * <pre>
 * names HOST PORT COUNT   COUNT connections, each printing what the endpoint wrote before it closed
 * hold HOST PORT          one connection to an echo endpoint: echo a line, wait until new connections to
 *                         HOST:PORT are refused (svcproxy is draining), echo another line on the same
 *                         connection, print both; exit 0 only if both came back
 * </pre>
 */
public final class TcpClient {
    private static final int TIMEOUT_MILLIS = 5_000;

    private TcpClient() {
    }

    public static void main(String[] args) throws Exception {
        String host = args[1];
        int port = Integer.parseInt(args[2]);
        switch (args[0]) {
            case "names" -> names(host, port, Integer.parseInt(args[3]));
            case "hold" -> hold(host, port);
            default -> throw new IllegalArgumentException("mode: " + args[0] + " (expected: names, hold)");
        }
    }

    private static void names(String host, int port, int count) throws IOException {
        for (int i = 0; i < count; i++) {
            try (Socket socket = connect(host, port)) {
                String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                System.out.println(answer.strip());
            }
        }
    }

    private static void hold(String host, int port) throws Exception {
        try (Socket socket = connect(host, port)) {
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                    StandardCharsets.UTF_8));
            OutputStream out = socket.getOutputStream();
            out.write("before\n".getBytes(StandardCharsets.UTF_8));
            System.out.println("echo " + in.readLine());
            System.out.println("held");
            System.out.flush();
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!refused(host, port)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("new connections were still accepted after 60 s");
                }
                Thread.sleep(100);
            }
            System.out.println("refused");
            out.write("after\n".getBytes(StandardCharsets.UTF_8));
            System.out.println("echo " + in.readLine());
        }
    }

    private static boolean refused(String host, int port) throws IOException {
        try (Socket probe = connect(host, port)) {
            return false;
        } catch (ConnectException e) {
            return true;
        }
    }

    private static Socket connect(String host, int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(host, port), TIMEOUT_MILLIS);
        socket.setSoTimeout(TIMEOUT_MILLIS);
        return socket;
    }
}
