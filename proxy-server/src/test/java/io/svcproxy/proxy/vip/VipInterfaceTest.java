package io.svcproxy.proxy.vip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** VipInterface's decisions against a fake {@code ip}: what it adds, what it owns, what it leaves alone. */
class VipInterfaceTest {
    private static final String LO_ADDRESSES = """
            1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
            1: lo    inet 10.96.0.99/32 scope global lo\\       valid_lft forever preferred_lft forever
            1: lo    inet6 fd00::10/128 scope global nodad \\       valid_lft forever preferred_lft forever
            1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever
            """;

    @Test
    void parsesTheAddressesOfIpDashOAddr() throws Exception {
        assertThat(VipInterface.parseAddresses(LO_ADDRESSES)).containsExactly(
                InetAddress.getByName("127.0.0.1"), InetAddress.getByName("10.96.0.99"),
                InetAddress.getByName("fd00::10"), InetAddress.getByName("::1"));
    }

    @Test
    void parsesPeerAddressesAndSkipsOtherLines() throws Exception {
        String output = """
                7: tun0    inet 10.8.0.1 peer 10.8.0.2/32 scope global tun0\\       valid_lft forever
                3: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever
                Device "nope" does not exist.

                """;
        assertThat(VipInterface.parseAddresses(output)).containsExactly(
                InetAddress.getByName("10.8.0.1"), InetAddress.getByName("fe80::1"));
        assertThat(VipInterface.parseAddresses("")).isEmpty();
    }

    @Test
    void readsCapNetAdminFromTheEffectiveSet() {
        String root = "Name:\tjava\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
                + "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n";
        String withoutNetAdmin = root.replace("CapEff:\t000001ffffffffff", "CapEff:\t000001ffffffefff");
        assertThat(VipInterface.hasEffectiveCapability(root, VipInterface.CAP_NET_ADMIN)).isTrue();
        assertThat(VipInterface.hasEffectiveCapability(withoutNetAdmin, VipInterface.CAP_NET_ADMIN)).isFalse();
        assertThat(VipInterface.hasEffectiveCapability("Name:\tjava\n", VipInterface.CAP_NET_ADMIN)).isFalse();
        assertThatThrownBy(() -> VipInterface.requireNetAdmin("lo", withoutNetAdmin))
                .isInstanceOf(VipInterfaceException.class)
                .hasMessage("proxy.vipInterface: lo needs CAP_NET_ADMIN (run as root or add the capability)");
    }

    @Test
    void readsTheUpFlag() {
        assertThat(VipInterface.isUp("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue")).isTrue();
        assertThat(VipInterface.isUp("1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN")).isFalse();
    }

    @Test
    void addsAnAbsentAddressAsSlash32AndOwnsIt() throws Exception {
        FakeIp ip = new FakeIp();
        VipInterface lo = VipInterface.open("lo", ip);
        lo.add(InetAddress.getByName("10.96.0.10"));
        lo.add(InetAddress.getByName("10.96.0.10"));
        assertThat(ip.changes()).containsExactly("-4 addr add 10.96.0.10/32 dev lo");
        assertThat(lo.owned()).containsExactly(InetAddress.getByName("10.96.0.10"));
        lo.remove(InetAddress.getByName("10.96.0.10"));
        assertThat(ip.changes()).endsWith("-4 addr del 10.96.0.10/32 dev lo");
        assertThat(ip.addresses).doesNotContain(InetAddress.getByName("10.96.0.10"));
    }

    @Test
    void addsIpv6AsSlash128WithoutDuplicateAddressDetection() throws Exception {
        FakeIp ip = new FakeIp();
        VipInterface lo = VipInterface.open("lo", ip);
        lo.add(InetAddress.getByName("fd00::20"));
        assertThat(ip.changes()).containsExactly("-6 addr add fd00::20/128 dev lo nodad");
    }

    @Test
    void leavesAnAddressItFoundAlone() throws Exception {
        FakeIp ip = new FakeIp();
        ip.addresses.add(InetAddress.getByName("10.96.0.99"));
        VipInterface lo = VipInterface.open("lo", ip);
        lo.add(InetAddress.getByName("10.96.0.99"));
        lo.remove(InetAddress.getByName("10.96.0.99"));
        lo.close();
        assertThat(ip.changes()).isEmpty();
        assertThat(ip.addresses).contains(InetAddress.getByName("10.96.0.99"));
    }

    @Test
    void neverAddsLoopbackAddresses() throws Exception {
        FakeIp ip = new FakeIp();
        VipInterface lo = VipInterface.open("lo", ip);
        lo.add(InetAddress.getByName("127.0.10.1"));
        lo.add(InetAddress.getByName("::1"));
        assertThat(ip.commands).containsExactly("-o link show dev lo");
    }

    @Test
    void closeRemovesOnlyTheAddressesItAdded() throws Exception {
        FakeIp ip = new FakeIp();
        ip.addresses.add(InetAddress.getByName("10.96.0.99"));
        VipInterface lo = VipInterface.open("lo", ip);
        lo.add(InetAddress.getByName("10.96.0.10"));
        lo.add(InetAddress.getByName("10.96.0.99"));
        lo.add(InetAddress.getByName("10.96.0.11"));
        lo.close();
        assertThat(ip.changes()).containsExactly("-4 addr add 10.96.0.10/32 dev lo", "-4 addr add 10.96.0.11/32 dev lo",
                "-4 addr del 10.96.0.10/32 dev lo", "-4 addr del 10.96.0.11/32 dev lo");
        assertThat(ip.addresses).containsExactly(InetAddress.getByName("127.0.0.1"),
                InetAddress.getByName("10.96.0.99"));
        assertThat(lo.owned()).isEmpty();
    }

    @Test
    void reportsIpErrorsWhenAnAddressCannotBeAdded() throws Exception {
        FakeIp ip = new FakeIp();
        ip.failAdd = "RTNETLINK answers: Operation not permitted\n";
        VipInterface lo = VipInterface.open("lo", ip);
        assertThatThrownBy(() -> lo.add(InetAddress.getByName("10.96.0.10")))
                .isInstanceOf(IOException.class)
                .hasMessage("proxy.vipInterface: cannot add 10.96.0.10/32 to lo: RTNETLINK answers: Operation not "
                        + "permitted");
        assertThat(lo.owned()).isEmpty();
    }

    @Test
    void createsAMissingInterfaceAsADummy() {
        FakeIp ip = new FakeIp();
        ip.linkExists = false;
        VipInterface.open("svcproxy0", ip);
        assertThat(ip.commands).containsExactly("-o link show dev svcproxy0", "link add svcproxy0 type dummy",
                "link set svcproxy0 up");
    }

    @Test
    void failsClearlyWhenTheKernelHasNoDummyInterfaces() {
        FakeIp ip = new FakeIp();
        ip.linkExists = false;
        ip.dummySupported = false;
        assertThatThrownBy(() -> VipInterface.open("svcproxy0", ip))
                .isInstanceOf(VipInterfaceException.class)
                .hasMessage("proxy.vipInterface: svcproxy0 does not exist and cannot be created as a dummy "
                        + "interface (ip link add svcproxy0 type dummy: Error: Unknown device type.); create it, or "
                        + "use an existing interface such as lo");
    }

    /** A fake {@code ip} for one interface: records the commands and keeps the address list. */
    private static final class FakeIp implements Ip {
        final List<String> commands = new ArrayList<>();
        final Set<InetAddress> addresses = new LinkedHashSet<>();
        boolean linkExists = true;
        boolean dummySupported = true;
        String failAdd;

        FakeIp() {
            try {
                addresses.add(InetAddress.getByName("127.0.0.1"));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }

        List<String> changes() {
            return commands.stream().filter(c -> c.contains(" add ") || c.contains(" del ")).toList();
        }

        @Override
        public Result run(List<String> args) throws IOException {
            String command = String.join(" ", args);
            commands.add(command);
            if (command.startsWith("-o link show dev ")) {
                return linkExists ? new Result(0, "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n", "")
                        : new Result(1, "", "Device \"" + args.get(4) + "\" does not exist.\n");
            }
            if (command.startsWith("link add ")) {
                return dummySupported ? new Result(0, "", "") : new Result(2, "", "Error: Unknown device type.\n");
            }
            if (command.startsWith("link set ")) {
                return new Result(0, "", "");
            }
            if (args.get(0).equals("-o") && args.get(2).equals("addr") && args.get(3).equals("show")) {
                StringBuilder out = new StringBuilder();
                for (InetAddress a : addresses) {
                    out.append("1: lo    ").append(a.getAddress().length == 4 ? "inet " : "inet6 ")
                            .append(a.getHostAddress()).append("/32 scope global lo\\       valid_lft forever\n");
                }
                return new Result(0, out.toString(), "");
            }
            InetAddress address = InetAddress.getByName(args.get(3).substring(0, args.get(3).indexOf('/')));
            if (args.get(2).equals("add")) {
                if (failAdd != null) {
                    return new Result(2, "", failAdd);
                }
                return addresses.add(address) ? new Result(0, "", "")
                        : new Result(2, "", "Error: ipv4: Address already assigned.\n");
            }
            if (args.get(2).equals("del")) {
                return addresses.remove(address) ? new Result(0, "", "")
                        : new Result(2, "", "Error: ipv4: Address not found.\n");
            }
            throw new AssertionError("unexpected command: ip " + command);
        }
    }
}
