package io.svcproxy.proxy.vip;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace of the test's own ({@code ip netns add svcproxy-test-<random>}), with {@code lo} up. Every
 * non-loopback address a test uses lives in here, never in the machine's namespace. {@link #close} ends the
 * processes still inside it (the test started them) and deletes it.
 */
final class Netns implements AutoCloseable {
    private final String name;

    private Netns(String name) {
        this.name = name;
    }

    /**
     * Creates a namespace. Fails, never skips, when {@code ip netns} is unavailable: CI machines have it, so a
     * test that quietly did nothing there would hide a broken machine.
     */
    static Netns create() {
        String name = "svcproxy-test-" + UUID.randomUUID().toString().substring(0, 8);
        Result add;
        try {
            add = run(List.of("ip", "netns", "add", name));
        } catch (IOException e) {
            throw new AssertionError("these tests need `ip netns` (iproute2) and root: cannot run ip: " + e, e);
        }
        if (add.exitCode != 0) {
            throw new AssertionError("these tests need `ip netns` (iproute2) and root (CAP_SYS_ADMIN): `ip netns add "
                    + name + "` failed: " + add.stderr.strip());
        }
        Netns ns = new Netns(name);
        try {
            ns.execOk("ip", "link", "set", "lo", "up");
        } catch (RuntimeException | Error e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    String name() {
        return name;
    }

    /** Returns the command line that runs {@code command} inside this namespace. */
    List<String> inside(List<String> command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(command);
        return full;
    }

    /** Runs {@code command} inside the namespace and waits for it (at most 30 s). */
    Result exec(String... command) {
        try {
            return run(inside(List.of(command)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs {@code command} inside the namespace and fails the test unless it succeeds; returns stdout. */
    String execOk(String... command) {
        Result r = exec(command);
        if (r.exitCode != 0) {
            throw new AssertionError(String.join(" ", command) + " in " + name + " failed (" + r.exitCode + "): "
                    + r.stderr);
        }
        return r.stdout;
    }

    /** Returns {@code ip -o addr show dev lo} inside the namespace. */
    String loAddresses() {
        return execOk("ip", "-o", "addr", "show", "dev", "lo");
    }

    /**
     * Connects to {@code host:port} from inside the namespace (bash's {@code /dev/tcp}) and returns what the
     * server writes before it closes, without surrounding white space, or {@code null} if the connection fails.
     */
    String fetch(String host, int port) {
        Result r = exec("timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/" + host + "/" + port + " && cat <&3");
        return r.exitCode == 0 ? r.stdout.strip() : null;
    }

    /**
     * GET / at {@code address} with {@code host} from inside the namespace (curl, 5 s at most): the body when the
     * answer is 200, else its status, or {@code curl exit N} when no answer came.
     */
    String httpGet(String address, String host) {
        Result r = exec("curl", "-s", "-m", "5", "-H", "Host: " + host, "-w", "\\n%{http_code}",
                "http://" + address + "/");
        if (r.exitCode() != 0) {
            return "curl exit " + r.exitCode();
        }
        String out = r.stdout().strip();
        int last = out.lastIndexOf('\n');
        String status = out.substring(last + 1);
        return status.equals("200") ? out.substring(0, Math.max(0, last)).strip() : status;
    }

    /** Returns the addresses with their prefix length ({@code 10.96.0.10/32}) in {@code ip -o addr} output. */
    static List<String> parse(String ipOutput) {
        List<String> addresses = new ArrayList<>();
        for (String line : ipOutput.split("\\R")) {
            String[] fields = line.strip().split("\\s+");
            for (int i = 0; i + 1 < fields.length; i++) {
                if (fields[i].equals("inet") || fields[i].equals("inet6")) {
                    addresses.add(fields[i + 1]);
                    break;
                }
            }
        }
        return addresses;
    }

    @Override
    public void close() {
        try {
            Result pids = run(List.of("ip", "netns", "pids", name));
            for (String pid : pids.stdout.split("\\s+")) {
                if (!pid.isEmpty()) {
                    ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
            run(List.of("ip", "netns", "del", name));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete network namespace " + name, e);
        }
    }

    private static Result run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File(
                "/dev/null"))).start();
        CompletableFuture<String> out = read(p.getInputStream());
        CompletableFuture<String> err = read(p.getErrorStream());
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + ": no exit within 30 s");
            }
            return new Result(p.exitValue(), out.join(), err.join());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static CompletableFuture<String> read(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                in.transferTo(bytes);
                return bytes.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    record Result(int exitCode, String stdout, String stderr) {
    }
}
