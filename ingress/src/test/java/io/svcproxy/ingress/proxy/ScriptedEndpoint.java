package io.svcproxy.ingress.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An endpoint on a plain socket that answers each request as its test scripts it, byte for byte, for responses no
 * real server sends (malformed chunks, unsolicited 101s). Reads each request's head (and a {@code Content-Length}
 * body), records it as "N request-line" with N the connection's number from 1, and passes it to the script, which
 * writes the answer; the connection stays open for the next request until the script returns {@code false}.
 */
final class ScriptedEndpoint implements AutoCloseable {
    /** Writes the answer to one request; returns whether the connection reads the next request. */
    interface Script {
        boolean answer(String requestLine, InputStream in, OutputStream out) throws IOException, InterruptedException;
    }

    private final ServerSocket server;
    private final Script script;
    private final AtomicInteger connections = new AtomicInteger();
    /** The requests read, as "N request-line". */
    final BlockingQueue<String> requests = new LinkedBlockingQueue<>();

    ScriptedEndpoint(String ip, Script script) throws IOException {
        this.script = script;
        server = new ServerSocket(0, 50, InetAddress.getByName(ip));
        Thread acceptor = new Thread(this::accept, "scripted-endpoint-" + ip);
        acceptor.setDaemon(true);
        acceptor.start();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    /** How many connections the proxy opened to it. */
    int connections() {
        return connections.get();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                int n = connections.incrementAndGet();
                Thread t = new Thread(() -> serve(n, s), "scripted-endpoint-connection-" + n);
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(int n, Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            boolean more = true;
            while (more) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                int cl = head.toLowerCase(java.util.Locale.ROOT).indexOf("\r\ncontent-length: ");
                if (cl >= 0) {
                    in.readNBytes(Integer.parseInt(head.substring(cl + 18, head.indexOf("\r\n", cl + 2)).trim()));
                }
                String requestLine = head.substring(0, head.indexOf("\r\n"));
                requests.add(n + " " + requestLine);
                more = script.answer(requestLine, in, out);
                out.flush();
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            // the proxy closed the connection, or the test ended
        }
    }

    /** A request's head as sent, or {@code null} at the end of the stream before one. */
    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            head.append((char) c);
            state = (c == '\r' && state % 2 == 0) || (c == '\n' && state % 2 == 1) ? state + 1 : 0;
        }
        return head.toString();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
