package io.svcproxy.proxy.connlog;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The writer's byte formatting against the line as a String written through a UTF-8 writer (the way the log was
 * written before it formatted bytes itself): byte for byte equal, for any entry, several lines in one buffer.
 */
class LineEncoderPropertyTest {
    @Property(tries = 300)
    void bytesAreTheLineWrittenAsUtf8Text(@ForAll("entries") List<ConnectionLog.Entry> entries) throws Exception {
        LineEncoder encoder = new LineEncoder(16); // starts small: the array grows
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        try (Writer w = new OutputStreamWriter(expected, StandardCharsets.UTF_8)) {
            for (ConnectionLog.Entry e : entries) {
                encoder.append(e);
                w.write(reference(e));
                w.write('\n');
            }
        }
        byte[] actual = java.util.Arrays.copyOf(encoder.array(), encoder.size());
        assertThat(actual).isEqualTo(expected.toByteArray());
    }

    @Provide
    Arbitrary<List<ConnectionLog.Entry>> entries() {
        Arbitrary<InetAddress> address = Arbitraries.oneOf(
                Arbitraries.bytes().array(byte[].class).ofSize(4).map(LineEncoderPropertyTest::address),
                Arbitraries.bytes().array(byte[].class).ofSize(16).map(LineEncoderPropertyTest::address),
                // a link-local client: Netty's address carries its scope, which the log leaves out
                Arbitraries.bytes().array(byte[].class).ofSize(14).map(LineEncoderPropertyTest::linkLocal));
        Arbitrary<String> text = Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(40),                       // any chars, lone surrogates included
                Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(20),
                Arbitraries.strings().numeric().ofMaxLength(6),               // a port number: not quoted
                Arbitraries.of("shop/web", "http", "kube-system/dns", "dns-tcp", "é€😀"));
        Arbitrary<Long> anyLong = Arbitraries.oneOf(Arbitraries.longs(),
                Arbitraries.of(0L, -1L, 999L, 1000L, 999_999_999L, Long.MIN_VALUE, Long.MAX_VALUE));
        Arbitrary<ConnectionLog.Entry> entry = Combinators.combine(List.of(anyLong.asGeneric(), address.asGeneric(),
                Arbitraries.integers().between(0, 65535).asGeneric(), text.asGeneric(), text.asGeneric(),
                text.asGeneric(), anyLong.asGeneric(), anyLong.asGeneric(), anyLong.asGeneric(),
                Arbitraries.of("fin", "rst", "idle", "drain", "error").asGeneric())).as(v -> new ConnectionLog.Entry(
                (Long) v.get(0), (InetAddress) v.get(1), (Integer) v.get(2), (String) v.get(3), (String) v.get(4),
                (String) v.get(5), (Long) v.get(6), (Long) v.get(7), (Long) v.get(8), (String) v.get(9)));
        return entry.list().ofMinSize(1).ofMaxSize(8);
    }

    private static InetAddress linkLocal(byte[] low) {
        byte[] bytes = new byte[16];
        bytes[0] = (byte) 0xfe;
        bytes[1] = (byte) 0x80;
        System.arraycopy(low, 0, bytes, 2, 14);
        try {
            return java.net.Inet6Address.getByAddress(null, bytes, 2);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @org.junit.jupiter.api.Test
    void aLinkLocalClientIsWrittenWithoutItsScope() throws Exception {
        InetAddress scoped = linkLocal(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
        assertThat(scoped.getHostAddress()).isEqualTo("fe80:0:0:0:0:0:0:1%2");
        LineEncoder encoder = new LineEncoder(16);
        encoder.append(new ConnectionLog.Entry(1_764_812_345_000_000_000L, scoped, 40000, "shop/web", "80",
                "127.0.0.201:8080", 1_000_000L, 1, 2, "fin"));
        String line = new String(encoder.array(), 0, encoder.size(), StandardCharsets.UTF_8);
        assertThat(line).contains("\"client\": \"fe80::1\"").doesNotContain("%");
    }

    private static InetAddress address(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The line as the log formatted it with a StringBuilder (commit fbc1c2a), the reference. */
    private static String reference(ConnectionLog.Entry e) {
        StringBuilder b = new StringBuilder();
        seconds(b.append("{\"start\": "), e.startEpochNanos())
                .append(", \"client\": \"").append(e.client())
                .append("\", \"clientPort\": ").append(e.clientPort())
                .append(", \"service\": ");
        JsonText.appendQuoted(b, e.service()).append(", \"port\": ");
        if (LineEncoder.isNumber(e.port())) {
            b.append(e.port());
        } else {
            JsonText.appendQuoted(b, e.port());
        }
        b.append(", \"endpoint\": \"").append(e.endpoint())
                .append("\", \"duration\": ");
        seconds(b, e.durationNanos())
                .append(", \"bytesToEndpoint\": ").append(e.bytesToEndpoint())
                .append(", \"bytesToClient\": ").append(e.bytesToClient())
                .append(", \"end\": \"").append(e.end()).append("\"}");
        return b.toString();
    }

    private static StringBuilder seconds(StringBuilder b, long nanos) {
        long micros = Math.floorDiv(nanos, 1000L);
        long fraction = Math.floorMod(micros, 1_000_000L);
        b.append(Math.floorDiv(micros, 1_000_000L)).append('.');
        for (long scale = 100_000L; scale > 1 && fraction < scale; scale /= 10) {
            b.append('0');
        }
        return b.append(fraction);
    }
}
