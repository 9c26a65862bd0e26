package io.svcproxy.ingress.proxy;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** One kept-alive HTTP/1.1 client connection that writes requests as given and parses responses by hand. */
final class RawHttpClient implements Closeable {
    record Response(int status, Map<String, String> headers, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    RawHttpClient(InetSocketAddress address) throws IOException {
        this(connect(address));
    }

    /** Speaks over a connected socket (a TLS one, say). */
    RawHttpClient(Socket connected) throws IOException {
        socket = connected;
        socket.setSoTimeout(30_000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    private static Socket connect(InetSocketAddress address) throws IOException {
        Socket s = new Socket();
        s.connect(address, 5000);
        return s;
    }

    /** Closes the connection with a reset (SO_LINGER 0), as a client that gives up does. */
    void abort() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    Response get(String host, String target, String... headerLines) throws IOException {
        StringBuilder sb = new StringBuilder("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n");
        for (String h : headerLines) {
            sb.append(h).append("\r\n");
        }
        send(sb.append("\r\n").toString());
        return read();
    }

    void send(String raw) throws IOException {
        out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    OutputStream output() {
        return out;
    }

    /** A response's head only: a response without a body whatever its framing says (to HEAD, a 204 or a 304). */
    Response readHead() throws IOException {
        return read(false);
    }

    Response read() throws IOException {
        return read(true);
    }

    private Response read(boolean withBody) throws IOException {
        String statusLine = line();
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String l = line(); !l.isEmpty(); l = line()) {
            int colon = l.indexOf(':');
            headers.merge(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim(),
                    (a, b) -> a + ", " + b);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (!withBody) {
            return new Response(status, headers, body.toByteArray());
        }
        if (headers.containsKey("content-length")) {
            body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            for (int size = Integer.parseInt(line().trim(), 16); size > 0; size = Integer.parseInt(line().trim(), 16)) {
                body.write(in.readNBytes(size));
                line();
            }
            line();
        }
        return new Response(status, headers, body.toByteArray());
    }

    /** Reads a chunked body without keeping it: its length and a checksum. */
    long[] readChunkedDigest() throws IOException {
        long total = 0;
        long sum = 0;
        byte[] buf = new byte[65536];
        for (int size = Integer.parseInt(line().trim(), 16); size > 0; size = Integer.parseInt(line().trim(), 16)) {
            int left = size;
            while (left > 0) {
                int n = in.read(buf, 0, Math.min(buf.length, left));
                if (n < 0) {
                    throw new IOException("eof in chunk");
                }
                for (int i = 0; i < n; i++) {
                    sum = sum * 31 + buf[i];
                }
                left -= n;
                total += n;
            }
            line();
        }
        line();
        return new long[] {total, sum};
    }

    /** One byte of the connection (after an upgrade, say). */
    int readByte() throws IOException {
        int c = in.read();
        if (c < 0) {
            throw new IOException("connection closed");
        }
        return c;
    }

    String line() throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                throw new IOException("connection closed");
            }
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        return sb.toString();
    }

    boolean isClosedByPeer() throws IOException {
        socket.setSoTimeout(200);
        try {
            return in.read() < 0;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } finally {
            socket.setSoTimeout(30_000);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
