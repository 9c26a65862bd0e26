package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A JSON trace entry naming a key twice is an error at its line, whatever its first value and wherever it is. */
class SimulateKeyTwiceTest {
    private static final String CONFIG = """
            services:
              - name: web
                namespace: shop
                clusterIP: 127.0.10.200
                scheduler: rr
                ports: [{port: 80, targetPort: 8080}]
                endpoints:
                  - {ip: 127.0.0.201}
                  - {ip: 127.0.0.202}
              - name: api
                namespace: shop
                clusterIP: 127.0.10.201
                scheduler: rr
                ports: [{port: 80, targetPort: 8080}]
                endpoints:
                  - {ip: 127.0.0.211}
            """;

    @TempDir
    Path dir;

    Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    /** A first value of {@code null} counts (helper-97's review: the last value won silently). */
    @Test
    void aKeyTwiceWhoseFirstValueIsNullIsAnError() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.log", "{\"start\": 1, \"client\": \"127.0.1.1\", \"clientPort\": 5, \"duration\": 1, "
                + "\"service\": null, \"service\": \"shop/api\"}\n");
        CommandLineTest.Result r = CommandLineTest.run("simulate", "--config", config.toString(), "--trace",
                trace.toString());
        assertThat(r.err()).as("stderr; stdout was: " + r.out()).contains("\"service\" appears twice");
        assertThat(r.code()).isEqualTo(2);
    }

    /**
     * A whole last entry without its newline is an error too: only a line the parser runs out of is left out as cut
     * short (helper-97's review: it was dropped with exit 0).
     */
    @Test
    void aWholeLastEntryWithAKeyTwiceIsAnErrorNotACutLine() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.log", "{\"start\": 1, \"client\": \"127.0.1.1\", \"clientPort\": 5, \"duration\": 1}\n"
                + "{\"start\": 2, \"client\": \"127.0.1.1\", \"clientPort\": 5, \"duration\": 1, \"start\": 9}");
        CommandLineTest.Result r = CommandLineTest.run("simulate", "--config", config.toString(), "--trace",
                trace.toString(), "--service", "shop/web");
        assertThat(r.err()).as("stderr").contains("t.log:2:").contains("\"start\" appears twice")
                .doesNotContain("cut short");
        assertThat(r.code()).isEqualTo(2);
    }
}
