package io.svcproxy.proxy.udp;

import io.svcproxy.proxy.dataplane.Transport;

/**
 * UDP Service ports of a data plane on io_uring: they stay on epoll (bare flow sockets) on event loops of their
 * own, which this suite exercises through the same ProxyServer.
 */
class IoUringUdpDataPlaneTest extends UdpDataPlaneTest {
    @Override
    Transport transport() {
        return Transport.IO_URING;
    }
}
