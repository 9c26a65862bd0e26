package io.svcproxy.proxy.dataplane;

import java.time.Instant;

/**
 * The outcome of the last config change: when it was read, whether it was applied or rejected, and the errors
 * of a rejection ({@code FILE:LINE:COLUMN: message} lines). The addresses an applied change could not bind are
 * {@link ServiceTable#unbound()}'s, which follows their retries.
 *
 * @param at when the change was handled
 * @param applied whether it was applied (else rejected)
 * @param errors the errors of a rejected change, one per line; empty when applied
 */
public record ReloadStatus(Instant at, boolean applied, String errors) {
    /** Returns {@code applied} or {@code rejected}, as the metrics label it. */
    public String result() {
        return applied ? "applied" : "rejected";
    }
}
