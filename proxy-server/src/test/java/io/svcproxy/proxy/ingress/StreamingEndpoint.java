package io.svcproxy.proxy.ingress;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP endpoint for the Ingress's drain tests, on a loopback address of the test's own. It answers by the
 * request's last path element: {@code hello} (a 200 with its name, kept alive), {@code reset} (a close-delimited body
 * reset after its first byte), {@code hang} (no answer), {@code ws} (a 101, then its name every 100 ms), anything else
 * a close-delimited body of its name every 100 ms. Bounded: 40 s at most per connection. A stream whose write fails
 * (the proxy reset it) is counted in {@code writesCut}.
 */
final class StreamingEndpoint implements AutoCloseable {
    private final ServerSocket listener;
    private final String name;
    private final AtomicInteger writesCut;
    private final Thread acceptor;

    StreamingEndpoint(String ip, String name, AtomicInteger writesCut) throws IOException {
        this.listener = new ServerSocket(0, 50, InetAddress.getByName(ip));
        this.name = name;
        this.writesCut = writesCut;
        this.acceptor = new Thread(this::accept, "accept-" + name);
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    @Override
    public void close() throws Exception {
        listener.close();
        acceptor.interrupt();
        acceptor.join(5_000);
    }

    private void accept() {
        while (!listener.isClosed()) {
            Socket s;
            try {
                s = listener.accept();
            } catch (IOException e) {
                return;
            }
            Thread t = new Thread(() -> answer(s), "endpoint-" + name);
            t.setDaemon(true);
            t.start();
        }
    }

    private void answer(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                String head = readHead(in);
                if (head.isEmpty()) {
                    return;
                }
                String path = head.split(" ", 3)[1];
                if (path.endsWith("/hello")) {
                    String body = "hello from " + name;
                    out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    continue;
                }
                if (path.endsWith("/reset")) {
                    out.write(("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + name)
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    Thread.sleep(300);
                    s.setSoLinger(true, 0); // the endpoint fails mid-response: a reset
                    return;
                }
                if (path.endsWith("/hang")) {
                    Thread.sleep(40_000);
                    return;
                }
                String start = path.endsWith("/ws")
                        ? "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
                        : "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n";
                out.write(start.getBytes(StandardCharsets.US_ASCII));
                out.flush();
                try {
                    for (int i = 0; i < 400; i++) {
                        out.write(name.getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        Thread.sleep(100);
                    }
                } catch (SocketException e) {
                    writesCut.incrementAndGet(); // reset by the proxy (or a broken pipe after its reset)
                }
                return;
            }
        } catch (IOException e) {
            // the proxy closed the connection
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads an HTTP head up to its empty line; empty at the end of the stream. */
    static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            head.append((char) c);
            if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
                break;
            }
        }
        return head.toString();
    }
}
