package io.svcproxy.proxy.fault;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test, or its class, when the data plane logged a WARN or ERROR line that {@link LogGuard} does not
 * allow. Registered for every proxy-server test (JUnit's extension auto-detection, see {@code META-INF/services}).
 * A line logged by a connection that outlives its test fails the class (after all) or the next test.
 */
public final class LogGuardExtension implements AfterEachCallback, AfterAllCallback {
    @Override
    public void afterEach(ExtensionContext context) {
        assertNothingUnexpected(context.getDisplayName());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        assertNothingUnexpected(context.getDisplayName());
    }

    private static void assertNothingUnexpected(String where) {
        assertThat(LogGuard.drain()).as("unexpected WARN or ERROR lines of the data plane during " + where
                + " (allowed: " + LogGuard.ALLOWED + ")").isEmpty();
    }
}
