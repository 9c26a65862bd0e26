package io.svcproxy.proxy.dataplane;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** Blocking socket helpers for the integration tests. */
final class Net {
    private Net() {
    }

    /** Opens a connection with a 5 s connect and read timeout. */
    static Socket connect(String ip, int port) throws IOException {
        Socket socket = new Socket();
        socket.setSoTimeout(5000);
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress(ip, port), 5000);
        return socket;
    }

    /** Reads until end of stream. */
    static byte[] readAll(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        int n;
        while ((n = in.read(buffer)) >= 0) {
            out.write(buffer, 0, n);
        }
        return out.toByteArray();
    }

    /** Reads until end of stream as UTF-8. */
    static String readAllText(Socket socket) throws IOException {
        return new String(readAll(socket), StandardCharsets.UTF_8);
    }

    /** Reads exactly {@code n} bytes. */
    static byte[] readExactly(Socket socket, int n) throws IOException {
        byte[] data = socket.getInputStream().readNBytes(n);
        if (data.length != n) {
            throw new IOException("end of stream after " + data.length + " of " + n + " bytes");
        }
        return data;
    }

    /**
     * Returns whether the peer reset the connection: reading ends with "Connection reset" before any byte or end
     * of stream. Used where svcproxy gives up on every endpoint and resets the client.
     */
    static boolean wasReset(Socket socket) throws IOException {
        try {
            int b = socket.getInputStream().read();
            throw new AssertionError(b < 0 ? "end of stream (a FIN), not a reset" : "a byte, not a reset");
        } catch (java.net.SocketException e) {
            if (String.valueOf(e.getMessage()).contains("reset")) {
                return true;
            }
            throw e;
        }
    }

    /**
     * Connects and returns whether svcproxy reset the connection: at connect already (it gave up on every endpoint
     * before the client's connect call returned) or at the first read.
     */
    static boolean connectAndSeeReset(String ip, int port) throws IOException {
        Socket socket;
        try {
            socket = connect(ip, port);
        } catch (java.net.SocketException e) {
            if (String.valueOf(e.getMessage()).contains("reset")) {
                return true;
            }
            throw e;
        }
        try (socket) {
            return wasReset(socket);
        }
    }

    /** Writes text and flushes. */
    static void write(Socket socket, String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        socket.getOutputStream().flush();
    }
}
