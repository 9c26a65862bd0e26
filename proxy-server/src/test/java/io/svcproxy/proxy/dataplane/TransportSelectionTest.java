package io.svcproxy.proxy.dataplane;

import static io.svcproxy.proxy.dataplane.ProxyFixture.endpoints;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.TransportChoice;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * {@code proxy.transport} turned into a transport: the one named when it is available, else a fallback with one
 * log line naming the cause and what to check (the probes are replaced to make each transport unavailable); and
 * the key wired through ProxyServer on this machine, which has both native transports.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TransportSelectionTest {
    private static final String VIP = "127.0.10.30";

    private final Logger logger = (Logger) LoggerFactory.getLogger("test.TransportSelection");
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private final Map<Transport, Throwable> unavailable = new EnumMap<>(Transport.class);
    private boolean linux = true;
    private String sysctl = "0";
    private ProxyFixture fixture;

    private final TransportSelection.Probe probe = new TransportSelection.Probe() {
        @Override
        public Throwable unavailability(Transport transport) {
            return unavailable.get(transport);
        }

        @Override
        public boolean linux() {
            return linux;
        }

        @Override
        public String ioUringDisabledSysctl() {
            return sysctl;
        }
    };

    @BeforeEach
    void captureLines() {
        lines.start();
        logger.addAppender(lines);
        logger.setLevel(Level.DEBUG);
    }

    @AfterEach
    void tearDown() {
        logger.detachAppender(lines);
        if (fixture != null) {
            fixture.close();
        }
    }

    private Transport select(TransportChoice choice) {
        return new TransportSelection(probe, logger).select(choice);
    }

    private List<String> logged() {
        return lines.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
    }

    @Test
    void takesEachAvailableTransportByNameWithoutALine() {
        assertThat(select(TransportChoice.IO_URING)).isEqualTo(Transport.IO_URING);
        assertThat(select(TransportChoice.EPOLL)).isEqualTo(Transport.EPOLL);
        assertThat(select(TransportChoice.NIO)).isEqualTo(Transport.NIO);
        assertThat(logged()).isEmpty();
    }

    @Test
    void autoIsTheFirstAvailableOfItsOrder() {
        assertThat(select(TransportChoice.AUTO)).isEqualTo(TransportSelection.AUTO_ORDER.get(0));
        assertThat(logged()).isEmpty();
    }

    @Test
    void ioUringRefusedBySeccompFallsBackToEpollWithAWarnNamingTheCause() {
        unavailable.put(Transport.IO_URING, new RuntimeException("failed to create io_uring ring fd",
                new java.io.IOException("Operation not permitted")));
        assertThat(select(TransportChoice.IO_URING)).isEqualTo(Transport.EPOLL);
        assertThat(logged()).singleElement().asString()
                .startsWith("WARN Transport io_uring unavailable, using epoll: proxy.transport=io_uring cause=")
                .contains("failed to create io_uring ring fd", "Operation not permitted",
                        "a seccomp profile such as Docker's default refuses io_uring_setup");
    }

    @Test
    void ioUringTurnedOffByTheSysctlSaysSo() {
        sysctl = "2";
        unavailable.put(Transport.IO_URING, new RuntimeException("failed to create io_uring ring fd"));
        assertThat(select(TransportChoice.IO_URING)).isEqualTo(Transport.EPOLL);
        assertThat(logged()).singleElement().asString().contains("kernel.io_uring_disabled=2 turns io_uring off");
    }

    @Test
    void ioUringWithoutEpollEitherFallsBackToNio() {
        unavailable.put(Transport.IO_URING, new UnsatisfiedLinkError("no netty_transport_native_io_uring42"));
        unavailable.put(Transport.EPOLL, new UnsatisfiedLinkError("no netty_transport_native_epoll"));
        assertThat(select(TransportChoice.IO_URING)).isEqualTo(Transport.NIO);
        assertThat(logged()).singleElement().asString()
                .startsWith("WARN Transport io_uring unavailable, using nio: ");
    }

    @Test
    void epollByNameFallsBackToNioWithAWarn() {
        unavailable.put(Transport.EPOLL, new UnsatisfiedLinkError("no netty_transport_native_epoll"));
        assertThat(select(TransportChoice.EPOLL)).isEqualTo(Transport.NIO);
        assertThat(logged()).singleElement().asString()
                .startsWith("WARN Transport epoll unavailable, using nio: proxy.transport=epoll")
                .contains("io.netty.native.workdir");
    }

    @Test
    void autoOnLinuxWithoutNativeTransportsUsesNioAndSaysWhy() {
        unavailable.put(Transport.IO_URING, new UnsatisfiedLinkError("no io_uring"));
        unavailable.put(Transport.EPOLL, new UnsatisfiedLinkError("no epoll"));
        assertThat(select(TransportChoice.AUTO)).isEqualTo(Transport.NIO);
        assertThat(logged()).isNotEmpty().allMatch(l -> l.contains("proxy.transport=auto"))
                .anyMatch(l -> l.startsWith("WARN Transport epoll unavailable, using nio"));
    }

    @Test
    void autoElsewhereUsesNioWithoutALine() {
        linux = false;
        unavailable.put(Transport.IO_URING, new UnsatisfiedLinkError("no io_uring"));
        unavailable.put(Transport.EPOLL, new UnsatisfiedLinkError("no epoll"));
        assertThat(select(TransportChoice.AUTO)).isEqualTo(Transport.NIO);
        assertThat(logged()).isEmpty();
    }

    @Test
    void aForcedTransportThatIsNotKnownIsAnError() {
        String before = System.getProperty(Transport.PROPERTY);
        System.setProperty(Transport.PROPERTY, "kqueue");
        try {
            assertThatThrownBy(() -> Transport.select(TransportChoice.IO_URING))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("svcproxy.transport=kqueue");
            System.setProperty(Transport.PROPERTY, "nio");
            assertThat(Transport.select(TransportChoice.IO_URING)).isEqualTo(Transport.NIO);
        } finally {
            if (before == null) {
                System.clearProperty(Transport.PROPERTY);
            } else {
                System.setProperty(Transport.PROPERTY, before);
            }
        }
    }

    @Test
    void theConfigKeyChoosesTheTransportOfTheDataPlane() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty(Transport.PROPERTY) == null,
                "svcproxy.transport forces a transport in this run");
        fixture = new ProxyFixture(Transport.NIO);
        TestBackend backend = fixture.backend("127.0.0.30", "b", TestBackend.Mode.ECHO);
        for (TransportChoice choice : List.of(TransportChoice.IO_URING, TransportChoice.EPOLL)) {
            ProxyServer server = ProxyServer.start(ConfigLoader.parse("proxy: {admin: off, transport: "
                    + choice.configName() + "}\nservices:\n  - name: t\n    clusterIP: " + VIP
                    + "\n    ports: [{port: 18030}]\n" + endpoints(backend), "test.yaml"));
            try {
                assertThat(server.listeners().transport()).isEqualTo(Transport.of(choice));
                try (Socket s = new Socket(VIP, 18030)) {
                    s.setSoTimeout(10_000);
                    OutputStream out = s.getOutputStream();
                    out.write("ping\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    s.shutdownOutput();
                    InputStream in = s.getInputStream();
                    assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("ping\n");
                }
            } finally {
                server.close();
            }
        }
    }
}
