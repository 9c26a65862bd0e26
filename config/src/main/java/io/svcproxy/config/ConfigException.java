package io.svcproxy.config;

import java.util.List;
import java.util.stream.Collectors;

/** Thrown when a config (or a registry file it names) is invalid; carries every problem found. */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient List<ConfigError> errors;
    private final transient List<java.nio.file.Path> namedFiles;

    public ConfigException(List<ConfigError> errors) {
        this(errors, List.of());
    }

    /** With {@code namedFiles}: the registry and certificate files the invalid config names, as far as it was read. */
    public ConfigException(List<ConfigError> errors, List<java.nio.file.Path> namedFiles) {
        super(errors.stream().map(ConfigError::toString).collect(Collectors.joining("\n")));
        this.errors = List.copyOf(errors);
        this.namedFiles = List.copyOf(namedFiles);
    }

    /**
     * Returns the registry and certificate files the invalid config names (as far as it could be read; empty when
     * not known): a watcher watches them too, so that the one a fix is written to is seen at once.
     */
    public List<java.nio.file.Path> namedFiles() {
        return namedFiles;
    }

    /** Returns every problem, in file order. */
    public List<ConfigError> errors() {
        return errors;
    }
}
