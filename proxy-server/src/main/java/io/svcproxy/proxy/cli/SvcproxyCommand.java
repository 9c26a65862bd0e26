package io.svcproxy.proxy.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/** The top-level command; {@code run} is the default when no command is named. */
@Command(name = "svcproxy",
        mixinStandardHelpOptions = false,
        description = "A user-space Kubernetes Service proxy with the IPVS schedulers.",
        subcommands = {RunCommand.class, DemoCommand.class, ValidateCommand.class, SimulateCommand.class,
                BackendCommand.class, VersionCommand.class},
        usageHelpAutoWidth = true)
public final class SvcproxyCommand {
    @Option(names = {"-h", "--help"}, usageHelp = true, scope = ScopeType.INHERIT,
            description = "Show this help and exit.")
    boolean help;

    @Option(names = "--log-level", scope = ScopeType.INHERIT, paramLabel = "LEVEL",
            description = "trace, debug, info, warn, error or off (default: info).")
    void setLogLevel(String level) {
        try {
            Logging.setLevel(level);
        } catch (IllegalArgumentException e) {
            // picocli reports its own exception as it is; any other as "Could not invoke ... setLogLevel"
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    @Spec
    CommandSpec spec;
}
