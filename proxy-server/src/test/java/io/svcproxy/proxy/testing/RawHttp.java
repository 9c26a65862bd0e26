package io.svcproxy.proxy.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** HTTP/1.x read off a plain socket, for tests that look at the bytes a client gets. */
public final class RawHttp {
    private RawHttp() {
    }

    /** One response with its {@code Content-Length} body (none: empty); its head and its body. */
    public record Response(String head, String body) {
    }

    /** Reads one response: its head up to the empty line, then {@code Content-Length} bytes. */
    public static Response read(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("closed after " + head);
            }
            head.append((char) c);
        }
        int length = 0;
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring("content-length:".length()).strip());
            }
        }
        return new Response(head.toString(), new String(in.readNBytes(length), StandardCharsets.US_ASCII));
    }
}
