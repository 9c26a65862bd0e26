package io.svcproxy.proxy.vip;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * svcproxy ({@code io.svcproxy.proxy.Main} on the test class path) run as a process inside a {@link Netns}, after
 * an optional prefix such as {@code setpriv}. Like the command-line tests' {@code SvcproxyProcess}; {@code ip netns
 * exec} and {@code setpriv} exec the JVM, so {@link #pid} is the JVM's and signals reach it.
 */
final class NsProcess implements AutoCloseable {
    private final Process process;
    private final StringBuffer out = new StringBuffer();
    private final StringBuffer err = new StringBuffer();
    private final Thread outPump;
    private final Thread errPump;

    private NsProcess(Process process) {
        this.process = process;
        this.outPump = pump(process.getInputStream(), out);
        this.errPump = pump(process.getErrorStream(), err);
    }

    static NsProcess start(Netns ns, List<String> prefix, String... args) throws IOException {
        List<String> command = new ArrayList<>(prefix);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("io.svcproxy.proxy.Main");
        command.addAll(List.of(args));
        return new NsProcess(new ProcessBuilder(ns.inside(command)).start());
    }

    private static Thread pump(InputStream in, StringBuffer sink) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[4096];
            int n;
            try {
                while ((n = in.read(buffer)) >= 0) {
                    sink.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "pump");
        t.setDaemon(true);
        t.start();
        return t;
    }

    String output() {
        return "stdout:\n" + out + "\nstderr:\n" + err;
    }

    String stderr() {
        return err.toString();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Sends SIGTERM through the process handle, which leaves stdout and stderr readable. */
    void terminate() {
        process.toHandle().destroy();
    }

    /** Sends SIGHUP (reload). */
    void hangUp() {
        try {
            new ProcessBuilder("kill", "-HUP", Long.toString(process.pid())).start().waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for the exit and returns the code. */
    int waitFor(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError("svcproxy did not exit within " + seconds + " s; " + output());
        }
        outPump.join(5000);
        errPump.join(5000);
        return process.exitValue();
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
