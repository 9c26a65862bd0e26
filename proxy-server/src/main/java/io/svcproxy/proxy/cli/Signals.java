package io.svcproxy.proxy.cli;

import io.svcproxy.proxy.ProxyServer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Installs the process's signal handlers: SIGTERM and SIGINT stop gracefully (drain, then exit 0), a second one
 * while draining closes what is left at once (exit 0), SIGHUP reopens the connection log (logrotate) and reloads the
 * config (one read from a regular file: the standard input or a pipe is read once, see {@link
 * ProxyServer#configNotReloaded}). Handlers run on the JVM's signal thread and hand the work to a thread of their own.
 *
 * <p>{@code run} installs them before it reads its config, so that no signal takes the JVM's default action
 * (exit 128+n, no line said): a SIGTERM or SIGINT while the config is read ends the process with 0 at once,
 * nothing being served yet (also when the read never ends: a config read from a pipe); one during the start stops
 * the server as soon as it is started; a SIGHUP before the server serves is logged and ignored. Lines are said once
 * the caller says logging is ready ({@link #loggingReady}): the config is read while logging starts on another
 * thread ({@link RunArguments}), and a logger asked for meanwhile only queues its lines.
 */
final class Signals {
    private static final String WITHOUT_SIGHUP =
            "the connection log is not reopened on SIGHUP; the config is still reloaded when its file changes";
    private static final int READING = 0;
    private static final int STARTING = 1;
    private static final int STOPPED = 2;

    private final AtomicReference<ProxyServer> server = new AtomicReference<>();
    private final AtomicBoolean stopRequested = new AtomicBoolean();
    /** A SIGHUP's reload is queued and not started yet: a burst of signals is one reload, not one each. */
    private final AtomicBoolean reloadQueued = new AtomicBoolean();
    /** READING the config, STARTING (or serving), or STOPPED by a signal while the config was read. */
    private final AtomicInteger phase = new AtomicInteger(READING);
    /** Lines said before {@link #loggingReady}; {@code null} from then on. Guarded by {@code this}. */
    private List<Runnable> pending = new ArrayList<>();

    private Signals() {
    }

    /** The logger, asked for when a line is said: not while the class loads (see the class comment). */
    private static Logger log() {
        return LoggerFactory.getLogger(Signals.class);
    }

    /**
     * Installs the handlers before the config is read, so that no signal is lost nor kills the process: a SIGTERM
     * during start-up stops the server as soon as {@link #serving} hands it over. Says nothing until {@link
     * #loggingReady}.
     */
    static Signals install() {
        Signals signals = new Signals();
        handleStop(signals::stop, signals::say);
        try {
            if (Signal.handle(new Signal("HUP"), s -> signals.reload()) == SignalHandler.SIG_IGN) {
                // started with SIGHUP ignored (nohup, or a parent that ignores it): the JVM leaves it ignored
                signals.say(() -> log().info("SIGHUP is ignored (inherited from the parent, as under nohup): {}",
                        WITHOUT_SIGHUP));
            }
        } catch (IllegalArgumentException e) {
            signals.say(() -> log().info("SIGHUP is not handled ({}): {}", e.getMessage(), WITHOUT_SIGHUP));
        }
        return signals;
    }

    /**
     * Makes SIGTERM and SIGINT call {@code stop} with the signal's name (on the JVM's signal thread: it must not
     * block) instead of ending the JVM with 128+n; {@code say} gets the line telling that SIGINT is ignored.
     */
    private static void handleStop(Consumer<String> stop, Consumer<Runnable> say) {
        Signal.handle(new Signal("TERM"), s -> stop.accept("SIGTERM"));
        if (Signal.handle(new Signal("INT"), s -> stop.accept("SIGINT")) == SignalHandler.SIG_IGN) {
            // started in the background by a script (job control off): Ctrl-C and kill -INT do nothing then
            say.accept(() -> log().info("SIGINT is ignored (inherited from the parent, as for a background job): "
                    + "stop with SIGTERM"));
        }
    }

    /**
     * Makes SIGTERM and SIGINT run {@code close} on a thread of its own (a command that serves something other than
     * a config, such as {@code backend}): the command then returns its exit code, 0, rather than the JVM ending with
     * 128+n through its shutdown hooks. Logging must be ready.
     */
    static void closeOnStop(Runnable close) {
        handleStop(signal -> {
            log().info("Received {}: stopping", signal);
            new Thread(close, "svcproxy-stop").start();
        }, Runnable::run);
    }

    /** Logs the lines said so far, and those said from now on at once: the caller's logging is ready. */
    void loggingReady() {
        List<Runnable> lines;
        synchronized (this) {
            lines = pending;
            pending = null;
        }
        if (lines != null) {
            lines.forEach(Runnable::run);
        }
    }

    private void say(Runnable line) {
        synchronized (this) {
            if (pending != null) {
                pending.add(line);
                return;
            }
        }
        line.run();
    }

    /**
     * Ends the config's read: returns false when a stop signal came during it (the process is exiting with 0: the
     * caller returns 0 without serving). A stop signal from now on stops the server once started.
     */
    boolean configRead() {
        return phase.compareAndSet(READING, STARTING);
    }

    /** Hands over the started server; stops it at once if a stop signal came during start-up. */
    void serving(ProxyServer started) {
        server.set(started);
        if (stopRequested.get()) {
            shutdown(started);
        }
    }

    private void stop(String signal) {
        if (phase.compareAndSet(READING, STOPPED)) {
            // nothing serves yet and the read may never end (a config from a pipe): exit as the JVM would, with 0
            stopRequested.set(true);
            say(() -> log().info("Received {} while reading the config: exiting without serving", signal));
            loggingReady(); // the process ends now: the lines said so far (and this one) are logged first
            System.exit(ExitCodes.OK);
            return;
        }
        boolean again = stopRequested.getAndSet(true);
        ProxyServer current = server.get();
        if (again && current != null) {
            // a second Ctrl-C (or SIGTERM) while draining: the user does not want to wait for the drain timeout
            say(() -> log().info("Received {} again: closing the connections left now, without waiting for the "
                    + "drain", signal));
            Thread now = new Thread(current::close, "svcproxy-close");
            now.start();
            return;
        }
        say(() -> log().info("Received {}: shutting down", signal));
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
            say(() -> log().info("Received SIGHUP during start-up: ignored"));
            return;
        }
        current.reopenConnectionLog();
        String notReloaded = current.configNotReloaded();
        if (notReloaded != null) { // run --config /dev/stdin: logrotate's SIGHUP must not empty the config
            log().info("Received SIGHUP: connection log reopened; {}", notReloaded);
            return;
        }
        if (!reloadQueued.compareAndSet(false, true)) {
            log().info("Received SIGHUP: connection log reopened, a reload is already queued");
            return;
        }
        log().info("Received SIGHUP: reopening the connection log and reloading");
        Thread reload = new Thread(() -> {
            reloadQueued.set(false); // a signal from now on asks for a read after this one
            current.reloadFromFile();
        }, "svcproxy-sighup");
        reload.setDaemon(true);
        reload.start();
    }
}
