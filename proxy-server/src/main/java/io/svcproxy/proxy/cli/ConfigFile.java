package io.svcproxy.proxy.cli;

import io.svcproxy.config.ConfigError;
import io.svcproxy.config.ConfigException;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import java.io.PrintWriter;
import java.nio.file.Path;

/** Loads a command's {@code --config} file: the config, or every problem as {@code FILE:LINE:COLUMN: message}. */
final class ConfigFile {
    private ConfigFile() {
    }

    /**
     * Returns the config of {@code file} for a process to start with ({@link ConfigLoader#loadToStart}: the
     * kubeconfig is checked too), or {@code null} after printing each of its problems on {@code err} (the command
     * then exits with {@link ExitCodes#INVALID}).
     */
    static ProxyConfig load(Path file, PrintWriter err) {
        return load(file, err, true);
    }

    /**
     * As {@link #load(Path, PrintWriter)}, for a command that describes the config rather than runs it:
     * {@link ConfigLoader#loadAsWritten} (the files only a running proxy opens are not checked).
     */
    static ProxyConfig loadAsWritten(Path file, PrintWriter err) {
        return load(file, err, false);
    }

    private static ProxyConfig load(Path file, PrintWriter err, boolean runtimeFiles) {
        try {
            return runtimeFiles ? ConfigLoader.loadToStart(file) : ConfigLoader.loadAsWritten(file);
        } catch (ConfigException e) {
            for (ConfigError error : e.errors()) {
                err.println(error);
            }
            err.flush();
            return null;
        }
    }
}
