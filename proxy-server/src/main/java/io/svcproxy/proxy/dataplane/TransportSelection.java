package io.svcproxy.proxy.dataplane;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import io.svcproxy.config.TransportChoice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;

/**
 * Turns {@code proxy.transport} into a transport this machine has, and says so when it falls back: a native
 * transport asked for by name that is not available gives a WARN line naming the cause and the one used instead;
 * {@code auto} tries {@link #AUTO_ORDER} and logs a skipped io_uring at INFO (an ordinary case: Docker's default
 * seccomp profile refuses {@code io_uring_setup}, and {@code kernel.io_uring_disabled} may turn it off).
 */
final class TransportSelection {
    /** What {@code auto} tries, in order; NIO is always available. */
    static final List<Transport> AUTO_ORDER = List.of(Transport.EPOLL, Transport.NIO);

    /** Whether a transport is available here; the tests replace it to provoke every fallback. */
    interface Probe {
        /** Returns why {@code transport} cannot be used here, or {@code null} when it can. */
        Throwable unavailability(Transport transport);

        /** Returns whether this is Linux, where a missing native transport is worth a line. */
        boolean linux();

        /** Returns the value of {@code /proc/sys/kernel/io_uring_disabled}, or {@code null} when unknown. */
        String ioUringDisabledSysctl();
    }

    /** Netty's own probes: loading the native library, and for io_uring setting up a ring. */
    static final Probe NATIVE = new Probe() {
        @Override
        public Throwable unavailability(Transport transport) {
            return switch (transport) {
                case EPOLL -> Epoll.isAvailable() ? null : Epoll.unavailabilityCause();
                case IO_URING -> IoUring.isAvailable() ? null : IoUring.unavailabilityCause();
                case NIO -> null;
            };
        }

        @Override
        public boolean linux() {
            return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux");
        }

        @Override
        public String ioUringDisabledSysctl() {
            try {
                return Files.readString(Path.of("/proc/sys/kernel/io_uring_disabled")).trim();
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
    };

    private final Probe probe;
    private final Logger log;

    TransportSelection(Probe probe, Logger log) {
        this.probe = probe;
        this.log = log;
    }

    /** Returns the transport for {@code choice}: the one named if available, else the next of its fallbacks. */
    Transport select(TransportChoice choice) {
        return switch (choice) {
            case NIO -> Transport.NIO;
            case EPOLL -> named(Transport.EPOLL, List.of(Transport.NIO));
            case IO_URING -> named(Transport.IO_URING, List.of(Transport.EPOLL, Transport.NIO));
            case AUTO -> auto();
        };
    }

    private Transport named(Transport wanted, List<Transport> fallbacks) {
        Throwable cause = probe.unavailability(wanted);
        if (cause == null) {
            return wanted;
        }
        Transport used = firstAvailable(fallbacks);
        log.warn("Transport {} unavailable, using {}: proxy.transport={} cause={}{}", wanted, used, wanted,
                describe(cause), hint(wanted));
        return used;
    }

    private Transport auto() {
        for (Transport t : AUTO_ORDER) {
            Throwable cause = probe.unavailability(t);
            if (cause == null) {
                return t;
            }
            if (!probe.linux()) {
                continue; // no native transport is expected elsewhere
            }
            Transport used = firstAvailable(AUTO_ORDER.subList(AUTO_ORDER.indexOf(t) + 1, AUTO_ORDER.size()));
            if (t == Transport.IO_URING) {
                log.info("Transport io_uring unavailable, using {}: proxy.transport=auto cause={}{}", used,
                        describe(cause), hint(t));
            } else {
                log.warn("Transport {} unavailable, using {}: proxy.transport=auto cause={}{}", t, used,
                        describe(cause), hint(t));
            }
        }
        return Transport.NIO;
    }

    private Transport firstAvailable(List<Transport> candidates) {
        for (Transport t : candidates) {
            if (probe.unavailability(t) == null) {
                return t;
            }
        }
        return Transport.NIO;
    }

    private static String describe(Throwable cause) {
        StringBuilder s = new StringBuilder(String.valueOf(cause));
        for (Throwable c = cause.getCause(); c != null && c != cause; c = c.getCause()) {
            s.append(" <- ").append(c);
        }
        return s.toString();
    }

    /** Returns what the operator can check, after the cause. */
    private String hint(Transport transport) {
        if (transport == Transport.IO_URING) {
            String sysctl = probe.ioUringDisabledSysctl();
            if (sysctl != null && !sysctl.equals("0")) {
                return " (kernel.io_uring_disabled=" + sysctl + " turns io_uring off)";
            }
            return " (io_uring needs Linux 5.9+ with io_uring enabled; a seccomp profile such as Docker's default"
                    + " refuses io_uring_setup)";
        }
        if (transport == Transport.EPOLL) {
            return " (Netty unpacks its native library into io.netty.native.workdir or java.io.tmpdir, which must"
                    + " allow exec)";
        }
        return "";
    }
}
