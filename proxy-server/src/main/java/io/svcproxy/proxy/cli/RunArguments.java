package io.svcproxy.proxy.cli;

import ch.qos.logback.classic.Level;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.epoll.Epoll;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;

/**
 * The command lines that start the proxy ({@code [run] [-c|--config FILE] [--log-level LEVEL]}, in any order, each
 * option at most once), parsed without picocli, and run as {@code run} would.
 *
 * <p>Why: building picocli's model of the whole command tree (six commands, their annotations read by reflection,
 * about 170 classes that the class-data-sharing archive cannot hold because picocli is compiled for Java 5) took a
 * third of the main thread's CPU before the first Service port listens (docs/performance.md, "Issue 15, round 3").
 * Anything else, including a value that starts with {@code -} or {@code @}, an unknown log level, a repeated option
 * and every other command, goes to picocli, which gives its usual help and errors: this is only a shortcut for the
 * lines it would accept.
 */
public final class RunArguments {
    private final Path config;
    private final String logLevel;

    private RunArguments(Path config, String logLevel) {
        this.config = config;
        this.logLevel = logLevel;
    }

    /** Returns the parsed line, or {@code null} when it is not a plain {@code run} line (picocli then handles it). */
    public static RunArguments parse(String[] args) {
        int i = args.length > 0 && args[0].equals("run") ? 1 : 0;
        String config = null;
        String logLevel = null;
        while (i < args.length) {
            String arg = args[i];
            String name = arg;
            String value;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
                i++;
            } else if (i + 1 < args.length) {
                value = args[i + 1];
                i += 2;
            } else {
                return null;
            }
            if (value.isEmpty() || value.startsWith("-") || value.startsWith("@")) {
                return null;
            }
            switch (name) {
                case "-c", "--config" -> {
                    if (config != null) {
                        return null;
                    }
                    config = value;
                }
                case "--log-level" -> {
                    if (logLevel != null || Level.toLevel(value, null) == null) {
                        return null;
                    }
                    logLevel = value;
                }
                default -> {
                    return null;
                }
            }
        }
        try {
            return new RunArguments(config == null ? null : Path.of(config), logLevel);
        } catch (InvalidPathException e) {
            return null;
        }
    }

    /**
     * Starts, on a thread of its own, what the proxy's start needs later and does not depend on the config, while
     * this thread reads and checks the config (docs/performance.md, "Issue 15, round 3", "round 4" and "round 6"):
     * first the logging (SLF4J and Logback, the log level given, the time zone of the log lines), then, once the
     * returned latch is released, Netty's native epoll transport (its library copied out of the jar and loaded, the
     * platform probed) and default buffer allocator, which log through it, the JDK's linking of record methods and
     * the JVM's management beans (the file-descriptor guard reads the limit through them). Class initialisation is
     * thread-safe: the main thread waits for a class the warm-up is still initialising. Nothing is started: the
     * transport is still chosen by {@code Transport.select()}.
     *
     * <p>The main thread must not log until the latch is released: a logger asked for while SLF4J initialises on
     * another thread is a substitute that queues its events. The config is read without logging.
     */
    private CountDownLatch warmUp() {
        CountDownLatch logging = new CountDownLatch(1);
        Thread warmUp = new Thread(() -> {
            try {
                LoggerFactory.getILoggerFactory(); // Logback first: the rest logs through it
                if (logLevel != null) {
                    Logging.setLevel(logLevel);
                }
            } finally {
                logging.countDown();
            }
            if (!"nio".equalsIgnoreCase(System.getProperty("svcproxy.transport", "").trim())) {
                Epoll.isAvailable();
            }
            ByteBufAllocator.DEFAULT.getClass(); // Netty's default allocator: initialised by the first channel
            new Linked(1, "x").equals(new Linked(1, "x")); // see Linked
            ManagementFactory.getOperatingSystemMXBean();
        }, "svcproxy-warmup");
        warmUp.setDaemon(true);
        warmUp.start();
        return logging;
    }

    /**
     * A record whose {@code equals} the warm-up calls: the first record method of the JVM links the JDK's
     * {@code ObjectMethods} bootstrap and the method handles behind it (~15 ms of the main thread's first config
     * comparison in a profile); later records link their own call site only.
     */
    private record Linked(int number, String text) {
    }

    /** Returns the config file given, or {@code null} for the default ({@code ./svcproxy.yaml} or the demo). */
    public Path config() {
        return config;
    }

    /** Runs the proxy as {@code run} does and returns the exit code; failures are reported as picocli's are. */
    public int execute(PrintWriter out, PrintWriter err) {
        CountDownLatch logging = warmUp();
        try {
            return RunCommand.run(config, out, err, () -> {
                awaitLogging(logging);
                LoggerFactory.getILoggerFactory(); // rethrows what failed on the warm-up thread, if anything
            });
        } catch (Exception e) {
            return ExitCodes.ofFailure(e, err);
        } finally {
            // the log level is set before this returns, also when the run ended before it logged (a config that
            // does not load): else the warm-up thread could set it after the caller (a test) set its own
            awaitLogging(logging);
        }
    }

    private static void awaitLogging(CountDownLatch logging) {
        boolean interrupted = false;
        while (true) {
            try {
                logging.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
