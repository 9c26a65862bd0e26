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
        assertThat(reported(off, off, dflt))
                .containsExactly("proxy.admin changed from off to 127.0.0.1:9901: takes effect at restart");
    }

    /**
     * A reload that turns the Ingress on with {@code registry.kubernetes} serves the config file's Ingresses, and
     * the Kubernetes API's only from a restart (their source starts with the process): said, where it was silent
     * and answered 404 for them (From helper-130's review).
     */
    @Test
    void anIngressTurnedOnWithKubernetesSaysItsApiIngressesComeAtRestart() throws Exception {
        ProxyConfig without = ConfigLoader.parse("proxy: {admin: off}\nregistry: {kubernetes: {}}\n", "svcproxy.yaml");
        ProxyConfig with = ConfigLoader.parse("proxy: {admin: off, ingress: {http: \"127.0.130.9:0\"}}\n"
                + "registry: {kubernetes: {}}\n", "svcproxy.yaml");
        assertThat(reported(without, without, with)).containsExactly("proxy.ingress turned on: the Kubernetes API's "
                + "Ingresses are served from a restart on (the config file's are served now)");
        assertThat(reported(with, with, with)).isEmpty();
        ProxyConfig fileOnly = ConfigLoader.parse("proxy: {admin: off}\n", "svcproxy.yaml");
        ProxyConfig fileOnlyWith = ConfigLoader.parse("proxy: {admin: off, ingress: {http: \"127.0.130.9:0\"}}\n",
                "svcproxy.yaml");
        assertThat(reported(fileOnly, fileOnly, fileOnlyWith)).as("no Kubernetes source to start").isEmpty();
    }

    private static java.util.List<String> reported(ProxyConfig started, ProxyConfig previous, ProxyConfig next) {
        Logger logger = (Logger) LoggerFactory.getLogger(ProxyServer.class);
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        logger.addAppender(log);
        try {
            RestartOnlyKeys.report(started, previous, next, null);
        } finally {
            logger.detachAppender(log);
        }
        return log.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }
}
