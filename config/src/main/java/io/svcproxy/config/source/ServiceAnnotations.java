package io.svcproxy.config.source;

import static io.svcproxy.config.source.KubernetesServiceMapper.SCHEDULER_ANNOTATION;
import static io.svcproxy.config.source.KubernetesServiceMapper.SCHEDULER_FLAGS_ANNOTATION;
import static io.svcproxy.config.source.KubernetesServiceMapper.UDP_RESPONSES_ANNOTATION;

import io.fabric8.kubernetes.api.model.Service;
import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.Schedulers;
import io.svcproxy.config.KubernetesSettings;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * svcproxy's annotations of a Kubernetes Service ({@link KubernetesServiceMapper#SCHEDULER_ANNOTATION},
 * {@link KubernetesServiceMapper#SCHEDULER_FLAGS_ANNOTATION}, {@link KubernetesServiceMapper#UDP_RESPONSES_ANNOTATION})
 * read into its scheduler (the YAML's choice first) and its UDP ports' responses, and the memory of the bad values
 * already warned about, so that each is warned of once. A mapper and the mappers that replace it
 * ({@code withZone}, {@code withSchedulers}) share one instance.
 *
 * <p>Threading: called from the mapper's caller, the source's single thread.
 */
final class ServiceAnnotations {
    /** The mapper's logger: operators and tests follow one name for the bad annotations. */
    private static final Logger log = LoggerFactory.getLogger(KubernetesServiceMapper.class);

    /**
     * The bad annotations already warned about ({@code annotation=value}) by Service ({@code namespace/name}), not
     * to repeat them; a Service's are forgotten when it goes ({@link #forget}), so a Service of that name created
     * later is warned of again and the memory holds the Services there are.
     */
    private final Map<String, Set<String>> warned = new HashMap<>();

    /**
     * The Service's {@link KubernetesServiceMapper#UDP_RESPONSES_ANNOTATION}, or {@code -1} without one (or a bad one,
     * warned of).
     */
    int udpResponses(Service service, String qualified) {
        Map<String, String> annotations = service.getMetadata().getAnnotations();
        String text = annotations == null ? null : annotations.get(UDP_RESPONSES_ANNOTATION);
        if (text == null) {
            return -1;
        }
        try {
            int n = Integer.parseInt(text.trim());
            if (n >= 0 && n <= 1_000_000) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        warnOnce(qualified, UDP_RESPONSES_ANNOTATION, text, "an integer from 0 to 1000000; using the default");
        return -1;
    }

    /** A Service's scheduler: {@code null} for the proxy's default. */
    record Scheduler(String name, Set<SchedulerFlag> flags) {
    }

    /** Returns the scheduler of the YAML's entry, else of the annotations, else the default ({@code null}). */
    Scheduler scheduler(KubernetesSettings settings, Service service, String namespace, String name) {
        KubernetesSettings.ServiceScheduler chosen = settings.scheduler(namespace, name);
        if (chosen != null) {
            return new Scheduler(chosen.scheduler(), chosen.schedulerFlags());
        }
        Map<String, String> annotations = service.getMetadata().getAnnotations() == null
                ? Map.of() : service.getMetadata().getAnnotations();
        String qualified = namespace + "/" + name;
        String scheduler = annotations.get(SCHEDULER_ANNOTATION);
        if (scheduler != null) {
            scheduler = scheduler.trim();
            if (!Schedulers.isKnown(scheduler)) {
                warnOnce(qualified, SCHEDULER_ANNOTATION, scheduler, String.join(", ", Schedulers.NAMES)
                        + "; using the default scheduler");
                scheduler = null;
            }
        }
        String flagsText = annotations.get(SCHEDULER_FLAGS_ANNOTATION);
        Set<SchedulerFlag> flags = EnumSet.noneOf(SchedulerFlag.class);
        if (flagsText != null && !flagsText.isBlank()) {
            if (scheduler == null) {
                warnOnce(qualified, SCHEDULER_FLAGS_ANNOTATION, flagsText, "flags only with a valid annotation "
                        + SCHEDULER_ANNOTATION + "; ignored");
            } else {
                for (String part : flagsText.split(",")) {
                    String text = part.trim();
                    SchedulerFlag flag = SchedulerFlag.fromConfigName(text);
                    if (flag == null || !flag.scheduler().equals(scheduler)) {
                        warnOnce(qualified, SCHEDULER_FLAGS_ANNOTATION, text, "a flag of scheduler " + scheduler
                                + ": " + String.join(", ", Schedulers.flagsOf(scheduler).stream()
                                        .map(SchedulerFlag::configName).toList()) + "; ignored");
                    } else {
                        flags.add(flag);
                    }
                }
            }
        }
        return new Scheduler(scheduler, flags);
    }

    /** Forgets what was warned about the Service {@code qualified} ({@code namespace/name}): it is gone. */
    void forget(String qualified) {
        warned.remove(qualified);
    }

    private void warnOnce(String service, String annotation, String value, String expected) {
        if (warned.computeIfAbsent(service, s -> new HashSet<>()).add(annotation + "=" + value)) {
            log.warn("Bad annotation service={} annotation={} value={} (expected: {})", service, annotation, value,
                    expected);
        }
    }
}
