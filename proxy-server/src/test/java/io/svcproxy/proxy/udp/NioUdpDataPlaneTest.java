package io.svcproxy.proxy.udp;

import io.svcproxy.proxy.dataplane.Transport;

/** UDP Service ports on the Nio transport. */
class NioUdpDataPlaneTest extends UdpDataPlaneTest {
    @Override
    Transport transport() {
        return Transport.NIO;
    }
}
