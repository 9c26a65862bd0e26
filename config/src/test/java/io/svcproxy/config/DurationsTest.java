package io.svcproxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {
    @ParameterizedTest
    @CsvSource({
        "250ms, PT0.25S",
        "2s, PT2S",
        "5m, PT5M",
        "1h, PT1H",
        "30, PT30S",
        "0, PT0S",
        "0ms, PT0S",
        "90m, PT1H30M",
        "86400s, PT24H",
    })
    void parsesTheAcceptedForms(String text, Duration expected) {
        assertThat(Durations.parse(text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "s", "2 s", "2S", "1.5s", "-1s", "1h30m", "2d", "PT2S", "1us", " 2s", "2sec", "0x10"})
    void rejectsEverythingElseNamingTheAcceptedForms(String text) {
        assertThatThrownBy(() -> Durations.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(text + " (expected: a duration: 250ms, 2s, 5m, 1h, or a whole number of seconds)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"99999999999999999999h", "9223372036854775808ms"})
    void clampsHugeValuesSoThatARangeCheckRejectsThem(String text) {
        assertThat(Durations.parse(text)).isEqualTo(Duration.ofMillis(Long.MAX_VALUE));
    }

    @ParameterizedTest
    @CsvSource({"PT1H, 1h", "PT1M30S, 90s", "PT0.25S, 250ms", "PT0S, 0s", "PT2M, 2m"})
    void formatsTheShortestForm(Duration d, String expected) {
        assertThat(Durations.format(d)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "connectTimeout: 1.5s | 2:19: connectTimeout: 1.5s (expected: a duration: 250ms, 2s, 5m, 1h, or a whole number of seconds)",
        "drainTimeout: 1h30m | 2:17: drainTimeout: 1h30m (expected: a duration: 250ms, 2s, 5m, 1h, or a whole number of seconds)",
        "idleTimeout: 0 | 2:16: idleTimeout: 0 (expected: 1ms..8760h)",
        "idleTimeout: 1:30 | 2:16: idleTimeout: 1:30 (expected: a duration: 250ms, 2s, 5m, 1h, or a whole number of seconds)",
        "drainTimeout: [1s] | 2:17: drainTimeout: a list (expected: a duration: 250ms, 2s, 5m, 1h, or a whole number of seconds)",
    })
    void reportsBadDurationsInTheConfig(String line, String expected) {
        assertThat(ConfigAssertions.errors("proxy:\n  " + line + "\n"))
                .containsExactly(ConfigAssertions.FILE + ":" + expected);
    }
}
