package io.svcproxy.proxy.simulate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NumbersTest {
    @Test
    void secondsAreExactToTheNanosecond() {
        assertThat(Numbers.seconds("1764812345.123456789", "start")).isEqualTo(1764812345123456789L);
        assertThat(Numbers.seconds("12", "start")).isEqualTo(12_000_000_000L);
        assertThat(Numbers.seconds(".5", "start")).isEqualTo(500_000_000L);
        assertThat(Numbers.seconds("0.0000000019", "start")).isEqualTo(1L);
        assertThatThrownBy(() -> Numbers.seconds("1e3", "start")).hasMessage(
                "start: '1e3' (expected: seconds, such as 12 or 12.5)");
        assertThatThrownBy(() -> Numbers.seconds(".", "start")).isInstanceOf(IllegalArgumentException.class);
        // the largest that fits a long in nanoseconds, and the first that would overflow (it wrapped negative)
        assertThat(Numbers.seconds("9223372035.999999999", "start")).isEqualTo(9_223_372_035_999_999_999L);
        assertThatThrownBy(() -> Numbers.seconds("9223372036", "duration")).hasMessage(
                "duration: 9223372036 (expected: at most 9223372035 seconds)");
        assertThatThrownBy(() -> Numbers.seconds("9999999999.5", "start")).hasMessageContaining("at most");
    }

    @Test
    void addressesAreLiteralsOnly() {
        assertThat(Numbers.ip("127.0.1.1", "client").getHostAddress()).isEqualTo("127.0.1.1");
        assertThat(Numbers.ip("fd00::1", "client").getHostAddress()).isEqualTo("fd00:0:0:0:0:0:0:1");
        assertThat(Numbers.ip("fe80:0:0:0:0:0:0:1%2", "client").getHostAddress()).as("a scope is left out")
                .isEqualTo("fe80:0:0:0:0:0:0:1");
        assertThat(Numbers.ip("fe80::1%eth0", "client").getHostAddress()).isEqualTo("fe80:0:0:0:0:0:0:1");
        assertThatThrownBy(() -> Numbers.ip("127.0.0.1%2", "client")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Numbers.ip("localhost", "client")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Numbers.ip("10.1", "client")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Numbers.ip("beef", "client")).isInstanceOf(IllegalArgumentException.class);
    }
}
