package io.svcproxy.config;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

/** Helpers shared by the config tests. */
final class ConfigAssertions {
    static final String FILE = "svcproxy.yaml";

    private ConfigAssertions() {
    }

    /** Returns every problem of {@code yaml} as {@code validate} prints it. */
    static List<String> errors(String yaml) {
        try {
            ConfigLoader.parse(yaml, FILE);
        } catch (ConfigException e) {
            return e.errors().stream().map(ConfigError::toString).toList();
        }
        throw new AssertionError("expected errors in:\n" + yaml);
    }

    static ProxyConfig parse(String yaml) {
        try {
            return ConfigLoader.parse(yaml, FILE);
        } catch (ConfigException e) {
            throw new AssertionError("unexpected errors:\n" + e.getMessage(), e);
        }
    }

    static void assertInvalid(String yaml) {
        assertThatThrownBy(() -> ConfigLoader.parse(yaml, FILE)).isInstanceOf(ConfigException.class);
    }
}
