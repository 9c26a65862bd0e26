package io.svcproxy.proxy.udp;

import io.svcproxy.proxy.dataplane.Transport;

/** UDP flow rules on the Nio transport. */
class NioUdpFlowRulesTest extends UdpFlowRulesTest {
    @Override
    Transport transport() {
        return Transport.NIO;
    }
}
