package io.svcproxy.benchmarks.scale;

import io.fabric8.kubernetes.api.model.WatchEvent;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The mock API server's dispatcher for the scale bench: everything goes to the fabric8 CRUD dispatcher, except
 * the watch of EndpointSlices, which this class answers itself and writes change events to directly.
 *
 * <p>Why: the CRUD dispatcher matches every write against every stored object, so with 20,000 objects it takes
 * 20-121 writes a second (measured), far from the 1,000 changes a second the bench must deliver. svcproxy still
 * lists through the CRUD dispatcher and receives the changes as a real API server sends them (MODIFIED events on
 * the informer's watch, each with a new resourceVersion), through the same fabric8 client; only the server's own
 * store is left behind (nothing lists again while the watch stays open).
 */
final class SliceWatchStream extends Dispatcher {
    private final Dispatcher crud;
    private final KubernetesSerialization json = new KubernetesSerialization();
    private final List<WebSocket> watches = new CopyOnWriteArrayList<>();
    private long resourceVersion = 1_000_000;

    SliceWatchStream(Dispatcher crud) {
        this.crud = crud;
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        String path = request.getPath();
        if ("GET".equals(request.getMethod()) && path.contains("/endpointslices") && path.contains("watch=true")) {
            return new MockResponse().withWebSocketUpgrade(new WebSocketListener() {
                @Override
                public void onOpen(WebSocket webSocket, Response response) {
                    watches.add(webSocket);
                }

                @Override
                public void onClosed(WebSocket webSocket, int code, String reason) {
                    watches.remove(webSocket);
                }
            });
        }
        return crud.dispatch(request);
    }

    /** Returns whether a slice watch is open (svcproxy's informer has listed and watches). */
    boolean watching() {
        return !watches.isEmpty();
    }

    /** Sends a MODIFIED event of {@code slice} (with the next resourceVersion) to every open slice watch. */
    synchronized void modified(EndpointSlice slice) {
        EndpointSlice versioned = new EndpointSliceBuilder(slice).editMetadata()
                .withResourceVersion(Long.toString(++resourceVersion)).endMetadata().build();
        String event = json.asJson(new WatchEvent(versioned, "MODIFIED"));
        for (WebSocket watch : watches) {
            watch.send(event);
        }
    }
}
