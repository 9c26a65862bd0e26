package io.svcproxy.benchmarks.scale;

import java.nio.file.Path;

/** A process's resident memory and CPU time, from Linux's {@code /proc}. */
record ProcessStats(long pid) {
    private static final double TICKS = 100.0; // USER_HZ on Linux

    long rssKiB() {
        for (String line : ScaleBench.read(Path.of("/proc/" + pid + "/status")).split("\n")) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS for " + pid);
    }

    /** User plus system CPU seconds of the process, its threads included. */
    double cpuSeconds() {
        String stat = ScaleBench.read(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS; // utime, stime: fields 14 and 15
    }
}
