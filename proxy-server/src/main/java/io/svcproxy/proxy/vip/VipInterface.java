package io.svcproxy.proxy.vip;

import io.svcproxy.config.Addresses;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the current ClusterIPs as /32 (IPv4) or /128 (IPv6) addresses on one network interface, as kube-proxy
 * keeps them on {@code kube-ipvs0}, using the {@code ip} command of iproute2.
 *
 * <p>It owns only the addresses it added: {@link #remove} and {@link #close} delete those and never any other.
 * An address that is already on the interface when {@link #add} is called (put there by an administrator, by
 * another program, or by an earlier svcproxy that was killed before it could clean up) is used as it is and left
 * there; svcproxy cannot tell a stale address of its own from someone else's, so it errs on the side of leaving
 * it. Addresses in 127.0.0.0/8 and {@code ::1} are local already and are never added.
 *
 * <p>{@link #open} uses an existing interface as it is (such as {@code lo}: its state and other addresses are not
 * touched) or, when it is missing, creates it as a dummy interface and sets it up; that interface is left in
 * place at {@link #close}, like {@code kube-ipvs0}. Needs Linux and CAP_NET_ADMIN.
 *
 * <p>Called by the reconciler on the control-plane thread; {@link #close} may come from the shutdown thread, so
 * the methods are {@code synchronized}.
 */
public final class VipInterface implements ClusterIpHolder {
    private static final Logger log = LoggerFactory.getLogger(VipInterface.class);

    /** How long one {@code ip} command may take. */
    static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);
    /** CAP_NET_ADMIN's bit in the capability sets ({@code linux/capability.h}). */
    static final int CAP_NET_ADMIN = 12;

    private static final Pattern ADDRESS_LITERAL = Pattern.compile("[0-9A-Fa-f:.]+");

    private final String name;
    private final Ip ip;
    private final Set<InetAddress> owned = new LinkedHashSet<>();

    private VipInterface(String name, Ip ip) {
        this.name = name;
        this.ip = ip;
    }

    /**
     * Opens the interface {@code name} for ClusterIPs, creating it as a dummy interface if it is missing.
     *
     * @throws VipInterfaceException if this is not Linux, the process lacks CAP_NET_ADMIN, {@code ip} is not
     *         installed, or the interface is missing and cannot be created; the message names the interface
     */
    public static VipInterface open(String name) {
        Objects.requireNonNull(name, "name");
        String os = System.getProperty("os.name", "unknown");
        if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
            throw new VipInterfaceException("proxy.vipInterface: " + name + " is not supported on " + os
                    + " (expected: Linux); leave proxy.vipInterface empty and use ClusterIPs in 127.0.0.0/8");
        }
        String status;
        try {
            status = Files.readString(Path.of("/proc/self/status"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new VipInterfaceException("proxy.vipInterface: " + name + ": cannot read /proc/self/status to "
                    + "check for CAP_NET_ADMIN: " + e.getMessage(), e);
        }
        requireNetAdmin(name, status);
        Path executable = IpCommand.locate(System.getenv("PATH"));
        if (executable == null) {
            throw new VipInterfaceException("proxy.vipInterface: " + name + " needs the ip command of iproute2, "
                    + "which is not on PATH=" + System.getenv("PATH") + " (install iproute2)");
        }
        return open(name, new IpCommand(executable, COMMAND_TIMEOUT));
    }

    /** Opens {@code name} through {@code ip}, after the checks of {@link #open(String)}. */
    static VipInterface open(String name, Ip ip) {
        Ip.Result link = run(name, ip, List.of("-o", "link", "show", "dev", name));
        if (link.ok()) {
            if (!isUp(link.stdout())) {
                log.warn("Interface is down interface={}: connections to its ClusterIPs fail until it is up", name);
            }
        } else if (link.stderr().contains("does not exist")) {
            create(name, ip);
        } else {
            throw new VipInterfaceException("proxy.vipInterface: " + name + ": ip -o link show dev " + name
                    + " failed: " + link.error());
        }
        log.info("Keeping ClusterIPs on interface={}", name);
        return new VipInterface(name, ip);
    }

    private static void create(String name, Ip ip) {
        Ip.Result add = run(name, ip, List.of("link", "add", name, "type", "dummy"));
        if (!add.ok()) {
            throw new VipInterfaceException("proxy.vipInterface: " + name + " does not exist and cannot be created "
                    + "as a dummy interface (ip link add " + name + " type dummy: " + add.error() + "); create it, "
                    + "or use an existing interface such as lo");
        }
        Ip.Result up = run(name, ip, List.of("link", "set", name, "up"));
        if (!up.ok()) {
            throw new VipInterfaceException("proxy.vipInterface: " + name + " was created but cannot be set up "
                    + "(ip link set " + name + " up: " + up.error() + ")");
        }
        log.info("Created interface={} type=dummy", name);
    }

    private static Ip.Result run(String name, Ip ip, List<String> args) {
        try {
            return ip.run(args);
        } catch (IOException e) {
            throw new VipInterfaceException("proxy.vipInterface: " + name + ": " + e.getMessage(), e);
        }
    }

    /** Fails unless the effective capabilities in {@code procStatus} (/proc/self/status) hold CAP_NET_ADMIN. */
    static void requireNetAdmin(String name, String procStatus) {
        if (!hasEffectiveCapability(procStatus, CAP_NET_ADMIN)) {
            throw new VipInterfaceException("proxy.vipInterface: " + name
                    + " needs CAP_NET_ADMIN (run as root or add the capability)");
        }
    }

    /** Returns whether the {@code CapEff:} line of {@code procStatus} has {@code bit} set; false without one. */
    static boolean hasEffectiveCapability(String procStatus, int bit) {
        for (String line : procStatus.split("\\R")) {
            if (line.startsWith("CapEff:")) {
                String hex = line.substring("CapEff:".length()).strip();
                try {
                    return (Long.parseUnsignedLong(hex, 16) & (1L << bit)) != 0;
                } catch (NumberFormatException e) {
                    return false;
                }
            }
        }
        return false;
    }

    /** Returns whether an {@code ip -o link show} line has the UP flag, as in {@code <LOOPBACK,UP,LOWER_UP>}. */
    static boolean isUp(String linkLine) {
        int open = linkLine.indexOf('<');
        int close = linkLine.indexOf('>', open + 1);
        if (open < 0 || close < 0) {
            return false;
        }
        return List.of(linkLine.substring(open + 1, close).split(",")).contains("UP");
    }

    /**
     * Returns the local addresses listed by {@code ip -o addr show}, one line per address such as
     * {@code 1: lo    inet 10.96.0.10/32 scope global lo\       valid_lft forever ...}; the prefix length is
     * dropped and lines that are not addresses are skipped.
     */
    static Set<InetAddress> parseAddresses(String ipOutput) {
        Set<InetAddress> addresses = new LinkedHashSet<>();
        for (String line : ipOutput.split("\\R")) {
            String[] fields = line.strip().split("\\s+");
            for (int i = 0; i + 1 < fields.length; i++) {
                if (fields[i].equals("inet") || fields[i].equals("inet6")) {
                    String literal = fields[i + 1];
                    int slash = literal.indexOf('/');
                    if (slash >= 0) {
                        literal = literal.substring(0, slash);
                    }
                    // only literals reach getByName, so it never resolves a name
                    if (ADDRESS_LITERAL.matcher(literal).matches()) {
                        try {
                            addresses.add(InetAddress.getByName(literal));
                        } catch (UnknownHostException e) {
                            log.debug("Skipped an address ip printed line={}", line);
                        }
                    }
                    break;
                }
            }
        }
        return addresses;
    }

    /** Returns the interface's name. */
    public String name() {
        return name;
    }

    /** Returns the addresses this holder added and has not removed yet, in the order added. */
    public synchronized List<InetAddress> owned() {
        return new ArrayList<>(owned);
    }

    /**
     * Adds {@code clusterIP} to the interface unless it is there already; only an address added here is owned
     * and removed later.
     *
     * @throws IOException if {@code ip} fails; the message holds its error
     */
    @Override
    public synchronized void add(InetAddress clusterIP) throws IOException {
        if (owned.contains(clusterIP) || clusterIP.isLoopbackAddress()) {
            return;
        }
        if (present(clusterIP)) {
            log.info("ClusterIP already on the interface, leaving it alone address={} interface={}",
                    Addresses.format(clusterIP), name);
            return;
        }
        Ip.Result result = ip.run(addCommand(clusterIP));
        if (!result.ok()) {
            if (present(clusterIP)) { // someone else added it in between: theirs, not ours
                log.info("ClusterIP already on the interface, leaving it alone address={} interface={}",
                        Addresses.format(clusterIP), name);
                return;
            }
            throw new IOException("proxy.vipInterface: cannot add " + prefix(clusterIP) + " to " + name + ": "
                    + result.error());
        }
        owned.add(clusterIP);
        log.info("Added ClusterIP address={} interface={}", prefix(clusterIP), name);
    }

    /** Removes {@code clusterIP} from the interface if this holder added it; failures are logged. */
    @Override
    public synchronized void remove(InetAddress clusterIP) {
        if (!owned.remove(clusterIP)) {
            return;
        }
        List<String> command = List.of(family(clusterIP), "addr", "del", prefix(clusterIP), "dev", name);
        try {
            Ip.Result result = ip.run(command);
            if (result.ok()) {
                log.info("Removed ClusterIP address={} interface={}", prefix(clusterIP), name);
            } else if (!present(clusterIP)) {
                log.info("ClusterIP was removed by someone else address={} interface={}", prefix(clusterIP), name);
            } else {
                log.warn("Cannot remove ClusterIP address={} interface={}: {}", prefix(clusterIP), name,
                        result.error());
            }
        } catch (IOException e) {
            log.warn("Cannot remove ClusterIP address={} interface={}: {}", prefix(clusterIP), name,
                    e.getMessage());
        }
    }

    /** Removes every address this holder added. The interface stays. */
    @Override
    public synchronized void close() {
        for (InetAddress address : List.copyOf(owned)) {
            remove(address);
        }
    }

    private boolean present(InetAddress address) throws IOException {
        Ip.Result list = ip.run(List.of("-o", family(address), "addr", "show", "dev", name));
        if (!list.ok()) {
            throw new IOException("proxy.vipInterface: cannot list the addresses of " + name + ": " + list.error());
        }
        return parseAddresses(list.stdout()).contains(address);
    }

    private List<String> addCommand(InetAddress address) {
        List<String> command = new ArrayList<>(List.of(family(address), "addr", "add", prefix(address), "dev", name));
        if (address instanceof Inet6Address) {
            command.add("nodad"); // usable at once: duplicate address detection would hold it "tentative"
        }
        return command;
    }

    private static String family(InetAddress address) {
        return address instanceof Inet6Address ? "-6" : "-4";
    }

    private static String prefix(InetAddress address) {
        return Addresses.format(address) + (address instanceof Inet6Address ? "/128" : "/32");
    }

    @Override
    public String toString() {
        return "VipInterface[" + name + "]";
    }
}
