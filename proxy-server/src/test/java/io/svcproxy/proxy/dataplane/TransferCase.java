package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;

/**
 * One transfer of the relay torture, drawn from its seed: how much each side sends, how it writes and reads, in
 * which order the endpoint reads and answers, and whether and where each side resets instead of sending its FIN.
 *
 * @param clientResetAt the upload offset at which the client resets instead of sending FIN, or -1
 * @param endpointResetAt the download offset at which the endpoint resets instead of sending FIN, or -1
 * @param stallPercent the chance, per chunk, that a reader or writer stalls for 1 to 20 ms
 */
record TransferCase(long seed, int worker, long upSize, long downSize, int clientWriteChunk, int clientReadChunk,
                    int endpointWriteChunk, int endpointReadChunk, Order order, int lateReadMillis,
                    long clientResetAt, long endpointResetAt, int stallPercent) {

    /** When the endpoint reads the upload, relative to writing its answer. */
    enum Order {
        /** Reads and answers at the same time. */
        CONCURRENT,
        /** Writes its whole answer and ends it (FIN or reset) before reading anything. */
        ANSWER_FIRST,
        /** Reads the whole upload before answering (request, then response). */
        READ_FIRST,
        /** Answers at once but starts reading only after a while (backpressure on the client). */
        LATE_READ
    }

    private static final int[] CHUNKS = {1, 7, 512, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20};

    static TransferCase of(long seed, int worker) {
        SplittableRandom r = new SplittableRandom(seed);
        long up = size(r);
        long down = size(r);
        Order order = Order.values()[r.nextInt(Order.values().length)];
        long clientReset = r.nextInt(100) < 8 ? r.nextLong(up + 1) : -1;
        long endpointReset = r.nextInt(100) < 8 ? r.nextLong(down + 1) : -1;
        int[] stalls = {0, 0, 1, 5};
        return new TransferCase(seed, worker, up, down, chunk(r, up), chunk(r, down), chunk(r, down), chunk(r, up), order,
                50 + r.nextInt(250), clientReset, endpointReset, stalls[r.nextInt(stalls.length)]);
    }

    private static long size(SplittableRandom r) {
        int p = r.nextInt(100);
        if (p < 12) {
            return 0;
        }
        if (p < 45) {
            return 1 + r.nextInt(64 << 10);
        }
        if (p < 88) {
            return (64 << 10) + r.nextInt(2 << 20);
        }
        return (2 << 20) + r.nextInt(30 << 20);
    }

    /** Returns a largest chunk for a stream of {@code size}: 1 and 7 bytes only up to 64 KiB, to stay fast. */
    private static int chunk(SplittableRandom r, long size) {
        int from = size <= (64 << 10) ? 0 : 2;
        return CHUNKS[from + r.nextInt(CHUNKS.length - from)];
    }

    /** Checks what the two sides saw against what this case says must happen. */
    void check(Transfer t) {
        Transfer.Side client = t.client();
        Transfer.Side endpoint = t.endpoint();
        for (Transfer.Side side : new Transfer.Side[] {client, endpoint}) {
            assertThat(side.mismatchAt()).as("%s: first byte that differs from what was sent", side).isEqualTo(-1);
            assertThat(side.error()).as("%s: unexpected error", side).isNull();
        }
        assertThat(endpoint.received()).as("endpoint: bytes received").isLessThanOrEqualTo(upSize);
        assertThat(client.received()).as("client: bytes received").isLessThanOrEqualTo(downSize);
        boolean clientResets = clientResetAt >= 0;
        boolean endpointResets = endpointResetAt >= 0;
        if (!clientResets && !endpointResets) {
            assertThat(endpoint.received()).as("endpoint: the whole upload").isEqualTo(upSize);
            assertThat(endpoint.ending()).as("endpoint: the upload ends with the client's FIN")
                    .isEqualTo(Transfer.Ending.EOF);
            assertThat(client.received()).as("client: the whole answer").isEqualTo(downSize);
            assertThat(client.ending()).as("client: the answer ends with the endpoint's FIN")
                    .isEqualTo(Transfer.Ending.EOF);
            assertThat(client.resetSeen()).as("client saw a reset nobody sent").isFalse();
            assertThat(endpoint.resetSeen()).as("endpoint saw a reset nobody sent").isFalse();
        }
        if (clientResets && !endpointResets) {
            assertThat(endpoint.resetSeen()).as("endpoint: the client's reset arrives as a reset").isTrue();
        }
        if (endpointResets && !clientResets) {
            assertThat(client.resetSeen()).as("client: the endpoint's reset arrives as a reset").isTrue();
        }
    }

    /** Returns whether a reader or writer stalls before its next chunk. */
    boolean stall(SplittableRandom r) {
        return stallPercent > 0 && r.nextInt(100) < stallPercent;
    }

    @Override
    public String toString() {
        return "case seed=" + seed + " up=" + upSize + " down=" + downSize + " chunks(client w/r, endpoint w/r)="
                + clientWriteChunk + "/" + clientReadChunk + "," + endpointWriteChunk + "/" + endpointReadChunk
                + " order=" + order + (order == Order.LATE_READ ? "(" + lateReadMillis + " ms)" : "")
                + " clientResetAt=" + clientResetAt + " endpointResetAt=" + endpointResetAt + " stall%="
                + stallPercent;
    }
}
