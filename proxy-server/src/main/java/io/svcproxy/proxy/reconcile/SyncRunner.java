package io.svcproxy.proxy.reconcile;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the sync function on one thread of its own, coalescing triggers, like kube-proxy's
 * {@code BoundedFrequencyRunner}: a burst of triggers within {@code minInterval} gives one run; a run that
 * fails is retried after {@code retryInterval}; and a periodic run every {@code period} does the housekeeping
 * (drained endpoints, drain deadlines, expired affinity) even when nothing changes.
 */
public final class SyncRunner implements AutoCloseable {
    /** The function to run; returns whether it succeeded. */
    @FunctionalInterface
    public interface Sync {
        boolean run();
    }

    private static final Logger log = LoggerFactory.getLogger(SyncRunner.class);

    private final Sync sync;
    private final long minIntervalNanos;
    private final Duration retryInterval;
    private final ScheduledExecutorService executor;
    private ScheduledFuture<?> pending; // guarded by this
    private long lastRun = System.nanoTime() - Long.MAX_VALUE / 2;

    public SyncRunner(Sync sync, Duration minInterval, Duration retryInterval, Duration period) {
        this.sync = sync;
        this.minIntervalNanos = minInterval.toNanos();
        this.retryInterval = retryInterval;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "svcproxy-sync");
            t.setDaemon(true);
            return t;
        });
        executor.scheduleWithFixedDelay(this::trigger, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Asks for a run soon; triggers that come while one is pending are folded into it. */
    public synchronized void trigger() {
        if (pending != null || executor.isShutdown()) {
            return;
        }
        long wait = Math.max(0, lastRun + minIntervalNanos - System.nanoTime());
        pending = executor.schedule(this::run, wait, TimeUnit.NANOSECONDS);
    }

    private void run() {
        synchronized (this) {
            pending = null;
            lastRun = System.nanoTime();
        }
        boolean ok;
        try {
            ok = sync.run();
        } catch (RuntimeException e) {
            log.error("Sync failed", e);
            ok = false;
        }
        if (!ok && !executor.isShutdown()) {
            executor.schedule(this::trigger, retryInterval.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
