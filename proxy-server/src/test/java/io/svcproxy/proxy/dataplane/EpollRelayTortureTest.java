package io.svcproxy.proxy.dataplane;

/** The relay torture on the Epoll transport. */
class EpollRelayTortureTest extends RelayTortureTest {
    @Override
    Transport transport() {
        return Transport.EPOLL;
    }
}
