package io.svcproxy.config;

import java.nio.file.Path;

/** Reads and validates a config file and the registry files it names. */
public final class ConfigLoader {
    private ConfigLoader() {
    }

    /**
     * Returns the valid config in {@code file} (with the Pods of its registry files), or throws every problem
     * found, each with file, line and column. A file that cannot be read is one error naming it.
     */
    public static ProxyConfig load(Path file) throws ConfigException {
        throw new UnsupportedOperationException("TODO: config helper implements this");
    }

    /** Parses and validates a config held in memory; {@code fileName} is used in error messages. */
    public static ProxyConfig parse(String yaml, String fileName) throws ConfigException {
        throw new UnsupportedOperationException("TODO: config helper implements this");
    }
}
