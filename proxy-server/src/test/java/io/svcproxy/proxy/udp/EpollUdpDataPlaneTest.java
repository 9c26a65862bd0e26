package io.svcproxy.proxy.udp;

import io.svcproxy.proxy.dataplane.Transport;

/** UDP Service ports on the Epoll transport. */
class EpollUdpDataPlaneTest extends UdpDataPlaneTest {
    @Override
    Transport transport() {
        return Transport.EPOLL;
    }
}
