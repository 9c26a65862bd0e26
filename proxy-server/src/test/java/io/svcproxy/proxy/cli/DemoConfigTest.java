package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The demo's config: one YAML text, served as written, and written for simulate by --write-config. */
class DemoConfigTest {
    @Test
    void theWrittenYamlIsTheConfigTheDemoServes() throws Exception {
        ProxyConfig served = DemoCommand.config();
        ProxyConfig written = ConfigLoader.parse(DemoCommand.yaml(DemoCommand.CLUSTER_IP, DemoCommand.PORT,
                DemoCommand.BACKEND_IPS, List.of(8081, 8081, 8081), null), "demo.yaml");
        assertThat(served.source()).isNull(); // nothing to watch
        assertThat(written.services()).isEqualTo(served.services());
        assertThat(written.pods()).isEqualTo(served.pods());
        assertThat(served.services().get(0).qualifiedName()).isEqualTo("default/demo");
        assertThat(served.services().get(0).scheduler()).isEqualTo("rr");
        assertThat(served.proxy().connectionLog()).isNull();
    }

    @Test
    void connectionLogTurnsTheLogOn() {
        Path log = Path.of("/tmp/demo.log");
        assertThat(DemoCommand.config(log).proxy().connectionLog()).isEqualTo(log);
    }
}
