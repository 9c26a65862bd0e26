package io.svcproxy.proxy.vip;

import java.io.IOException;
import java.util.List;

/** Runs one {@code ip} command (iproute2). A seam for tests; {@link IpCommand} runs the real one. */
interface Ip {
    /**
     * Runs {@code ip} with {@code args} and returns what it did; a non-zero exit is a result, not an exception.
     *
     * @throws IOException if the command cannot be started or does not finish in time
     */
    Result run(List<String> args) throws IOException;

    /** The outcome of one command. */
    record Result(int exitCode, String stdout, String stderr) {
        boolean ok() {
            return exitCode == 0;
        }

        /** Returns stderr on one line, for messages. */
        String error() {
            String text = stderr.strip().replaceAll("\\s*\\R\\s*", "; ");
            return text.isEmpty() ? "exit code " + exitCode : text;
        }
    }
}
