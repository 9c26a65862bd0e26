package io.svcproxy.proxy.cli;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * svcproxy run as a separate process (the test class path, {@code io.svcproxy.proxy.Main}), to test what only
 * a process shows: exit codes, signals, stdout and stderr. A wrapper command ({@code ip netns exec NS},
 * {@code setpriv ...}) may come first: those exec the JVM, so {@link #pid} is the JVM's and signals reach it.
 */
public final class SvcproxyProcess implements AutoCloseable {
    private final Process process;
    private final StringBuffer out = new StringBuffer();
    private final StringBuffer err = new StringBuffer();
    private final Thread outPump;
    private final Thread errPump;
    /** Sent SIGTERM by the stderr pump as soon as this appears on stderr; {@code null}: none. */
    private volatile String terminateAt;

    private SvcproxyProcess(Process process, String terminateAt) {
        this.process = process;
        this.terminateAt = terminateAt;
        this.outPump = pump(process.getInputStream(), out);
        this.errPump = pump(process.getErrorStream(), err);
    }

    static SvcproxyProcess start(Path workDir, String... args) throws IOException {
        return startWithin(List.of(), workDir, args);
    }

    /**
     * Starts svcproxy and sends it SIGTERM from the thread reading its stderr the moment {@code line} appears there
     * (no polling in between): a signal as early as a supervisor that waits for a readiness line could send it.
     */
    static SvcproxyProcess startTerminatingAt(String line, Path workDir, String... args) throws IOException {
        return start(List.of(), System.getProperty("java.class.path"), line, workDir, args);
    }

    /** Starts svcproxy after {@code wrapper}, in {@code workDir} ({@code null}: the current directory). */
    public static SvcproxyProcess startWithin(List<String> wrapper, Path workDir, String... args)
            throws IOException {
        return start(wrapper, System.getProperty("java.class.path"), null, workDir, args);
    }

    /**
     * Starts svcproxy with the class path of its jar: the test class path without the test classes and resources
     * (whose logback-test.xml would configure the logging instead of svcproxy's own set-up).
     */
    static SvcproxyProcess startWithTheJarsClassPath(Path workDir, String... args) throws IOException {
        String testClasses = Path.of("target", "test-classes").toAbsolutePath().toString();
        String classPath = java.util.Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !Path.of(entry).toAbsolutePath().toString().equals(testClasses))
                .collect(java.util.stream.Collectors.joining(File.pathSeparator));
        return start(List.of(), classPath, null, workDir, args);
    }

    private static SvcproxyProcess start(List<String> wrapper, String classPath, String terminateAt, Path workDir,
                                         String... args) throws IOException {
        List<String> command = new ArrayList<>(wrapper);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        command.add("-cp");
        command.add(classPath);
        command.add("io.svcproxy.proxy.Main");
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir == null ? null : workDir.toFile());
        return new SvcproxyProcess(builder.start(), terminateAt);
    }

    private Thread pump(InputStream in, StringBuffer sink) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[4096];
            int n;
            try {
                while ((n = in.read(buffer)) >= 0) {
                    sink.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                    String at = terminateAt;
                    if (at != null && sink == err && sink.indexOf(at) >= 0) {
                        terminateAt = null;
                        terminate();
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "pump");
        t.setDaemon(true);
        t.start();
        return t;
    }

    public String stdout() {
        return out.toString();
    }

    public String stderr() {
        return err.toString();
    }

    /** Returns both streams, for assertion messages. */
    public String output() {
        return "stdout:\n" + out + "\nstderr:\n" + err;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Sends SIGTERM (what {@code docker stop} and Kubernetes send). Through the process handle: unlike
     * {@code Process.destroy()}, it leaves our ends of stdout and stderr open, so the logs of the shutdown are
     * still read.
     */
    public void terminate() {
        process.toHandle().destroy();
    }

    /** Sends a signal by name, such as HUP. */
    public void signal(String name) {
        try {
            new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for the exit and returns the code. */
    public int waitFor(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError("svcproxy did not exit within " + seconds + " s; " + output());
        }
        outPump.join(5000); // the streams end with the process
        errPump.join(5000);
        return process.exitValue();
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
