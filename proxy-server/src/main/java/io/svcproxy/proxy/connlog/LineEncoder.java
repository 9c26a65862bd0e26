package io.svcproxy.proxy.connlog;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Arrays;

/**
 * Formats entries as the connection log's lines, SPEC's JSON object and a newline, straight into UTF-8 bytes: no
 * String, StringBuilder or charset encoder per line. Lines accumulate in one growing array that the writer hands to
 * the file and then {@link #clear}s. Writer thread only (not thread-safe).
 *
 * <p>Text is escaped as {@link JsonText#appendQuoted} does (quote, backslash, control characters as a backslash, a
 * u and four hex digits) and encoded as {@link java.nio.charset.StandardCharsets#UTF_8} would, a lone surrogate
 * becoming {@code ?}: the bytes are those of the line formatted as a String and written through a UTF-8 writer.
 */
final class LineEncoder {
    private static final byte[] START = ascii("{\"start\": ");
    private static final byte[] CLIENT = ascii(", \"client\": \"");
    private static final byte[] CLIENT_PORT = ascii("\", \"clientPort\": ");
    private static final byte[] SERVICE = ascii(", \"service\": ");
    private static final byte[] PORT = ascii(", \"port\": ");
    private static final byte[] ENDPOINT = ascii(", \"endpoint\": \"");
    private static final byte[] DURATION = ascii("\", \"duration\": ");
    private static final byte[] BYTES_TO_ENDPOINT = ascii(", \"bytesToEndpoint\": ");
    private static final byte[] BYTES_TO_CLIENT = ascii(", \"bytesToClient\": ");
    private static final byte[] END = ascii(", \"end\": \"");
    private static final byte[] CLOSE = ascii("\"}\n");
    private static final byte[] HEX = ascii("0123456789abcdef");
    /** The fixed text, five longs of up to 20 digits and a sign, two fractions, an IPv4 address: with room. */
    private static final int FIXED_MAX = 384;

    private byte[] buf;
    private int size;

    /** Returns an encoder whose array starts at {@code initialCapacity} bytes and grows when a line needs it. */
    LineEncoder(int initialCapacity) {
        this.buf = new byte[Math.max(initialCapacity, FIXED_MAX)];
    }

    /** Appends {@code e}'s line, newline included. */
    void append(ConnectionLog.Entry e) {
        String client = e.clientAddress() instanceof Inet4Address ? null
                : io.svcproxy.balancer.Backends.formatIp(e.clientAddress());
        // a char of text takes at most 6 bytes (a control character's escape; UTF-8 needs at most 3 per char)
        ensure(FIXED_MAX + 6 * (e.service().length() + e.port().length() + e.endpoint().length() + e.end().length()
                + (client == null ? 0 : client.length())));
        put(START);
        seconds(e.startEpochNanos());
        put(CLIENT);
        if (client == null) {
            ipv4(e.clientAddress());
        } else {
            text(client, false);
        }
        put(CLIENT_PORT);
        number(e.clientPort());
        put(SERVICE);
        quoted(e.service());
        put(PORT);
        if (isNumber(e.port())) {
            text(e.port(), false);
        } else {
            quoted(e.port());
        }
        put(ENDPOINT);
        text(e.endpoint(), false);
        put(DURATION);
        seconds(e.durationNanos());
        put(BYTES_TO_ENDPOINT);
        number(e.bytesToEndpoint());
        put(BYTES_TO_CLIENT);
        number(e.bytesToClient());
        put(END);
        text(e.end(), false);
        put(CLOSE);
    }

    /** Returns the array holding the lines; bytes {@code [0, size())} are valid. */
    byte[] array() {
        return buf;
    }

    /** Returns the bytes appended since the last {@link #clear}. */
    int size() {
        return size;
    }

    /** Forgets the lines appended (the writer wrote or dropped them). */
    void clear() {
        size = 0;
    }

    private void ensure(int more) {
        if (buf.length - size < more) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + more));
        }
    }

    /** Whether the first {@code length} bytes of {@code bytes} begin as an entry's line does. */
    static boolean startsAnEntry(java.nio.ByteBuffer bytes, int length) {
        int n = Math.min(length, START.length);
        for (int i = 0; i < n; i++) {
            if (bytes.get(i) != START[i]) {
                return false;
            }
        }
        return true;
    }

    private void put(byte[] ascii) {
        System.arraycopy(ascii, 0, buf, size, ascii.length);
        size += ascii.length;
    }

    private void quoted(String s) {
        buf[size++] = '"';
        text(s, true);
        buf[size++] = '"';
    }

    /** Appends {@code s} in UTF-8, JSON-escaped when {@code escape}: the body of a string literal. */
    private void text(String s, boolean escape) {
        byte[] b = buf;
        int n = size;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                if (escape && (c == '"' || c == '\\')) {
                    b[n++] = '\\';
                    b[n++] = (byte) c;
                } else if (escape && c < 0x20) {
                    b[n++] = '\\';
                    b[n++] = 'u';
                    b[n++] = '0';
                    b[n++] = '0';
                    b[n++] = HEX[c >> 4];
                    b[n++] = HEX[c & 0xf];
                } else {
                    b[n++] = (byte) c;
                }
            } else if (c < 0x800) {
                b[n++] = (byte) (0xc0 | c >> 6);
                b[n++] = (byte) (0x80 | c & 0x3f);
            } else if (!Character.isSurrogate(c)) {
                b[n++] = (byte) (0xe0 | c >> 12);
                b[n++] = (byte) (0x80 | c >> 6 & 0x3f);
                b[n++] = (byte) (0x80 | c & 0x3f);
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, s.charAt(++i));
                b[n++] = (byte) (0xf0 | cp >> 18);
                b[n++] = (byte) (0x80 | cp >> 12 & 0x3f);
                b[n++] = (byte) (0x80 | cp >> 6 & 0x3f);
                b[n++] = (byte) (0x80 | cp & 0x3f);
            } else {
                b[n++] = '?'; // a lone surrogate: the UTF-8 encoder's replacement
            }
        }
        size = n;
    }

    private void ipv4(InetAddress address) {
        byte[] a = address.getAddress();
        for (int i = 0; i < a.length; i++) {
            if (i > 0) {
                buf[size++] = '.';
            }
            number(a[i] & 0xff);
        }
    }

    /** Appends {@code nanos} as seconds with six decimals (microseconds, rounded down), as SPEC's times. */
    private void seconds(long nanos) {
        long micros = Math.floorDiv(nanos, 1000L);
        number(Math.floorDiv(micros, 1_000_000L));
        buf[size++] = '.';
        long fraction = Math.floorMod(micros, 1_000_000L);
        for (int i = size + 5; i >= size; i--) {
            buf[i] = (byte) ('0' + fraction % 10);
            fraction /= 10;
        }
        size += 6;
    }

    /** Appends {@code v} in decimal, as {@link Long#toString(long)}. */
    private void number(long v) {
        if (v < 0) {
            if (v == Long.MIN_VALUE) {
                put(ascii(Long.toString(v)));
                return;
            }
            buf[size++] = '-';
            v = -v;
        }
        int digits = 1;
        for (long rest = v / 10; rest != 0; rest /= 10) {
            digits++;
        }
        for (int i = size + digits - 1; i >= size; i--) {
            buf[i] = (byte) ('0' + v % 10);
            v /= 10;
        }
        size += digits;
    }

    /** Whether the port label is a number, written without quotes (SPEC: {@code "port": P}). */
    static boolean isNumber(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    private static byte[] ascii(String s) {
        byte[] b = new byte[s.length()];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) s.charAt(i);
        }
        return b;
    }
}
