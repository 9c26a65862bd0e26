package io.svcproxy.proxy.dataplane;

import java.time.Instant;

/**
 * The outcome of the last config change: when it was read, whether it was applied or rejected, and the errors
 * of a rejection ({@code FILE:LINE:COLUMN: message} lines) or of an applied change whose listeners could not all be
 * bound (one line each; they are tried again every second, and a Service port that moved keeps serving at its
 * old address meanwhile).
 *
 * @param at when the change was handled
 * @param applied whether it was applied (else rejected)
 * @param errors the errors of a rejected change, or the bind failures of an applied one, one per line; empty when
 *               all is well
 */
public record ReloadStatus(Instant at, boolean applied, String errors) {
    /** Returns {@code applied} or {@code rejected}, as the metrics label it. */
    public String result() {
        return applied ? "applied" : "rejected";
    }
}
