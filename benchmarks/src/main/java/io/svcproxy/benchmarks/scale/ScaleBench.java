package io.svcproxy.benchmarks.scale;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How svcproxy's control plane scales with the cluster: for each cluster size (Services × endpoints, from a config
 * file or from the fabric8 mock API server) it starts svcproxy the way users do ({@code ./svcproxy run --config
 * FILE}, in a process of its own) and measures time to ready and to serve, RSS, the latency and CPU of one endpoint
 * change, and a burst of changes at a fixed rate. One JSON object per size on standard output and in {@code
 * --out}; {@code bench/scale.sh} draws the curves.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.svcproxy.benchmarks.scale.ScaleBench \
 *     --source kubernetes --sizes 1000,2500,5000,10000 --endpoints 10 --changes 30 --rate 1000 --seconds 5
 * </pre>
 */
public final class ScaleBench {
    static final ObjectMapper JSON = new ObjectMapper();

    private ScaleBench() {
    }

    /** The options. */
    record Options(String source, List<Integer> sizes, int endpoints, int changes, int rate, int seconds,
                   Path launcher, Path out) {
        static Options parse(String[] args) {
            Map<String, String> o = new LinkedHashMap<>(Map.of("--source", "file", "--sizes", "1000,2500,5000,10000",
                    "--endpoints", "10", "--changes", "30", "--rate", "1000", "--seconds", "5",
                    "--launcher", "./svcproxy", "--out", "bench/results/scale-" + Instant.now().getEpochSecond()));
            for (int i = 0; i < args.length; i += 2) {
                if (!o.containsKey(args[i]) || i + 1 >= args.length) {
                    throw new IllegalArgumentException("unknown option or missing value: " + args[i]
                            + " (options: " + o.keySet() + ")");
                }
                o.put(args[i], args[i + 1]);
            }
            String source = o.get("--source");
            if (!source.equals("file") && !source.equals("kubernetes")) {
                throw new IllegalArgumentException("--source: file or kubernetes, not " + source);
            }
            List<Integer> sizes = Arrays.stream(o.get("--sizes").split(",")).map(Integer::parseInt).toList();
            return new Options(source, sizes, Integer.parseInt(o.get("--endpoints")),
                    Integer.parseInt(o.get("--changes")), Integer.parseInt(o.get("--rate")),
                    Integer.parseInt(o.get("--seconds")), Path.of(o.get("--launcher")), Path.of(o.get("--out")));
        }
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("scale: " + e.getMessage());
            System.exit(2);
            return;
        }
        Files.createDirectories(options.out());
        List<String> lines = new ArrayList<>();
        for (int size : options.sizes()) {
            Cluster cluster = new Cluster(size, options.endpoints());
            Map<String, Object> result;
            try (Run run = options.source().equals("file") ? new FileRun(cluster, options)
                    : new KubernetesRun(cluster, options)) {
                result = run.measure();
            }
            String line = JSON.writeValueAsString(result);
            System.out.println(line);
            lines.add(line);
            Files.write(options.out().resolve("scale-" + options.source() + ".jsonl"), lines);
        }
    }

    /** Formats a double with 3 decimals, the way the results are written. */
    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** Sleeps; a benchmark is never interrupted but by its own end. */
    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
