package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The picocli-free parse of the lines that start the proxy, and what it leaves to picocli. */
class RunArgumentsTest {
    static RunArguments parse(String line) {
        return RunArguments.parse(line.isEmpty() ? new String[0] : line.split(" "));
    }

    @ParameterizedTest
    @ValueSource(strings = {"run --config a.yaml", "--config a.yaml", "run -c a.yaml", "-c a.yaml",
            "run --config=a.yaml", "--log-level warn --config a.yaml", "run --config a.yaml --log-level=DEBUG"})
    void takesTheConfigFileInEveryFormPicocliAccepts(String line) {
        RunArguments parsed = parse(line);
        assertThat(parsed).isNotNull();
        assertThat(parsed.config()).isEqualTo(Path.of("a.yaml"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "run", "--log-level info", "run --log-level off"})
    void withoutAConfigFileItRunsTheDefault(String line) {
        RunArguments parsed = parse(line);
        assertThat(parsed).isNotNull();
        assertThat(parsed.config()).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"validate --config a.yaml", "version", "demo", "run --help", "-h", "--help",
            "run --config", "run --config a.yaml --config b.yaml", "run -c a.yaml --frobnicate 1",
            "run --log-level loud --config a.yaml", "run --log-level", "run --config -c", "run --config @args",
            "run --config=", "run a.yaml", "run -c=a.yaml", "run --config a.yaml extra",
            "simulate --config a.yaml --trace t.jsonl", "backend --listen 127.0.0.1:0"})
    void leavesEveryOtherLineToPicocli(String line) {
        assertThat(parse(line)).isNull();
    }
}
