package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.proxy.cli.TestBackend.Mode;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code proxy.transport: io_uring} in a process that may not use io_uring, as in a container under Docker's
 * default seccomp profile: {@code without-io-uring.py} installs a seccomp filter that fails io_uring_setup with
 * EPERM, then execs svcproxy. It must say why and serve on epoll; the same config without the filter serves on
 * io_uring (so the filter, not the config, makes the difference). Needs python3 (test.sh installs it).
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class IoUringFallbackProcessTest {
    private static final String VIP = "127.0.10.31";
    private static final int PORT = 18031;

    @TempDir
    Path dir;

    @Test
    void ioUringRefusedBySeccompFallsBackToEpollWithALineSayingWhy() throws Exception {
        String stderr = serveOnce(List.of("python3", helper()));
        assertThat(stderr).contains("WARN  [main] Transport - Transport io_uring unavailable, using epoll: "
                + "proxy.transport=io_uring "
                + "cause=java.lang.RuntimeException: failed to create io_uring ring fd: Operation not permitted")
                .contains("a seccomp profile such as Docker's default refuses io_uring_setup")
                .contains("Data plane started transport=epoll");
    }

    @Test
    void ioUringIsUsedWhereItIsAllowed() throws Exception {
        String stderr = serveOnce(List.of());
        assertThat(stderr).contains("Data plane started transport=io_uring").doesNotContain("unavailable");
    }

    /** Runs svcproxy after {@code wrapper} with proxy.transport io_uring, relays one connection, stops it. */
    private String serveOnce(List<String> wrapper) throws Exception {
        try (TestBackend backend = TestBackend.start(new InetSocketAddress("127.0.0.31", 0), "b31", Mode.NAME)) {
            Path config = dir.resolve("svcproxy.yaml");
            Files.writeString(config, """
                    proxy: {admin: off, transport: io_uring}
                    services:
                      - name: web
                        clusterIP: %s
                        ports: [{port: %d}]
                        endpoints: [{ip: 127.0.0.31, port: %d}]
                    """.formatted(VIP, PORT, backend.address().getPort()));
            try (SvcproxyProcess p = SvcproxyProcess.startWithin(wrapper, dir, "run", "--config",
                    config.toString())) {
                await().atMost(Duration.ofSeconds(30)).until(() -> ProcessTest.accepts(VIP, PORT) || !p.isAlive());
                assertThat(p.isAlive()).as(p.output()).isTrue();
                try (Socket s = ProcessTest.connect(VIP, PORT)) {
                    assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                            .as(p.output()).startsWith("b31");
                }
                p.terminate();
                assertThat(p.waitFor(15)).as(p.output()).isZero();
                return p.stderr();
            }
        }
    }

    private static String helper() throws URISyntaxException {
        return Path.of(IoUringFallbackProcessTest.class.getResource("without-io-uring.py").toURI()).toString();
    }
}
