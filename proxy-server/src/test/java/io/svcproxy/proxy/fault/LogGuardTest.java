package io.svcproxy.proxy.fault;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The guard itself: it sees what the data plane logs, and lets only the allow-listed events through. */
class LogGuardTest {
    @AfterEach
    void forget() {
        LogGuard.drain(); // what these tests log on purpose must not fail them
    }

    @Test
    void anUnexpectedExceptionOfTheDataPlaneIsCaught() {
        LoggerFactory.getLogger("io.svcproxy.proxy.dataplane.FrontendHandler")
                .warn("Unexpected error side=client", new IllegalStateException("boom"));
        assertThat(LogGuard.drain()).singleElement().asString()
                .contains("FrontendHandler", "Unexpected error", "IllegalStateException: boom");
    }

    @Test
    void nettysOwnWarningsAreCaught() {
        LoggerFactory.getLogger("io.netty.channel.DefaultChannelPipeline").warn("An exceptionCaught() event was fired");
        assertThat(LogGuard.drain()).hasSize(1);
    }

    @Test
    void allowListedEventsPassButNotWithAnException() {
        org.slf4j.Logger servicePort = LoggerFactory.getLogger("io.svcproxy.proxy.dataplane.ServicePort");
        servicePort.warn("Ejecting endpoint service=default/web port=80 endpoint=127.0.0.1:1 failures=5 for=10s");
        assertThat(LogGuard.drain()).isEmpty();
        servicePort.warn("Ejecting endpoint service=default/web", new RuntimeException("no"));
        assertThat(LogGuard.drain()).hasSize(1);
    }

    @Test
    void theControlPlaneAndInfoLinesAreNotTheGuardsBusiness() {
        LoggerFactory.getLogger("io.svcproxy.proxy.reconcile.SyncRunner").error("Sync failed");
        LoggerFactory.getLogger("io.svcproxy.proxy.dataplane.FrontendHandler").info("Connect failed");
        assertThat(LogGuard.drain()).isEmpty();
    }
}
