package io.svcproxy.ingress.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * An HTTP/1.1 endpoint on a plain socket, for what the JDK's server does not do: it reads chunked request bodies with
 * their trailers and records them, and answers {@code /trailers} with a chunked body and trailers of its own
 * ({@code x-checksum: abc}, {@code grpc-status: 0}; {@code /trailers-slow} sends the head, waits 100 ms, then the
 * rest), {@code /reject} with a {@code 417} without reading the body. Kept-alive connections, a thread each.
 */
final class RawHttpEndpoint implements AutoCloseable {
    /** A request as the endpoint read it: the head's lines (lower-case names), body and trailer lines. */
    record Received(List<String> head, byte[] body, List<String> trailers) {
        boolean hasHeader(String line) {
            return head.contains(line);
        }
    }

    private final ServerSocket server;
    final BlockingQueue<Received> received = new LinkedBlockingQueue<>();

    RawHttpEndpoint(String ip) throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getByName(ip), 0), 100);
        Thread acceptor = new Thread(this::accept, "raw-endpoint-" + ip);
        acceptor.setDaemon(true);
        acceptor.start();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread t = new Thread(() -> serve(s));
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                List<String> head = new ArrayList<>();
                String line;
                while ((line = readLine(in)) != null && !line.isEmpty()) {
                    head.add(head.isEmpty() ? line : lowerName(line));
                }
                if (line == null) {
                    return;
                }
                String path = head.get(0).split(" ")[1];
                if (path.equals("/reject")) {
                    out.write("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    received.add(new Received(head, new byte[0], List.of()));
                    return;
                }
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                List<String> trailers = new ArrayList<>();
                if (head.contains("transfer-encoding: chunked")) {
                    int size;
                    while ((size = Integer.parseInt(readLine(in).split(";")[0].trim(), 16)) > 0) {
                        body.write(in.readNBytes(size));
                        readLine(in);
                    }
                    while (!(line = readLine(in)).isEmpty()) {
                        trailers.add(lowerName(line));
                    }
                } else {
                    for (String h : head) {
                        if (h.startsWith("content-length: ")) {
                            body.write(in.readNBytes(Integer.parseInt(h.substring(16).trim())));
                        }
                    }
                }
                received.add(new Received(head, body.toByteArray(), trailers));
                byte[] text = ("body=" + body.size() + " trailers=" + trailers + "\n").getBytes(StandardCharsets.UTF_8);
                if (path.startsWith("/trailers")) {
                    out.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    if (path.equals("/trailers-slow")) {
                        out.flush();
                        Thread.sleep(100);
                    }
                    out.write((Integer.toHexString(text.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(text);
                    out.write("\r\n0\r\nx-checksum: abc\r\ngrpc-status: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                } else {
                    out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + text.length
                            + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(text);
                }
                out.flush();
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            // the proxy closed the connection, or the test ended
        }
    }

    private static String lowerName(String line) {
        int colon = line.indexOf(':');
        return colon < 0 ? line : line.substring(0, colon).toLowerCase(Locale.ROOT) + line.substring(colon);
    }

    /** A line without its CRLF, or {@code null} at the end of the stream. */
    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                int n = sb.length();
                return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
            }
            sb.append((char) c);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
