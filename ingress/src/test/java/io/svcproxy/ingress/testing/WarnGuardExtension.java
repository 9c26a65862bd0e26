package io.svcproxy.ingress.testing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test, or its class, when the data plane logged a WARN or ERROR line ({@link WarnGuard}). Registered for
 * every ingress test by JUnit's extension auto-detection ({@code META-INF/services}).
 */
public final class WarnGuardExtension implements AfterEachCallback, AfterAllCallback {
    @Override
    public void afterEach(ExtensionContext context) {
        check(context.getDisplayName());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        check(context.getDisplayName());
    }

    private static void check(String where) {
        assertThat(WarnGuard.drain()).as("WARN or ERROR lines of the data plane during " + where).isEmpty();
    }
}
