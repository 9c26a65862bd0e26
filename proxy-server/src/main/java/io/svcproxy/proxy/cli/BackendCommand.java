package io.svcproxy.proxy.cli;

import io.svcproxy.proxy.dataplane.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code backend --listen IP:PORT [--name NAME] [--mode echo|http|discard|name|dns] [--answer IP]}: a small test
 * server.
 */
@Command(name = "backend", description = "Run a small test server: echo, http (answers with its name), "
        + "discard, name (writes its name and closes), or dns (UDP: answers every A query with --answer).")
final class BackendCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--listen", required = true, paramLabel = "IP:PORT", description = "The address to listen on.")
    String listen;

    @Option(names = "--name", paramLabel = "NAME", description = "Its name (default: the listen address).")
    String name;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "http",
            description = "echo, http, discard, name or dns (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--answer", paramLabel = "IP", description = "dns mode: the IPv4 address of every A answer "
            + "(default: the listen address).")
    String answer;

    @Override
    public Integer call() {
        InetSocketAddress address = parseAddress(listen);
        if (mode.equals("dns")) {
            return dns(address);
        }
        TestBackend.Mode parsedMode;
        try {
            parsedMode = TestBackend.Mode.of(mode);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(),
                    "--mode: " + mode + " (expected: echo, http, discard, name, dns)");
        }
        String serverName = name == null ? listen : name;
        return serve(() -> {
            TestBackend backend = TestBackend.start(address, serverName, parsedMode);
            return new Running(backend::close, backend::awaitClosed);
        });
    }

    private Integer dns(InetSocketAddress address) {
        InetAddress ip = answer == null ? address.getAddress() : parseAddress(answer + ":0").getAddress();
        if (!(ip instanceof java.net.Inet4Address v4)) {
            throw new ParameterException(spec.commandLine(), "--answer: " + ip.getHostAddress()
                    + " (expected: an IPv4 address)");
        }
        return serve(() -> {
            DnsBackend backend = DnsBackend.start(address, name == null ? listen : name, v4);
            return new Running(backend::close, backend::awaitClosed);
        });
    }

    /** A started server: how to stop it, and how to wait until it stopped. */
    private record Running(Runnable close, Runnable awaitClosed) {
    }

    private interface Starter {
        Running start() throws BindException;
    }

    /**
     * Starts a server and serves until SIGTERM or SIGINT closes it, then returns 0 (SPEC's graceful stop, as {@code
     * run}; {@code docker stop} of the compose example's backends); a bind failure is exit code 1 with its message.
     * The handlers are installed before the start, as {@code run}'s are: a signal between the start and their
     * installation ended the JVM with 128+n (its default action), the moment the server said it listens. A signal
     * during the start stops the server as soon as it is started.
     */
    private Integer serve(Starter starter) {
        PendingStop stop = new PendingStop();
        Signals.closeOnStop(stop::stop);
        Running running;
        try {
            running = starter.start();
        } catch (BindException e) {
            spec.commandLine().getErr().println("svcproxy: " + e.getMessage());
            spec.commandLine().getErr().flush();
            return ExitCodes.RUNTIME_FAILURE;
        }
        if (stop.started(running.close())) {
            running.close().run(); // the signal came during the start
        }
        running.awaitClosed().run();
        return ExitCodes.OK;
    }

    /** The stop of a server that may not be started yet when the signal comes. */
    private static final class PendingStop {
        private Runnable close;
        private boolean requested;

        /** A signal's stop (on a thread of its own): closes the server, or has {@link #started} say to. */
        void stop() {
            Runnable c;
            synchronized (this) {
                requested = true;
                c = close;
            }
            if (c != null) {
                c.run();
            }
        }

        /** Hands over the started server's close; returns whether a stop came before, which the caller runs. */
        synchronized boolean started(Runnable close) {
            this.close = close;
            return requested;
        }
    }

    private InetSocketAddress parseAddress(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new ParameterException(spec.commandLine(), "--listen: " + text + " (expected: IP:PORT)");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--listen: port " + text.substring(colon + 1)
                    + " (expected: 0..65535)");
        }
        if (!host.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) {
            throw new ParameterException(spec.commandLine(), "--listen: " + host + " (expected: an IP address)");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (java.net.UnknownHostException e) {
            throw new ParameterException(spec.commandLine(), "--listen: " + host + " (expected: an IP address)");
        }
    }
}
