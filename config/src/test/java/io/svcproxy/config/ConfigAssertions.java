package io.svcproxy.config;

import static org.assertj.core.api.Assertions.assertThat;
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

    /**
     * Asserts that an error's message reads as one line of words an operator can act on: no exception's name, no
     * stack trace, and nothing invisible: a byte order mark, a zero-width or non-breaking space or a control character
     * written in the file is shown escaped, else "unknown key: pods (did you mean 'pods'?)" can be all one sees.
     */
    static void assertReadable(ConfigError error) {
        String message = error.message();
        assertThat(message).as("message of %s", error).isNotBlank()
                .doesNotContain("Exception", "java.", "org.yaml", "snakeyaml", "\tat ");
        message.codePoints().forEach(c -> assertThat(invisible(c))
                .as("U+%04X in the message of %s", c, error).isFalse());
    }

    private static boolean invisible(int c) {
        int type = Character.getType(c);
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR || type == Character.SPACE_SEPARATOR && c != ' '
                || type == Character.UNASSIGNED || type == Character.PRIVATE_USE || type == Character.SURROGATE;
    }

    static void assertInvalid(String yaml) {
        assertThatThrownBy(() -> ConfigLoader.parse(yaml, FILE)).isInstanceOf(ConfigException.class);
    }
}
