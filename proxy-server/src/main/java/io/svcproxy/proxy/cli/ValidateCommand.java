package io.svcproxy.proxy.cli;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code validate --config FILE}: parses and validates only; prints a one-line summary and exits 0, or every
 * problem as {@code FILE:LINE:COLUMN: message} on stderr and exits 2.
 */
@Command(name = "validate", description = "Parse and validate a config; print every problem with its line.")
final class ValidateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The config file.")
    Path config;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ProxyConfig loaded = ConfigFile.load(config, err);
        if (loaded == null) {
            return ExitCodes.INVALID;
        }
        out.println(ConfigLoader.summary(loaded));
        out.flush();
        return ExitCodes.OK;
    }
}
