package io.svcproxy.proxy.cli;

import io.svcproxy.proxy.ProxyServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Installs the process's signal handlers: SIGTERM and SIGINT stop gracefully (drain, then exit 0), a second one
 * while draining closes what is left at once (exit 0), SIGHUP reopens the connection log (logrotate) and reloads the
 * config. Handlers run on the JVM's signal thread and hand the work to a thread of their own.
 */
final class Signals {
    private static final Logger log = LoggerFactory.getLogger(Signals.class);
    private static final String WITHOUT_SIGHUP =
            "the connection log is not reopened on SIGHUP; the config is still reloaded when its file changes";

    private final AtomicReference<ProxyServer> server = new AtomicReference<>();
    private final AtomicBoolean stopRequested = new AtomicBoolean();
    /** A SIGHUP's reload is queued and not started yet: a burst of signals is one reload, not one each. */
    private final AtomicBoolean reloadQueued = new AtomicBoolean();

    private Signals() {
    }

    /**
     * Installs the handlers before the server starts, so that a SIGTERM during start-up is not lost: it stops
     * the server as soon as {@link #serving} hands it over.
     */
    static Signals install() {
        Signals signals = new Signals();
        Signal.handle(new Signal("TERM"), s -> signals.stop("SIGTERM"));
        if (Signal.handle(new Signal("INT"), s -> signals.stop("SIGINT")) == SignalHandler.SIG_IGN) {
            // started in the background by a script (job control off): Ctrl-C and kill -INT do nothing then
            log.info("SIGINT is ignored (inherited from the parent, as for a background job): stop with SIGTERM");
        }
        try {
            if (Signal.handle(new Signal("HUP"), s -> signals.reload()) == SignalHandler.SIG_IGN) {
                // started with SIGHUP ignored (nohup, or a parent that ignores it): the JVM leaves it ignored
                log.info("SIGHUP is ignored (inherited from the parent, as under nohup): {}", WITHOUT_SIGHUP);
            }
        } catch (IllegalArgumentException e) {
            log.info("SIGHUP is not handled ({}): {}", e.getMessage(), WITHOUT_SIGHUP);
        }
        return signals;
    }

    /** Hands over the started server; stops it at once if a stop signal came during start-up. */
    void serving(ProxyServer started) {
        server.set(started);
        if (stopRequested.get()) {
            shutdown(started);
        }
    }

    private void stop(String signal) {
        boolean again = stopRequested.getAndSet(true);
        ProxyServer current = server.get();
        if (again && current != null) {
            // a second Ctrl-C (or SIGTERM) while draining: the user does not want to wait for the drain timeout
            log.info("Received {} again: closing the connections left now, without waiting for the drain", signal);
            Thread now = new Thread(current::close, "svcproxy-close");
            now.start();
            return;
        }
        log.info("Received {}: shutting down", signal);
        if (current != null) {
            shutdown(current);
        }
    }

    private static void shutdown(ProxyServer target) {
        Thread stop = new Thread(target::shutdown, "svcproxy-shutdown");
        stop.start();
    }

    private void reload() {
        ProxyServer current = server.get();
        if (current == null) {
            log.info("Received SIGHUP during start-up: ignored");
            return;
        }
        current.reopenConnectionLog();
        if (!reloadQueued.compareAndSet(false, true)) {
            log.info("Received SIGHUP: connection log reopened, a reload is already queued");
            return;
        }
        log.info("Received SIGHUP: reopening the connection log and reloading");
        Thread reload = new Thread(() -> {
            reloadQueued.set(false); // a signal from now on asks for a read after this one
            current.reloadFromFile();
        }, "svcproxy-sighup");
        reload.setDaemon(true);
        reload.start();
    }
}
