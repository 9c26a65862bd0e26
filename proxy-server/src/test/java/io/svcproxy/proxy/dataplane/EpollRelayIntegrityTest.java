package io.svcproxy.proxy.dataplane;

/** The relay's integrity on the Epoll transport. */
class EpollRelayIntegrityTest extends RelayIntegrityTest {
    @Override
    Transport transport() {
        return Transport.EPOLL;
    }
}
