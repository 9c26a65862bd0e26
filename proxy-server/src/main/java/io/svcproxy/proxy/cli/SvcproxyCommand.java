package io.svcproxy.proxy.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

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
        Logging.setLevel(level);
    }
}
