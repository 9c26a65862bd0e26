package io.svcproxy.proxy;

import io.svcproxy.proxy.cli.ExitCodes;
import io.svcproxy.proxy.cli.LogProvider;
import io.svcproxy.proxy.cli.RunArguments;
import io.svcproxy.proxy.cli.SvcproxyCommand;
import java.io.PrintWriter;
import java.util.Set;
import picocli.CommandLine;

/** The entry point of {@code java -jar svcproxy.jar}. */
public final class Main {
    private static final Set<String> COMMANDS = Set.of("run", "demo", "validate", "simulate", "backend", "version");

    private Main() {
    }

    public static void main(String[] args) {
        rejectClientInitiatedRenegotiation();
        useLogProvider();
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line and returns the exit code; {@code run} is the default command. */
    public static int execute(String[] given, PrintWriter out, PrintWriter err) {
        String[] args = commandFirst(given);
        RunArguments run = RunArguments.parse(args);
        if (run != null) {
            return run.execute(out, err); // the usual start, without building picocli's model of every command
        }
        if (args.length > 0 && !args[0].startsWith("-") && !args[0].startsWith("@") && !COMMANDS.contains(args[0])) {
            // run takes no positional argument: a first word is a command's name, not run's (@FILE is picocli's
            // argument file)
            err.println("Unknown command '" + args[0] + "' (commands: run, validate, simulate, demo, backend, "
                    + "version; run is the default). Try: svcproxy --help");
            return ExitCodes.INVALID;
        }
        String[] effective = args;
        if (args.length == 0 || !COMMANDS.contains(args[0]) && !isTopLevelHelp(args[0])) {
            effective = new String[args.length + 1];
            effective[0] = "run";
            System.arraycopy(args, 0, effective, 1, args.length);
        }
        CommandLine commandLine = new CommandLine(new SvcproxyCommand())
                .setOut(out)
                .setErr(err)
                .setExecutionExceptionHandler((e, cmd, parsed) -> ExitCodes.ofFailure(e, cmd.getErr()));
        return commandLine.execute(effective);
    }

    /**
     * Has the JDK's TLS, the Ingress's fallback where netty-tcnative does not load, refuse a client's renegotiation
     * (TLS 1.2), as OpenSSL's does and nginx does: a handshake's CPU the client could ask for again and again on one
     * connection, and one RFC 9113 9.2.1 forbids under HTTP/2. The JDK reads {@code
     * jdk.tls.rejectClientInitiatedRenegotiation} once, when its first server handshake loads its server handshake
     * class, which nothing before {@code main} runs; the launcher and the image pass it as well. An operator's own
     * {@code -Djdk.tls.rejectClientInitiatedRenegotiation} stands.
     */
    static void rejectClientInitiatedRenegotiation() {
        if (System.getProperty("jdk.tls.rejectClientInitiatedRenegotiation") == null) {
            System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
        }
    }

    /**
     * Names svcproxy's {@link LogProvider} to SLF4J unless {@code -Dslf4j.provider} names another: SLF4J then loads it
     * without searching the class path, and Logback is configured without its auto-configuration. SLF4J announces a
     * provider named this way on stderr at its INFO verbosity; that line is left out (its warnings and errors still
     * show) unless {@code -Dslf4j.internal.verbosity} says otherwise.
     */
    static void useLogProvider() {
        if (System.getProperty("slf4j.provider") == null) {
            System.setProperty("slf4j.provider", LogProvider.class.getName());
            if (System.getProperty("slf4j.internal.verbosity") == null) {
                System.setProperty("slf4j.internal.verbosity", "WARN");
            }
        }
    }

    /**
     * Moves a command named after the global {@code --log-level} option in front of it ({@code --log-level warn
     * validate ...} is {@code validate --log-level warn ...}), as the top-level usage line shows it: every command
     * takes the option. Other arguments are left as given.
     */
    static String[] commandFirst(String[] args) {
        int i = 0;
        while (i < args.length) {
            if (args[i].startsWith("--log-level=")) {
                i++;
            } else if (args[i].equals("--log-level") && i + 1 < args.length) {
                i += 2;
            } else {
                break;
            }
        }
        if (i == 0 || i >= args.length || !COMMANDS.contains(args[i])) {
            return args;
        }
        String[] moved = new String[args.length];
        moved[0] = args[i];
        System.arraycopy(args, 0, moved, 1, i);
        System.arraycopy(args, i + 1, moved, i + 1, args.length - i - 1);
        return moved;
    }

    private static boolean isTopLevelHelp(String arg) {
        return arg.equals("-h") || arg.equals("--help");
    }
}
