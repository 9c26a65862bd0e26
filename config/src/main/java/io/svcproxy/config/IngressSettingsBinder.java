package io.svcproxy.config;

import static io.svcproxy.config.IngressBinder.PUBLISH_SERVICE_EXPECTED;
import static io.svcproxy.config.IngressBinder.SETTINGS;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Locale;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Binds {@code proxy.ingress}: the http and https listeners (or off), className, responseTimeout, httpsRedirectPort
 * and publishService.
 */
final class IngressSettingsBinder extends BinderSupport {
    private static final String LISTENER_EXPECTED = "IP:PORT, such as 127.0.0.1:8080 or [::1]:8080, or off";

    IngressSettingsBinder(Problems p) {
        super(p);
    }

    IngressSettings bindSettings(Node node, String path) {
        IngressSettings d = IngressSettings.defaults();
        MappingNode map = Values.map(node, path, "a map of " + String.join(", ", SETTINGS), p);
        if (map == null) {
            return d;
        }
        Fields f = new Fields(map, path, p, SETTINGS);
        InetSocketAddress http = f.has("http") ? listener(f.value("http"), f.child("http")) : null;
        InetSocketAddress https = f.has("https") ? listener(f.value("https"), f.child("https")) : null;
        // port 0: two free ports. One on every address overlaps the other at its port (0.0.0.0 and [::] too): they
        // could not both be bound (each would take some of the other's connections)
        if (http != null && https != null && http.getPort() != 0
                && Addresses.takes(http, https.getAddress(), https.getPort())) {
            Values.wrong(p, f.value("https"), f.child("https"), "an address other than http's");
            https = null;
        }
        String className = d.className();
        if (f.has("className")) {
            String v = name(f.value("className"), f.child("className"), Names::isDns1123Subdomain,
                    Names.DNS1123_SUBDOMAIN_EXPECTED);
            className = v == null ? className : v;
        }
        Duration responseTimeout = orDefault(f, "responseTimeout", Duration.ofMillis(1), MAX_TIMEOUT, "1ms..8760h",
                d.responseTimeout());
        int httpsRedirectPort = integerOr(f, "httpsRedirectPort", 1, 65535, d.httpsRedirectPort());
        String publishService = d.publishService();
        if (f.has("publishService")) {
            String v = name(f.value("publishService"), f.child("publishService"),
                    IngressSettingsBinder::isNamespacedName, PUBLISH_SERVICE_EXPECTED);
            publishService = v == null ? publishService : v;
        }
        return new IngressSettings(http, https, className, responseTimeout, httpsRedirectPort, publishService);
    }

    private static boolean isNamespacedName(String v) {
        int slash = v.indexOf('/');
        return slash > 0 && Names.isDns1123Label(v.substring(0, slash)) && Names.isDns1035Label(v.substring(slash + 1));
    }

    /** Returns a listener address; {@code off} or {@code false} are {@code null} (no listener). */
    private InetSocketAddress listener(Node node, String path) {
        if (!(node instanceof ScalarNode s)) {
            Values.wrong(p, node, path, LISTENER_EXPECTED);
            return null;
        }
        String v = s.getValue();
        String lower = v.toLowerCase(Locale.ROOT);
        if (node.getTag().equals(Tag.BOOL) || lower.equals("off")) {
            if (lower.equals("off") || lower.equals("false") || lower.equals("no") || lower.equals("n")) {
                return null;
            }
            Values.wrong(p, node, path, LISTENER_EXPECTED);
            return null;
        }
        try {
            return Addresses.parseSocketAddress(v);
        } catch (IllegalArgumentException e) {
            Values.wrong(p, node, path, LISTENER_EXPECTED);
            return null;
        }
    }
}
