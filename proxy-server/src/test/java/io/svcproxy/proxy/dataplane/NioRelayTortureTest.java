package io.svcproxy.proxy.dataplane;

/** The relay torture on the Nio transport. */
class NioRelayTortureTest extends RelayTortureTest {
    @Override
    Transport transport() {
        return Transport.NIO;
    }
}
