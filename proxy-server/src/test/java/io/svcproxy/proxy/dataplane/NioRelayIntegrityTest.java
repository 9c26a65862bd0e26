package io.svcproxy.proxy.dataplane;

/** The relay's integrity on the Nio transport. */
class NioRelayIntegrityTest extends RelayIntegrityTest {
    @Override
    Transport transport() {
        return Transport.NIO;
    }
}
