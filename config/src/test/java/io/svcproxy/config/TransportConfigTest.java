package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static io.svcproxy.config.ConfigAssertions.parse;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@code proxy.transport}: auto by default, the four names in any case, anything else an error with line:column. */
class TransportConfigTest {
    @Test
    void isAutoByDefault() {
        assertThat(parse("proxy: {scheduler: rr}\n").proxy().transport()).isEqualTo(TransportChoice.AUTO);
        assertThat(parse("services: []\n").proxy().transport()).isEqualTo(TransportChoice.AUTO);
        assertThat(ProxySettings.defaults().transport()).isEqualTo(TransportChoice.AUTO);
    }

    @Test
    void takesEachTransportByItsName() {
        assertThat(parse("proxy:\n  transport: auto\n").proxy().transport()).isEqualTo(TransportChoice.AUTO);
        assertThat(parse("proxy:\n  transport: epoll\n").proxy().transport()).isEqualTo(TransportChoice.EPOLL);
        assertThat(parse("proxy:\n  transport: io_uring\n").proxy().transport()).isEqualTo(TransportChoice.IO_URING);
        assertThat(parse("proxy:\n  transport: nio\n").proxy().transport()).isEqualTo(TransportChoice.NIO);
        assertThat(parse("proxy: {transport: IO_URING}\n").proxy().transport()).isEqualTo(TransportChoice.IO_URING);
    }

    @Test
    void rejectsAnUnknownTransportWithItsLineAndColumn() {
        assertThat(errors("proxy:\n  scheduler: rr\n  transport: iouring\n")).containsExactly(
                "svcproxy.yaml:3:14: transport: iouring (expected: one of auto, epoll, io_uring, nio)");
        assertThat(errors("proxy: {transport: kqueue}\n")).containsExactly(
                "svcproxy.yaml:1:20: transport: kqueue (expected: one of auto, epoll, io_uring, nio)");
    }

    @Test
    void rejectsAnEmptyValueAListAndAMap() {
        assertThat(errors("proxy:\n  transport: \"\"\n")).containsExactly(
                "svcproxy.yaml:2:14: transport: \"\" (expected: one of auto, epoll, io_uring, nio)");
        assertThat(errors("proxy:\n  transport: [epoll]\n")).containsExactly(
                "svcproxy.yaml:2:14: transport: a list (expected: one of auto, epoll, io_uring, nio)");
        assertThat(errors("proxy:\n  transport: {name: epoll}\n")).containsExactly(
                "svcproxy.yaml:2:14: transport: a map (expected: one of auto, epoll, io_uring, nio)");
    }

    @Test
    void reportsABadTransportTogetherWithTheOtherErrors() {
        assertThat(errors("proxy:\n  transport: dpdk\n  connectAttempts: 0\n")).hasSize(2)
                .anyMatch(e -> e.startsWith("svcproxy.yaml:2:14: transport: dpdk"))
                .anyMatch(e -> e.startsWith("svcproxy.yaml:3:"));
    }

    @Test
    void aCopyWithATransportKeepsEverythingElse() {
        ProxySettings d = ProxySettings.defaults();
        ProxySettings uring = d.withTransport(TransportChoice.IO_URING);
        assertThat(uring.transport()).isEqualTo(TransportChoice.IO_URING);
        assertThat(uring.withTransport(TransportChoice.AUTO)).isEqualTo(d);
        assertThat(d.withConnectionLog(java.nio.file.Path.of("c.log")).withTransport(TransportChoice.NIO)
                .connectionLog()).isEqualTo(java.nio.file.Path.of("c.log"));
    }
}
