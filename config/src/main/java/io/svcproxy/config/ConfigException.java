package io.svcproxy.config;

import java.util.List;
import java.util.stream.Collectors;

/** Thrown when a config (or a registry file it names) is invalid; carries every problem found. */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient List<ConfigError> errors;

    public ConfigException(List<ConfigError> errors) {
        super(errors.stream().map(ConfigError::toString).collect(Collectors.joining("\n")));
        this.errors = List.copyOf(errors);
    }

    /** Returns every problem, in file order. */
    public List<ConfigError> errors() {
        return errors;
    }
}
