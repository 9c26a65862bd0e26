package io.svcproxy.proxy.dataplane;

/** The data plane on the portable NIO transport. */
class NioDataPlaneTest extends DataPlaneTest {
    @Override
    Transport transport() {
        return Transport.NIO;
    }
}
