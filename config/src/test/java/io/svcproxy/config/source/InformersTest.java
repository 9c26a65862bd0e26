package io.svcproxy.config.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.informers.impl.cache.CacheImpl;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** How the Kubernetes sources read fabric8's informer caches. */
@Timeout(60)
class InformersTest {
    /**
     * A slice put again with its resource version unchanged (the mock API server's watch sends every object as ADDED
     * when it opens; a re-list after a watch error puts every object again) is in the index all along for a reader:
     * fabric8's byIndex alone returned no slice while the put was between its old index entry and its new one, and
     * the put notifies no handler, so the Service stayed mapped without endpoints (IngressKubernetesStatusTest, once).
     */
    @Test
    void aSlicePutAgainStaysInTheIndexForAReader() throws Exception {
        EndpointSlice listed = slice();
        EndpointSlice watched = slice(); // equal, not the same object, as the watch gives it
        CountDownLatch indexing = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        CacheImpl<EndpointSlice> cache = new CacheImpl<>();
        cache.addIndexers(Map.of("service", slice -> {
            if (slice == watched) { // the old entry is out, the new one not in yet
                indexing.countDown();
                awaitQuietly(proceed);
            }
            return List.of("default/kapi");
        }));
        cache.put(listed);

        Thread put = new Thread(() -> cache.put(watched), "put-again");
        put.start();
        assertThat(indexing.await(10, TimeUnit.SECONDS)).isTrue();
        AtomicReference<List<EndpointSlice>> read = new AtomicReference<>();
        Thread reader = new Thread(() -> read.set(Informers.byIndex(cache, "service", "default/kapi")), "reader");
        reader.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> reader.getState() == Thread.State.BLOCKED
                || reader.getState() == Thread.State.TERMINATED);
        proceed.countDown();
        reader.join(10_000);
        put.join(10_000);

        assertThat(read.get()).as("the slices of default/kapi read during the put").hasSize(1).first()
                .isSameAs(watched);
    }

    private static EndpointSlice slice() {
        return new EndpointSliceBuilder().withNewMetadata().withName("kapi-1").withNamespace("default")
                .withResourceVersion("5").addToLabels(KubernetesServiceMapper.SERVICE_NAME_LABEL, "kapi")
                .endMetadata().withAddressType("IPv4").addNewEndpoint().withAddresses("127.0.137.1").endEndpoint()
                .build();
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
