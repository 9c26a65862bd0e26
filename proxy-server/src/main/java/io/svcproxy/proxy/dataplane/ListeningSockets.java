package io.svcproxy.proxy.dataplane;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The TCP sockets listening on this host now, from {@code /proc/net/tcp} and {@code tcp6}, and which of them are
 * this process's own (their inodes among {@code /proc/self/fd}'s sockets): whether a program other than svcproxy
 * listens at an address, which a bind with SO_REUSEPORT cannot tell (it joins that program's socket if it set the
 * option too). The listeners are read again after 100 ms, so that the binds of one apply (thousands of Service
 * ports at one shared port) share a few readings; this process's sockets are looked up only for a listener not yet
 * known as its own. Linux only; where {@code /proc} cannot be read, nothing is known as foreign.
 */
final class ListeningSockets {
    /** A listening socket: its address ({@code 0.0.0.0} or {@code ::} for every address), port and inode. */
    record Listener(InetAddress address, int port, long inode) {
    }

    /** How long one reading answers: the binds of one apply share it, a program bound since is seen by the next. */
    private static final long REFRESH_NANOS = 100_000_000L;
    private static final String LISTEN = "0A";

    /** Inodes known as this process's sockets: bounded, cleared past it (read again as needed). */
    private static final int OWN_LIMIT = 1 << 18;

    private final Path proc;
    private List<Listener> listeners = List.of();
    /** Socket inodes seen among this process's descriptors; a listener's is looked up only when it is not here. */
    private final Set<Long> own = new HashSet<>();
    private long readAt;
    private boolean read;

    ListeningSockets() {
        this(Path.of("/proc"));
    }

    ListeningSockets(Path proc) {
        this.proc = proc;
    }

    /**
     * Another program's listener whose address overlaps {@code at} (the same address, or either on every address of
     * the family, an IPv6 socket on every address also taking IPv4), at its port, or {@code null} when none does.
     */
    synchronized Listener foreignAt(InetSocketAddress at) {
        long now = System.nanoTime();
        if (!read || now - readAt > REFRESH_NANOS) {
            listeners = readListeners();
            readAt = System.nanoTime();
            read = true;
        }
        for (Listener l : listeners) {
            if (l.port() == at.getPort() && overlaps(l.address(), at.getAddress()) && !own.contains(l.inode())
                    && !readOwn(l.inode())) {
                return l;
            }
        }
        return null;
    }

    /** Forgets what was read: the next question reads again (a listener of ours was bound or closed meanwhile). */
    synchronized void forget() {
        read = false;
    }

    /** Whether a listener at {@code listener} takes connections to {@code wanted} (or shares some with it). */
    static boolean overlaps(InetAddress listener, InetAddress wanted) {
        // [::] takes IPv4 too unless IPV6_V6ONLY (counted as taking it: the safe side), 0.0.0.0 IPv4 only; an
        // IPv4-mapped address is read as the IPv4 address it is
        if (listener.isAnyLocalAddress()) {
            return listener instanceof Inet6Address || wanted instanceof Inet4Address;
        }
        if (wanted.isAnyLocalAddress()) {
            return wanted instanceof Inet6Address || listener instanceof Inet4Address;
        }
        return listener.equals(wanted);
    }

    private List<Listener> readListeners() {
        List<Listener> out = new ArrayList<>();
        for (String file : new String[] {"net/tcp", "net/tcp6"}) {
            List<String> lines;
            try {
                lines = Files.readAllLines(proc.resolve(file));
            } catch (IOException e) {
                continue; // no IPv6, or no /proc: nothing known
            }
            for (int i = 1; i < lines.size(); i++) {
                String line = lines.get(i);
                if (!line.contains(" " + LISTEN + " ")) {
                    continue; // most lines are connections: the state is the only 2-character field
                }
                Listener l = parse(line);
                if (l != null) {
                    out.add(l);
                }
            }
        }
        return out;
    }

    /** A line of {@code /proc/net/tcp{,6}}: {@code sl local rem st ... uid timeout inode}, if it is listening. */
    static Listener parse(String line) {
        String[] f = line.trim().split("\\s+");
        if (f.length < 10 || !f[3].equals(LISTEN)) {
            return null;
        }
        int colon = f[1].indexOf(':');
        if (colon < 0) {
            return null;
        }
        try {
            InetAddress address = address(f[1].substring(0, colon));
            int port = Integer.parseInt(f[1].substring(colon + 1), 16);
            return new Listener(address, port, Long.parseLong(f[9]));
        } catch (NumberFormatException | UnknownHostException e) {
            return null;
        }
    }

    /** The kernel's hex address: 32-bit words in the host's (little-endian) byte order. */
    private static InetAddress address(String hex) throws UnknownHostException {
        byte[] bytes = new byte[hex.length() / 2];
        for (int word = 0; word < bytes.length / 4; word++) {
            for (int b = 0; b < 4; b++) {
                int at = word * 8 + (3 - b) * 2;
                bytes[word * 4 + b] = (byte) Integer.parseInt(hex.substring(at, at + 2), 16);
            }
        }
        return InetAddress.getByAddress(bytes);
    }

    /**
     * Whether {@code inode} is one of this process's sockets: reads its descriptors' links, noting every socket
     * inode on the way, until it is found. A listener of ours is looked up once; another program's costs a full
     * reading each time it is asked about (an error follows anyway).
     */
    private boolean readOwn(long inode) {
        if (own.size() > OWN_LIMIT) {
            own.clear();
        }
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("self/fd"))) {
            for (Path fd : fds) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[") && target.endsWith("]")) {
                        long found = Long.parseLong(target.substring(8, target.length() - 1));
                        own.add(found);
                        if (found == inode) {
                            return true;
                        }
                    }
                } catch (IOException | NumberFormatException e) {
                    // closed meanwhile, or not a socket
                }
            }
        } catch (IOException e) {
            // no /proc: nothing was read as listening either
        }
        return false;
    }
}
