package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The cached field names: the same instance for an exact match only (case included), found inside any buffer. */
class KnownHeaderNamesTest {
    @Test
    void eachNameIsFoundExactlyAndAlwaysAsTheSameInstance() {
        for (String name : KnownHeaderNames.responseNames()) {
            byte[] padded = ("xx" + name + ": v").getBytes(StandardCharsets.US_ASCII);
            AsciiString found = KnownHeaderNames.response(padded, 2, name.length());
            assertThat((Object) found).as(name).isNotNull();
            assertThat(found.toString()).isEqualTo(name);
            assertThat((Object) KnownHeaderNames.response(name.getBytes(StandardCharsets.US_ASCII), 0,
                    name.length())).isSameAs(found);
        }
    }

    @Test
    void otherSpellingsAndNamesAreNotFound() {
        for (String other : new String[] {"content-type", "SERVER", "Serve", "Servers", "X-Custom", "", "D",
                "Content-Lengtx", "Set-Cookie2", "Content-Type-Options"}) {
            byte[] b = other.getBytes(StandardCharsets.US_ASCII);
            assertThat((Object) KnownHeaderNames.response(b, 0, b.length)).as(other).isNull();
        }
        byte[] longer = "A-Header-Name-Longer-Than-Any-Known-One".getBytes(StandardCharsets.US_ASCII);
        assertThat((Object) KnownHeaderNames.response(longer, 0, longer.length)).isNull();
    }
}
