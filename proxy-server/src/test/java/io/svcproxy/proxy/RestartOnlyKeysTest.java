package io.svcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The lines of a reload that changes a key taking effect at restart show the values as the config writes them.
 *
 * <p>From helper-123's review: the WARN showed Java's toString of the values, "proxy.admin changed from null to
 * /127.0.0.1:9901" for {@code admin: off} taken out (seen live after a SIGHUP), where the config says off and
 * 127.0.0.1:9901.
 */
class RestartOnlyKeysTest {
    @Test
    void aChangedAdminIsShownAsWrittenInTheConfig() throws Exception {
        ProxyConfig off = ConfigLoader.parse("proxy: {admin: off}\n", "svcproxy.yaml");
        ProxyConfig dflt = ConfigLoader.parse("proxy: {}\n", "svcproxy.yaml");
        Logger logger = (Logger) LoggerFactory.getLogger(ProxyServer.class);
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        logger.addAppender(log);
        try {
            RestartOnlyKeys.report(off, off, dflt, null);
        } finally {
            logger.detachAppender(log);
        }
        assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage)
                .containsExactly("proxy.admin changed from off to 127.0.0.1:9901: takes effect at restart");
    }
}
