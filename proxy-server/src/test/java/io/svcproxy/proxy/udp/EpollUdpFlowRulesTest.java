package io.svcproxy.proxy.udp;

import io.svcproxy.proxy.dataplane.Transport;

/** UDP flow rules on the epoll transport. */
class EpollUdpFlowRulesTest extends UdpFlowRulesTest {
    @Override
    Transport transport() {
        return Transport.EPOLL;
    }
}
