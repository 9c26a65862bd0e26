package io.svcproxy.ingress.proxy;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Answers every request (Content-Length or chunked bodies) with the SHA-256 of its body, but reads no body and
 * answers no request before {@link #open}; its sockets' receive buffers are small, so what it holds unread is little
 * (and it reads ahead at most 512 bytes).
 */
final class GatedEndpoint implements AutoCloseable {
    final AtomicInteger heads = new AtomicInteger();
    final AtomicLong bodyBytes = new AtomicLong();
    private final CountDownLatch gate = new CountDownLatch(1);
    private final ServerSocket server;

    GatedEndpoint(String ip) throws IOException {
        server = new ServerSocket();
        server.setReceiveBufferSize(64 * 1024);
        server.bind(new InetSocketAddress(InetAddress.getByName(ip), 0), 300);
        Thread acceptor = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread t = new Thread(() -> serve(s));
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    void open() {
        gate.countDown();
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = new BufferedInputStream(s.getInputStream(), 512);
            OutputStream out = s.getOutputStream();
            while (true) {
                long length = 0;
                boolean chunked = false;
                String l = readLine(in);
                if (l == null) {
                    return;
                }
                for (; l != null && !l.isEmpty(); l = readLine(in)) {
                    String lower = l.toLowerCase();
                    if (lower.startsWith("content-length:")) {
                        length = Long.parseLong(l.substring(15).trim());
                    } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                        chunked = true;
                    }
                }
                heads.incrementAndGet();
                gate.await();
                MessageDigest sha = TestEndpoints.sha256();
                if (!chunked) {
                    if (!readBody(in, length, sha)) {
                        return;
                    }
                } else {
                    for (long size; (size = Long.parseLong(nextLine(in).split(";")[0], 16)) > 0; ) {
                        if (!readBody(in, size, sha)) {
                            return;
                        }
                        nextLine(in); // the chunk's CRLF
                    }
                    while (!nextLine(in).isEmpty()) {
                        // trailers
                    }
                }
                byte[] body = HexFormat.of().formatHex(sha.digest()).getBytes(StandardCharsets.US_ASCII);
                out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // the proxy closed the connection, or the test ended
        }
    }

    private boolean readBody(InputStream in, long length, MessageDigest sha) throws IOException {
        byte[] buf = new byte[65536];
        for (long left = length; left > 0; ) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
                return false;
            }
            sha.update(buf, 0, n);
            bodyBytes.addAndGet(n);
            left -= n;
        }
        return true;
    }

    /** A line without its CRLF, which must be there. */
    private static String nextLine(InputStream in) throws IOException {
        String l = readLine(in);
        if (l == null) {
            throw new EOFException("the connection ended within a chunked body");
        }
        return l;
    }

    /** A line without its CRLF; {@code null} at the end of the stream. */
    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int c; (c = in.read()) >= 0; ) {
            if (c == '\n') {
                return line.toString().trim();
            }
            line.append((char) c);
        }
        return line.isEmpty() ? null : line.toString().trim();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
