package io.svcproxy.proxy.cli;

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
}
