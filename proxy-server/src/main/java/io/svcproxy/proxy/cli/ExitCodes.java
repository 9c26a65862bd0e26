package io.svcproxy.proxy.cli;

import java.io.PrintWriter;

/** The process exit codes of SPEC.md. */
public final class ExitCodes {
    /** Success, including a graceful stop on SIGTERM or SIGINT. */
    public static final int OK = 0;
    /** A runtime failure, such as an address that cannot be bound. */
    public static final int RUNTIME_FAILURE = 1;
    /** An invalid command line or config, a missing config file included. */
    public static final int INVALID = 2;

    private ExitCodes() {
    }

    /**
     * Reports a command's failure on {@code err} and returns its exit code: an {@link IllegalArgumentException} (bad
     * input found while running) is one line and {@link #INVALID}; anything else is a bug or an environment problem,
     * printed with its stack trace, and {@link #RUNTIME_FAILURE}.
     */
    public static int ofFailure(Exception e, PrintWriter err) {
        if (e instanceof IllegalArgumentException) {
            err.println("svcproxy: " + e.getMessage());
            err.flush();
            return INVALID;
        }
        err.println("svcproxy: " + e);
        e.printStackTrace(err);
        err.flush();
        return RUNTIME_FAILURE;
    }
}
