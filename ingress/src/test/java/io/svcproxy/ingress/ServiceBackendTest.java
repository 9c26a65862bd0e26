package io.svcproxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ServiceBackendTest {
    @Test
    void theServiceStringIsMadeOnceNotPerLookup() {
        ServiceBackend b = new ServiceBackend("shop", "cart", 8080, null);
        assertThat(b.service()).isEqualTo("shop/cart").isSameAs(b.service());
    }

    @Test
    void equalByItsFourFieldsAsAMapKey() {
        ServiceBackend numbered = new ServiceBackend("shop", "cart", 8080, null);
        assertThat(numbered).isEqualTo(new ServiceBackend("shop", "cart", 8080, null))
                .hasSameHashCodeAs(new ServiceBackend("shop", "cart", 8080, null))
                .isNotEqualTo(new ServiceBackend("shop", "cart", 8081, null))
                .isNotEqualTo(new ServiceBackend("shop", "carts", 8080, null))
                .isNotEqualTo(new ServiceBackend("other", "cart", 8080, null));
        ServiceBackend named = new ServiceBackend("shop", "cart", 0, "http");
        assertThat(named).isEqualTo(new ServiceBackend("shop", "cart", 0, "http"))
                .isNotEqualTo(new ServiceBackend("shop", "cart", 0, "grpc"));
        assertThat(numbered).hasToString("shop/cart:8080");
        assertThat(named).hasToString("shop/cart:http");
    }

    @Test
    void exactlyOneOfPortNumberAndName() {
        assertThatThrownBy(() -> new ServiceBackend("shop", "cart", 0, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exactly one");
        assertThatThrownBy(() -> new ServiceBackend("shop", "cart", 80, "http"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exactly one");
    }
}
