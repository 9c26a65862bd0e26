package io.svcproxy.proxy.dataplane;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/**
 * Reads the process's open file descriptors and its limit ({@code RLIMIT_NOFILE}) for the guard that pauses
 * accepting near the limit. The JDK's {@code UnixOperatingSystemMXBean} answers on Linux and macOS; elsewhere
 * the guard is off.
 */
interface FdGuard {
    /** Returns the open file descriptors, or -1 when unknown. */
    long open();

    /** Returns the most file descriptors the process may open, or -1 when unknown. */
    long max();

    /** The JVM's own view of the process. */
    FdGuard PROCESS = new FdGuard() {
        private final OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();

        @Override
        public long open() {
            return os instanceof com.sun.management.UnixOperatingSystemMXBean unix
                    ? unix.getOpenFileDescriptorCount() : -1;
        }

        @Override
        public long max() {
            return os instanceof com.sun.management.UnixOperatingSystemMXBean unix
                    ? unix.getMaxFileDescriptorCount() : -1;
        }
    };
}
