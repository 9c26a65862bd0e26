package io.svcproxy.config.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClassBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** helper-130's review: which Ingresses of the API are served, against Kubernetes' admission and ingress-nginx. */
class H130ReviewKubernetesIngressMapperTest {
    private final KubernetesIngressMapper mapper = new KubernetesIngressMapper("svcproxy");

    private static IngressBuilder ingress(String name, String className, String created) {
        return new IngressBuilder().withNewMetadata().withName(name).withNamespace("default")
                .withCreationTimestamp(created).endMetadata()
                .withNewSpec().withIngressClassName(className).endSpec();
    }

    private static IngressClass defaultClass(String name, String controller, String created) {
        return new IngressClassBuilder().withNewMetadata().withName(name).withCreationTimestamp(created)
                .addToAnnotations(KubernetesIngressMapper.DEFAULT_CLASS_ANNOTATION, "true").endMetadata()
                .withNewSpec().withController(controller).endSpec().build();
    }

    /**
     * Two IngressClasses carry is-default-class "true" (a migration from ingress-nginx, say). Kubernetes' admission
     * (plugin/pkg/admission/network/defaultingressclass, getDefaultClass) takes the newest of them as the cluster's
     * default ("choosing the newest"; same time: the first name), so a classless Ingress belongs to nginx here, and new
     * ones get ingressClassName nginx. svcproxy serves the classless Ingress too because its own class carries the
     * annotation: both controllers serve it and write its status.
     */
    @Test
    void aClasslessIngressIsNotServedWhenANewerDefaultClassIsTheClustersDefault() {
        Ingress classless = ingress("classless", null, "2026-03-01T00:00:00Z").build();
        List<IngressClass> classes = List.of(
                defaultClass("svcproxy", KubernetesIngressMapper.CONTROLLER, "2026-01-01T00:00:00Z"),
                defaultClass("nginx", "k8s.io/ingress-nginx", "2026-02-01T00:00:00Z"));
        assertThat(mapper.served(List.of(classless), classes)).extracting(i -> i.getMetadata().getName())
                .as("served with svcproxy's class the older of two default classes").isEmpty();
    }
}
