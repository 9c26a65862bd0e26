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
    void connectionLogTurnsTheLogOn(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path log = Path.of("/tmp/demo.log");
        assertThat(DemoCommand.config(log).proxy().connectionLog()).isEqualTo(log);
        // characters YAML would read as a comment, a mapping or a quote are the path's own
        Path odd = java.nio.file.Files.createDirectories(dir.resolve("a #b: c's \"d\"")).resolve("demo.log");
        assertThat(DemoCommand.config(odd).proxy().connectionLog()).isEqualTo(odd);
    }

    @Test
    void aConnectionLogInAFolderThatDoesNotExistExitsTwoNamingIt() {
        CommandLineTest.Result r = CommandLineTest.run("demo", "--connection-log", "/no/such/folder/c.log");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("svcproxy demo: --connection-log /no/such/folder/c.log: expected a file "
                + "svcproxy can write or create in an existing folder");
    }
}
