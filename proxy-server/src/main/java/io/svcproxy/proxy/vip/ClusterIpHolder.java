package io.svcproxy.proxy.vip;

import java.io.IOException;
import java.net.InetAddress;

/**
 * Keeps ClusterIPs as local addresses so that svcproxy can bind them and the kernel delivers an application's
 * connections to them (kube-proxy's {@code kube-ipvs0}). The reconciler calls {@link #add} before binding the
 * first Service port of an address and {@link #remove} after unbinding the last one. Control-plane thread only.
 */
public interface ClusterIpHolder extends AutoCloseable {
    /** A holder for when {@code proxy.vipInterface} is not set: addresses must already be local (127.0.0.0/8). */
    ClusterIpHolder NONE = new ClusterIpHolder() {
        @Override
        public void add(InetAddress clusterIP) {
        }

        @Override
        public void remove(InetAddress clusterIP) {
        }

        @Override
        public void close() {
        }
    };

    /** Makes {@code clusterIP} a local address; does nothing if it already is one that this holder added. */
    void add(InetAddress clusterIP) throws IOException;

    /** Removes {@code clusterIP} if this holder added it; never touches addresses it did not add. */
    void remove(InetAddress clusterIP);

    /** Removes every address this holder added. */
    @Override
    void close();
}
