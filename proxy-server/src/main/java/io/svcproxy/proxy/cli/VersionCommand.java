package io.svcproxy.proxy.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code version}: prints the version. */
@Command(name = "version", description = "Print the version.")
final class VersionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** Returns the version from the jar's manifest, or {@code dev} when run from classes. */
    static String version() {
        String v = VersionCommand.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    @Override
    public Integer call() {
        spec.commandLine().getOut().println("svcproxy " + version());
        spec.commandLine().getOut().flush();
        return ExitCodes.OK;
    }
}
