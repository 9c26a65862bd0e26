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

    /**
     * Returns a number the open descriptors cannot exceed, read more cheaply than {@link #open()} (which lists
     * them all), or {@link Long#MAX_VALUE} when there is none. The guard skips the listing while this bound is
     * under its threshold: with 10,000 Services the listing reads 10,000 entries four times a second.
     */
    default long openUpperBound() {
        return Long.MAX_VALUE;
    }

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

        /** Linux: the size of the process's descriptor table ({@code FDSize} in /proc/self/status). */
        @Override
        public long openUpperBound() {
            return FdTableSize.read();
        }
    };

    /** Reads {@code FDSize} from /proc/self/status: no descriptor can be open at or above that number. */
    final class FdTableSize {
        private static final java.nio.file.Path STATUS = java.nio.file.Path.of("/proc/self/status");
        private static final byte[] FIELD = "\nFDSize:".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

        private FdTableSize() {
        }

        static long read() {
            byte[] text;
            try {
                text = java.nio.file.Files.readAllBytes(STATUS);
            } catch (java.io.IOException | UnsupportedOperationException e) {
                return Long.MAX_VALUE; // not Linux: no bound, the guard lists the descriptors
            }
            outer:
            for (int i = 0; i + FIELD.length <= text.length; i++) {
                for (int j = 0; j < FIELD.length; j++) {
                    if (text[i + j] != FIELD[j]) {
                        continue outer;
                    }
                }
                long n = 0;
                boolean digits = false;
                for (int k = i + FIELD.length; k < text.length && text[k] != '\n'; k++) {
                    if (text[k] >= '0' && text[k] <= '9') {
                        n = n * 10 + (text[k] - '0');
                        digits = true;
                    }
                }
                return digits ? n : Long.MAX_VALUE;
            }
            return Long.MAX_VALUE;
        }
    }
}
