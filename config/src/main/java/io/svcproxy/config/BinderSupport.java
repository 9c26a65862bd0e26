package io.svcproxy.config;

import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.Schedulers;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

/** What the binders of the config file share: the problems found, the value checks of several sections. */
abstract class BinderSupport {
    static final String SCHEDULERS = String.join(", ", Schedulers.NAMES);
    static final Duration MAX_TIMEOUT = Duration.ofHours(8760);

    static final String FLAGS = java.util.Arrays.stream(SchedulerFlag.values())
            .map(SchedulerFlag::configName).collect(Collectors.joining(", "));

    final Problems p;

    BinderSupport(Problems p) {
        this.p = p;
    }

    int integerOr(Fields f, String key, int min, int max, int dflt) {
        if (!f.has(key)) {
            return dflt;
        }
        Integer n = Values.integer(f.value(key), f.child(key), min, max, p);
        return n == null ? dflt : n;
    }

    Duration orDefault(Fields f, String key, Duration min, Duration max, String range, Duration dflt) {
        if (!f.has(key)) {
            return dflt;
        }
        Duration d = Values.duration(f.value(key), f.child(key), min, max, range, p);
        return d == null ? dflt : d;
    }

    String scheduler(Node node, String path) {
        String v = Values.text(node, path, SCHEDULERS, p);
        if (v == null) {
            return null;
        }
        if (!Schedulers.isKnown(v)) {
            Values.wrong(p, node, path, SCHEDULERS);
            return null;
        }
        return v;
    }

    String name(Node node, String path, java.util.function.Predicate<String> valid, String expected) {
        String v = Values.text(node, path, expected, p);
        if (v != null && !valid.test(v)) {
            Values.wrong(p, node, path, expected);
            return null;
        }
        return v;
    }

    Set<SchedulerFlag> flags(Node node, String path, String scheduler) {
        SequenceNode list = Values.list(node, path, "a list of flags: " + FLAGS, p);
        if (list == null) {
            return Set.of();
        }
        Set<SchedulerFlag> flags = EnumSet.noneOf(SchedulerFlag.class);
        for (int i = 0; i < list.getValue().size(); i++) {
            Node item = list.getValue().get(i);
            String itemPath = path + "[" + i + "]";
            String v = Values.text(item, itemPath, FLAGS, p);
            if (v == null) {
                continue;
            }
            SchedulerFlag flag = SchedulerFlag.fromConfigName(v);
            if (flag == null) {
                Values.wrong(p, item, itemPath, FLAGS);
            } else if (!flags.add(flag)) {
                Values.wrong(p, item, itemPath, "each flag once");
            } else if (scheduler != null && !flag.scheduler().equals(scheduler)) {
                String own = java.util.Arrays.stream(SchedulerFlag.values())
                        .filter(x -> x.scheduler().equals(scheduler))
                        .map(SchedulerFlag::configName).collect(Collectors.joining(", "));
                Values.wrong(p, item, itemPath, own.isEmpty()
                        ? "no flags; scheduler " + scheduler + " has none"
                        : "a flag of scheduler " + scheduler + ": " + own);
            }
        }
        return flags;
    }
}
