package io.svcproxy.proxy.simulate;

import io.svcproxy.balancer.sim.Connection;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.Consumer;

/**
 * Puts connections into start order (ties: file order) in bounded memory: runs of up to {@link #RUN} rows are
 * sorted in memory; a trace longer than one run is spilled run by run to temporary files and merged. A trace
 * already in start order (a CSV written so) is never held whole either: it is the same path, as runs.
 */
final class StartOrder implements Closeable {
    /** Rows sorted in memory at once. */
    static final int RUN = 1 << 19;
    private static final Comparator<Row> ORDER =
            Comparator.comparingLong(Row::start).thenComparingLong(Row::line);

    private record Row(long start, InetAddress client, int clientPort, long duration, long line) {
        Connection connection() {
            return new Connection(start, client, clientPort, duration);
        }
    }

    private final int runSize;
    private final List<Path> spilled = new ArrayList<>();
    private List<Row> run = new ArrayList<>();
    private long rows;

    StartOrder() {
        this(RUN);
    }

    /** Returns an order that sorts {@code runSize} rows at once in memory (small sizes for tests). */
    StartOrder(int runSize) {
        this.runSize = runSize;
    }

    /** Adds a row in file order. */
    void add(TraceRow r) throws IOException {
        run.add(new Row(r.start(), r.client(), r.clientPort(), r.duration(), r.line()));
        rows++;
        if (run.size() >= runSize) {
            spill();
        }
    }

    /** Returns the rows added. */
    long rows() {
        return rows;
    }

    private void spill() throws IOException {
        run.sort(ORDER);
        Path f = Files.createTempFile("svcproxy-simulate-", ".run");
        spilled.add(f);
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(f), 1 << 16))) {
            for (Row r : run) {
                out.writeLong(r.start);
                out.writeLong(r.duration);
                out.writeLong(r.line);
                out.writeShort(r.clientPort);
                byte[] a = r.client.getAddress();
                out.writeByte(a.length);
                out.write(a);
            }
        }
        run = new ArrayList<>();
    }

    /** Hands every row to {@code sink} in start order. */
    void replay(Consumer<Connection> sink) throws IOException {
        if (spilled.isEmpty()) {
            run.sort(ORDER);
            for (Row r : run) {
                sink.accept(r.connection());
            }
            return;
        }
        if (!run.isEmpty()) {
            spill();
        }
        record Head(Row row, DataInputStream in) {
        }
        PriorityQueue<Head> heads = new PriorityQueue<>((a, b) -> ORDER.compare(a.row, b.row));
        List<DataInputStream> streams = new ArrayList<>();
        try {
            for (Path f : spilled) {
                DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(f), 1 << 16));
                streams.add(in);
                Row r = read(in);
                if (r != null) {
                    heads.add(new Head(r, in));
                }
            }
            while (!heads.isEmpty()) {
                Head h = heads.poll();
                sink.accept(h.row.connection());
                Row r = read(h.in);
                if (r != null) {
                    heads.add(new Head(r, h.in));
                }
            }
        } finally {
            for (DataInputStream in : streams) {
                in.close();
            }
        }
    }

    private static Row read(DataInputStream in) throws IOException {
        long start;
        try {
            start = in.readLong();
        } catch (EOFException e) {
            return null;
        }
        long duration = in.readLong();
        long line = in.readLong();
        int port = in.readUnsignedShort();
        byte[] a = new byte[in.readUnsignedByte()];
        in.readFully(a);
        return new Row(start, InetAddress.getByAddress(a), port, duration, line);
    }

    @Override
    public void close() throws IOException {
        for (Path f : spilled) {
            Files.deleteIfExists(f);
        }
    }
}
