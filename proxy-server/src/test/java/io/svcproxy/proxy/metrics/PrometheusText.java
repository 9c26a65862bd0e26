package io.svcproxy.proxy.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the samples of a Prometheus text-format scrape, for assertions on names, labels and values. */
public final class PrometheusText {
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** One sample line: {@code name{labels} value}. */
    public record Sample(String name, Map<String, String> labels, double value) {
        /** Returns whether every pair of {@code keyValues} is among the labels. */
        public boolean has(String... keyValues) {
            for (int i = 0; i < keyValues.length; i += 2) {
                if (!keyValues[i + 1].equals(labels.get(keyValues[i]))) {
                    return false;
                }
            }
            return true;
        }
    }

    private final List<Sample> samples;

    private PrometheusText(List<Sample> samples) {
        this.samples = samples;
    }

    public static PrometheusText parse(String text) {
        List<Sample> samples = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            String series = line.substring(0, space);
            double value = Double.parseDouble(line.substring(space + 1));
            int brace = series.indexOf('{');
            String name = brace < 0 ? series : series.substring(0, brace);
            Map<String, String> labels = new LinkedHashMap<>();
            if (brace >= 0) {
                Matcher m = LABEL.matcher(series.substring(brace));
                while (m.find()) {
                    labels.put(m.group(1), m.group(2));
                }
            }
            samples.add(new Sample(name, labels, value));
        }
        return new PrometheusText(samples);
    }

    /** Returns the samples named {@code name} carrying every label pair given. */
    public List<Sample> find(String name, String... keyValues) {
        return samples.stream().filter(s -> s.name().equals(name) && s.has(keyValues)).toList();
    }

    /** Returns the value of the only sample named {@code name} with these labels; fails if not exactly one. */
    public double value(String name, String... keyValues) {
        List<Sample> found = find(name, keyValues);
        if (found.size() != 1) {
            throw new AssertionError("expected one sample " + name + " " + List.of(keyValues) + ", found "
                    + found);
        }
        return found.get(0).value();
    }

    /** Returns every sample name. */
    public List<String> names() {
        return samples.stream().map(Sample::name).distinct().toList();
    }
}
