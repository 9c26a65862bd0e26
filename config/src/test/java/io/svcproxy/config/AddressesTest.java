package io.svcproxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class AddressesTest {
    @ParameterizedTest
    @CsvSource({
        "127.0.0.1, 127.0.0.1",
        "0.0.0.0, 0.0.0.0",
        "255.255.255.255, 255.255.255.255",
        "::1, ::1",
        "::, ::",
        "fd00::10, fd00::10",
        "FD00:0:0:0:0:0:0:10, fd00::10",
        "1:2:3:4:5:6:7:8, 1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7::, 1:2:3:4:5:6:7:0",
        "1:0:0:2:0:0:0:3, 1:0:0:2::3",
        "64:ff9b::10.0.0.1, 64:ff9b::a00:1",
        "::ffff:10.0.0.1, 10.0.0.1",
    })
    void parsesLiterals(String text, String canonical) throws Exception {
        InetAddress ip = Addresses.parseIp(text);
        assertThat(Addresses.format(ip)).isEqualTo(canonical);
        assertThat(ip).isEqualTo(InetAddress.getByName(canonical));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "localhost", "example.com", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256",
        "1.2.3.-4", "1..2.3", " 1.2.3.4", "1:2:3:4:5:6:7:8:9", "1::2::3", ":::", ":1::", "1:2:3:4:5:6:7",
        "12345::", "g::1", "fe80::1%eth0", "[::1]", "::1.2.3", "1.2.3.4::", "0x7f.0.0.1", "2130706433"})
    void rejectsAnythingThatIsNotALiteral(String text) {
        assertThatThrownBy(() -> Addresses.parseIp(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(text + " (expected: an IPv4 or IPv6 address)");
    }

    @ParameterizedTest
    @CsvSource({"127.0.0.1:9901, 127.0.0.1, 9901", "[::1]:0, ::1, 0", "0.0.0.0:65535, 0.0.0.0, 65535"})
    void parsesSocketAddresses(String text, String ip, int port) {
        InetSocketAddress address = Addresses.parseSocketAddress(text);
        assertThat(address.getAddress()).isEqualTo(Addresses.parseIp(ip));
        assertThat(address.getPort()).isEqualTo(port);
        assertThat(Addresses.format(address.getAddress(), port)).isEqualTo(text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "localhost:80", "::1:80", "[::1]",
        "[127.0.0.1]:80", ":80", "127.0.0.1:-1", "127.0.0.1:1e3"})
    void rejectsBadSocketAddresses(String text) {
        assertThatThrownBy(() -> Addresses.parseSocketAddress(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(text + " (expected: IP:PORT, such as 127.0.0.1:9901 or [::1]:9901)");
    }
}
