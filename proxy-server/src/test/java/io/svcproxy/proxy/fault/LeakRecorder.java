package io.svcproxy.proxy.fault;

import io.netty.util.ResourceLeakDetector;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A {@link ResourceLeakDetector} that also records every leak it reports, so that tests can fail on them. Netty
 * installs it for every resource type when the tests run with
 * {@code -Dio.netty.customResourceLeakDetector=io.svcproxy.proxy.fault.LeakRecorder} (see proxy-server's pom, which
 * also sets {@code -Dio.netty.leakDetection.level=paranoid}); {@link LeakCheckExtension} fails the tests.
 */
public final class LeakRecorder<T> extends ResourceLeakDetector<T> {
    private static final List<String> LEAKS = new CopyOnWriteArrayList<>();
    private static volatile boolean installed;

    public LeakRecorder(Class<?> resourceType, int samplingInterval) {
        super(resourceType, samplingInterval);
        installed = true;
    }

    public LeakRecorder(Class<?> resourceType, int samplingInterval, long maxActive) {
        this(resourceType, samplingInterval);
    }

    /** Returns whether Netty uses this detector (the system property is set). */
    public static boolean installed() {
        return installed;
    }

    /** Returns the leaks reported so far and forgets them. */
    public static List<String> drain() {
        List<String> copy = List.copyOf(LEAKS);
        LEAKS.removeAll(copy);
        return copy;
    }

    @Override
    protected boolean needReport() {
        return true; // report even when Netty's logger is quiet
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
        LEAKS.add("LEAK: " + resourceType + ".release() was not called before it's garbage-collected." + records);
        super.reportTracedLeak(resourceType, records);
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
        LEAKS.add("LEAK: " + resourceType + ".release() was not called before it's garbage-collected.");
        super.reportUntracedLeak(resourceType);
    }
}
