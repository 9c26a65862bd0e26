package io.svcproxy.proxy;

import io.svcproxy.config.Addresses;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.TransportChoice;
import io.svcproxy.proxy.dataplane.DataPlaneSettings;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a reload does to the keys that take effect only at restart: a WARN when one changes to a value other than the
 * one in force (the start's), an INFO when it comes back to that one, nothing when it stays. Called by {@link
 * ProxyServer#reload} under its lock.
 */
final class RestartOnlyKeys {
    /** The proxy server's logger: operators follow one name for what a reload does. */
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    private RestartOnlyKeys() {
    }

    /**
     * Says what the change from {@code previous} to {@code next} does to each restart-only key, the values in force
     * being {@code started}'s.
     *
     * @param kubernetesNodeName this node's name as the Kubernetes mapping was started with it (with {@code
     *     registry.kubernetes}), else {@code null}: then {@code proxy.nodeName} is reloaded as any other key
     */
    static void report(ProxyConfig started, ProxyConfig previous, ProxyConfig next, String kubernetesNodeName) {
        restartOnly("proxy.admin", started.proxy().admin(), previous.proxy().admin(), next.proxy().admin(),
                RestartOnlyKeys::listener);
        restartOnly("proxy.transport", started.proxy().transport(), previous.proxy().transport(),
                next.proxy().transport(), TransportChoice::configName);
        restartOnly("proxy.vipInterface", started.proxy().vipInterface(), previous.proxy().vipInterface(),
                next.proxy().vipInterface(), RestartOnlyKeys::quoted);
        restartOnly("proxy.ingress.className", started.proxy().ingress().className(),
                previous.proxy().ingress().className(), next.proxy().ingress().className(), RestartOnlyKeys::quoted);
        restartOnly("proxy.ingress.publishService", started.proxy().ingress().publishService(),
                previous.proxy().ingress().publishService(), next.proxy().ingress().publishService(),
                name -> name == null ? "not set" : quoted(name));
        restartOnly("registry.kubernetes", withoutSchedulers(started), withoutSchedulers(previous),
                withoutSchedulers(next), null);
        if (started.registry().kubernetes() != null && !started.proxy().ingress().enabled()
                && !previous.proxy().ingress().enabled() && next.proxy().ingress().enabled()) {
            // the Kubernetes Ingress source is started with the listeners at start only
            log.warn("proxy.ingress turned on: the Kubernetes API's Ingresses are served from a restart on (the "
                    + "config file's are served now)");
        }
        if (kubernetesNodeName != null) { // with registry.kubernetes: the mapping and the data plane keep it
            restartOnly("proxy.nodeName", kubernetesNodeName, DataPlaneSettings.of(previous).node().nodeName(),
                    DataPlaneSettings.of(next).node().nodeName(), RestartOnlyKeys::quoted);
        }
    }

    /**
     * One key: {@code running} the value in force; {@code shown} writes a value as the config writes it, or is
     * {@code null} when the log does not show the values.
     */
    private static <T> void restartOnly(String key, T running, T previous, T next, Function<T, String> shown) {
        if (Objects.equals(next, previous)) {
            return;
        }
        if (Objects.equals(next, running)) {
            log.info("{} back to the value in force{}", key, shown != null ? ": " + shown.apply(next) : "");
        } else if (shown != null) {
            log.warn("{} changed from {} to {}: takes effect at restart", key, shown.apply(running),
                    shown.apply(next));
        } else {
            log.warn("{} changed: takes effect at restart", key);
        }
    }

    /**
     * The {@code registry.kubernetes} settings of {@code config} but its schedulers per Service, which a reload swaps
     * in (the rest takes effect at restart), or {@code null}.
     */
    private static KubernetesSettings withoutSchedulers(ProxyConfig config) {
        KubernetesSettings k = config.registry().kubernetes();
        return k == null ? null : k.withServices(List.of());
    }

    /** A listener address as the config writes it: {@code off}, or {@code IP:PORT} (not InetSocketAddress's text). */
    private static String listener(InetSocketAddress address) {
        return address == null ? "off" : Addresses.format(address.getAddress(), address.getPort());
    }

    /** A name in quotes, so that an empty one shows as {@code ''}. */
    private static String quoted(String text) {
        return "'" + text + "'";
    }
}
