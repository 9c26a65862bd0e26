package io.svcproxy.proxy.connlog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.Addresses;
import io.svcproxy.proxy.Main;
import java.io.BufferedReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The connection log: its lines, drops when the queue is full (never blocking), reopen for logrotate. */
class ConnectionLogTest {
    @TempDir
    Path dir;

    static InetAddress ip(String literal) {
        return Addresses.parseIp(literal);
    }

    private static ConnectionLog.Entry entry(int i) {
        return new ConnectionLog.Entry(1_764_812_345_000_000_000L + i * 250_000_000L, ip("10.1.0." + (i % 7)),
                40000 + i, "shop/web", "80", "127.0.0.20" + (1 + i % 3) + ":8080", 1_500_000_000L, 10, 20, "fin");
    }

    @Test
    void formatsSpecsJsonObject() {
        assertThat(ConnectionLog.format(new ConnectionLog.Entry(1_764_812_345_123_456_789L, ip("127.0.1.1"), 40001,
                "shop/web", "http", "[fd00::1]:8080", 2_000_001_000L, 5, 7, "rst"))).isEqualTo("{\"start\": 1764812345.123456, \"client\": \"127.0.1.1\", "
                + "\"clientPort\": 40001, \"service\": \"shop/web\", \"port\": \"http\", \"endpoint\": "
                + "\"[fd00::1]:8080\", \"duration\": 2.000001, \"bytesToEndpoint\": 5, \"bytesToClient\": 7, "
                + "\"end\": \"rst\"}");
        assertThat(ConnectionLog.format(new ConnectionLog.Entry(-1, ip("::1"), 0, "a\"b\\c\u0001é€😀", "53",
                "127.0.0.201:53", 0, 0, Long.MAX_VALUE, "fin"))).isEqualTo("{\"start\": -1.999999, \"client\": "
                + "\"::1\", \"clientPort\": 0, \"service\": \"a\\\"b\\\\c\\u0001é€😀\", \"port\": 53, "
                + "\"endpoint\": \"127.0.0.201:53\", \"duration\": 0.000000, \"bytesToEndpoint\": 0, "
                + "\"bytesToClient\": 9223372036854775807, \"end\": \"fin\"}");
    }

    /**
     * A write that fails (a full disk: {@code /dev/full}, reached through a link) drops and counts its lines, and the
     * file is tried again a second later: lines go on once it can be written, without a SIGHUP, as nginx's log
     * writes do. Before, every later line was dropped until a SIGHUP (helper-116's suspicion), which under
     * {@code nohup} never comes.
     */
    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aFailedWriteIsTriedAgainWithoutASighup() throws Exception {
        Path link = dir.resolve("conn.log");
        Files.createSymbolicLink(link, Path.of("/dev/full"));
        ConnectionLog log = new ConnectionLog(link, 1024);
        log.start();
        assertThat(log.log(entry(0))).isTrue();
        await().atMost(Duration.ofSeconds(20)).until(() -> log.dropped() == 1);
        Path real = dir.resolve("real.log");
        Files.delete(link);
        Files.createSymbolicLink(link, real);
        int[] offered = {1};
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            log.log(entry(offered[0]++));
            return log.written() > 0;
        });
        log.close();
        List<String> lines = Files.readAllLines(real);
        assertThat(lines).hasSize((int) log.written()).allMatch(l -> l.startsWith("{\"start\": ") && l.endsWith("}"));
        assertThat(log.written() + log.dropped()).isEqualTo(offered[0]);
    }

    @Test
    void theLogIsTheLinesInTheOrderTheyWereHandedOver() throws Exception {
        Path file = dir.resolve("order.log");
        ConnectionLog log = new ConnectionLog(file, 1 << 16);
        log.start();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 5000; i++) { // some 1.2 MB: several writes of ConnectionLog.WRITE_AT
            ConnectionLog.Entry e = entry(i);
            expected.add(ConnectionLog.format(e));
            assertThat(log.log(e)).isTrue();
        }
        log.close();
        assertThat(Files.readAllLines(file)).isEqualTo(expected);
        assertThat(log.written()).isEqualTo(5000);
        assertThat(log.dropped()).isZero();
    }

    @Test
    void aFullQueueDropsAndCountsWithoutBlockingAndTheLogReplays() throws Exception {
        Path file = dir.resolve("conn.log");
        ConnectionLog log = new ConnectionLog(file, 4);
        List<Boolean> taken = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            taken.add(log.log(entry(i))); // writer not started: the queue fills
        }
        assertThat(taken).containsExactly(true, true, true, true, false, false, false, false, false, false);
        assertThat(log.dropped()).isEqualTo(6);
        log.start();
        log.close();
        assertThat(Files.readAllLines(file)).hasSize(4);
        assertThat(log.written()).isEqualTo(4);

        // the log is a trace for simulate as it is
        Path config = dir.resolve("c.yaml");
        Files.writeString(config, """
                services:
                  - name: web
                    namespace: shop
                    clusterIP: 127.0.10.201
                    ports: [{port: 80, targetPort: 8080}]
                    endpoints: [{ip: 127.0.0.201}, {ip: 127.0.0.202}, {ip: 127.0.0.203}]
                """);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(new String[] {"simulate", "--config", config.toString(), "--trace", file.toString(),
            "--schedulers", "rr"}, new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(err.toString()).isEmpty();
        assertThat(code).isZero();
        assertThat(out.toString()).startsWith("Service shop/web port 80: 4 connections");
    }

    @Test
    void manyThreadsAtOnceNeverWaitAndEveryEntryIsWrittenOrCounted() throws Exception {
        Path file = dir.resolve("load.log");
        ConnectionLog log = new ConnectionLog(file, 64);
        log.start();
        int threads = 4;
        int each = 20_000;
        AtomicLong accepted = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread w = new Thread(() -> {
                for (int i = 0; i < each; i++) {
                    if (log.log(entry(i))) {
                        accepted.incrementAndGet();
                    }
                }
            });
            workers.add(w);
            w.start();
        }
        for (Thread w : workers) {
            w.join();
        }
        log.close();
        assertThat(accepted.get() + log.dropped()).isEqualTo((long) threads * each);
        assertThat(log.written()).isEqualTo(accepted.get());
        assertThat(Files.readAllLines(file)).hasSize((int) accepted.get());
    }

    @Test
    void anEntryCutShortByACrashIsRemovedBeforeTheNextLine() throws Exception {
        // a run killed inside its write (or a full disk): the file ends inside an entry
        Path file = dir.resolve("cut.log");
        String whole = ConnectionLog.format(entry(1));
        Files.writeString(file, whole + "\n" + ConnectionLog.format(entry(2)).substring(0, 40));
        ConnectionLog log = new ConnectionLog(file, 16);
        log.start();
        assertThat(log.log(entry(3))).isTrue();
        log.close();
        assertThat(Files.readAllLines(file)).containsExactly(whole, ConnectionLog.format(entry(3)));

        // a file that is no log's (no newline in its last 64 KiB): nothing of it is removed
        Path other = dir.resolve("other.log");
        String text = "x".repeat(70 * 1024);
        Files.writeString(other, text);
        ConnectionLog appended = new ConnectionLog(other, 16);
        appended.start();
        appended.log(entry(4));
        appended.close();
        assertThat(Files.readString(other)).startsWith(text);
    }

    @Test
    void aShortFileWithNoNewlineIsLeftWholeUnlessItIsALonelyCutEntry() throws Exception {
        // another file named by mistake, shorter than 64 KiB and with no newline: it was emptied (helper-89's review)
        Path other = dir.resolve("notes.txt");
        String text = "x".repeat(1000);
        Files.writeString(other, text);
        ConnectionLog appended = new ConnectionLog(other, 16);
        appended.start();
        appended.log(entry(1));
        appended.close();
        assertThat(Files.readString(other)).startsWith(text);

        // a log whose first entry was cut: removed, as any cut entry
        Path cut = dir.resolve("first-cut.log");
        Files.writeString(cut, ConnectionLog.format(entry(2)).substring(0, 40));
        ConnectionLog log = new ConnectionLog(cut, 16);
        log.start();
        log.log(entry(3));
        log.close();
        assertThat(Files.readAllLines(cut)).containsExactly(ConnectionLog.format(entry(3)));
    }

    @Test
    void reopenStartsANewFileByNameForLogrotate() throws Exception {
        Path file = dir.resolve("conn.log");
        ConnectionLog log = new ConnectionLog(file, 16);
        log.start();
        log.log(entry(0));
        log.log(entry(1));
        await().atMost(Duration.ofSeconds(10)).until(() -> log.written() == 2);
        Path rotated = dir.resolve("conn.log.1");
        Files.move(file, rotated);
        log.reopen();
        log.log(entry(2));
        log.close();
        assertThat(Files.readAllLines(rotated)).hasSize(2);
        assertThat(Files.readAllLines(file)).hasSize(1).allMatch(l -> l.contains("\"clientPort\": 40002"));
    }

    private Path fifo(String name) throws Exception {
        Path fifo = dir.resolve(name);
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        assertThat(p.waitFor()).as("mkfifo %s", fifo).isZero();
        return fifo;
    }

    /**
     * A named pipe whose reader stopped reading (it holds the pipe open, reads nothing): the writer blocks in
     * write(2) once the pipe (64 KiB) is full. close (the shutdown) gives that write up once it has been blocked
     * {@value ConnectionLog#STALL_MILLIS} ms since the close was asked: the writer is gone, the pipe closed (its
     * reader reads what the pipe held, then its end), and every line is written or counted as dropped. Before, close
     * waited 10 s and returned with the writer still blocked and its lines neither written nor counted.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void closeGivesUpAWriteToAReaderThatStoppedReadingAndCountsWhatWasNotWritten() throws Exception {
        Path fifo = fifo("stuck.fifo");
        ConnectionLog log = new ConnectionLog(fifo, 4096);
        try (StalledReader reader = new StalledReader(fifo)) {
            log.start();
            reader.firstLine(log); // the writer has the pipe open; the reader reads nothing more
            int total = 1 + logMany(log, 2000);
            log.close();
            assertThat(log.written() + log.dropped()).as("written %s, dropped %s", log.written(), log.dropped())
                    .isEqualTo(total);
            assertThat(log.dropped()).isPositive();
            assertThat(reader.readToEnd()).as("the pipe is closed: its reader reaches its end").isPositive();
        }
    }

    /**
     * A reload that moves the log elsewhere does not wait for the old writer ({@link ConnectionLog#closeLater}), and
     * a write of that writer blocked on a reader that stopped reading is given up as by close, on a thread of the
     * log's own: before, that writer stayed blocked for as long as the reader did not read (a thread and the pipe
     * held for good per such reload), its lines neither written nor counted.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void closeLaterGivesUpAWriteToAReaderThatStoppedReading() throws Exception {
        Path fifo = fifo("stuck.fifo");
        AtomicLong dropsTold = new AtomicLong();
        ConnectionLog log = new ConnectionLog(fifo, 4096, dropsTold::incrementAndGet);
        try (StalledReader reader = new StalledReader(fifo)) {
            log.start();
            reader.firstLine(log);
            int total = 1 + logMany(log, 2000);
            log.closeLater();
            await().atMost(Duration.ofSeconds(30)).until(() -> log.written() + log.dropped() == total);
            assertThat(log.dropped()).isPositive();
            assertThat(dropsTold.get()).as("each drop told (svcproxy_connection_log_dropped_total)")
                    .isEqualTo(log.dropped());
            assertThat(reader.readToEnd()).as("the pipe is closed: its reader reaches its end").isPositive();
        }
    }

    /**
     * A reader that reads, if slowly (4 KiB every 40 ms, some 100 KB/s), is no reader that stopped reading: close
     * waits for it (up to {@value ConnectionLog#CLOSE_WAIT_MILLIS} ms in all) and every line reaches it. A pipe's
     * write(2) returns only once all of it is in the pipe, so one write of the formatted lines (up to 256 KiB) to such
     * a reader stays blocked for seconds though the reader reads: before, that single write counted as a stall at
     * {@value ConnectionLog#STALL_MILLIS} ms and was given up, its lines dropped.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void closeWaitsForAReaderThatReadsSlowly() throws Exception {
        Path fifo = fifo("slow.fifo");
        int lines = 1500; // some 300 KB: one write of 256 KiB, then the rest
        ConnectionLog log = new ConnectionLog(fifo, 4096);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            java.util.concurrent.Future<Long> read = pool.submit(() -> {
                long newlines = 0;
                try (java.io.InputStream in = Files.newInputStream(fifo)) {
                    byte[] chunk = new byte[4096];
                    for (int n; (n = in.read(chunk)) != -1; ) {
                        for (int i = 0; i < n; i++) {
                            newlines += chunk[i] == '\n' ? 1 : 0;
                        }
                        Thread.sleep(40);
                    }
                }
                return newlines;
            });
            log.start();
            log.log(entry(0));
            await("the writer has the pipe open").atMost(Duration.ofSeconds(30)).until(() -> log.written() == 1);
            assertThat(logMany(log, lines - 1)).isEqualTo(lines - 1);
            log.close();
            assertThat(log.dropped()).as("dropped (written %d)", log.written()).isZero();
            assertThat(log.written()).isEqualTo(lines);
            assertThat(read.get(30, TimeUnit.SECONDS)).as("lines the reader got").isEqualTo(lines);
        } finally {
            pool.shutdownNow();
        }
    }

    /** Hands {@code n} entries (about 200 bytes each) to {@code log}, those it does not take counted as dropped. */
    private static int logMany(ConnectionLog log, int n) {
        for (int i = 0; i < n; i++) {
            log.log(entry(i));
        }
        return n;
    }

    /** Opens a named pipe for reading (on a thread of its own: open(2) waits for the writer) and reads nothing. */
    private static final class StalledReader implements AutoCloseable {
        private final java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors
                .newSingleThreadExecutor();
        private final java.util.concurrent.Future<java.io.InputStream> opened;

        StalledReader(Path fifo) {
            opened = pool.submit(() -> Files.newInputStream(fifo));
        }

        /** Has {@code log} write one line, and reads it: the writer has opened the pipe. */
        void firstLine(ConnectionLog log) throws Exception {
            log.log(entry(0));
            java.io.InputStream in = opened.get(30, TimeUnit.SECONDS);
            pool.submit(() -> {
                for (int c; (c = in.read()) != '\n'; ) {
                    assertThat(c).isNotEqualTo(-1);
                }
                return null;
            }).get(30, TimeUnit.SECONDS);
        }

        /** Reads what the pipe holds up to its end (the writer closed it); returns the bytes read. */
        long readToEnd() throws Exception {
            java.io.InputStream in = opened.get(30, TimeUnit.SECONDS);
            return pool.submit(() -> in.transferTo(java.io.OutputStream.nullOutputStream())).get(30, TimeUnit.SECONDS);
        }

        @Override
        public void close() throws Exception {
            if (opened.isDone() && !opened.isCancelled()) {
                try {
                    opened.get().close();
                } catch (java.util.concurrent.ExecutionException e) {
                    // never opened
                }
            }
            pool.shutdownNow();
        }
    }

    /**
     * A log shipper's named pipe whose reader comes later: start does not wait in open(2) for it (it runs on the
     * thread that starts the server or applies a reload), the writer does, and the lines handed over meanwhile are
     * written once the reader is there.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aNamedPipeIsOpenedByTheWriterSoStartDoesNotWaitForItsReader() throws Exception {
        Path fifo = fifo("connections.fifo");
        ConnectionLog log = new ConnectionLog(fifo, 16);
        log.start();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            assertThat(log.log(entry(i))).isTrue();
            expected.add(ConnectionLog.format(entry(i)));
        }
        try (BufferedReader reader = Files.newBufferedReader(fifo)) { // the writer's open(2) returns now
            List<String> read = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                read.add(reader.readLine());
            }
            assertThat(read).isEqualTo(expected);
            log.close();
            assertThat(reader.readLine()).as("end of file once the log is closed").isNull();
        }
        assertThat(log.written()).isEqualTo(3);
        assertThat(log.dropped()).isZero();
    }

    /**
     * close (a reload that turns the log off or to another file, the shutdown) does not wait for a writer still in
     * open(2) of a named pipe with no reader: that writer closes what it opens once a reader comes, writes nothing,
     * and counts what was queued as dropped.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void closeDoesNotWaitForAWriterStillOpeningANamedPipe() throws Exception {
        Path fifo = fifo("connections.fifo");
        ConnectionLog log = new ConnectionLog(fifo, 16);
        log.start();
        log.log(entry(0));
        log.log(entry(1));
        log.close();
        assertThat(log.written()).isZero();
        try (BufferedReader reader = Files.newBufferedReader(fifo)) { // lets the writer's open(2) return
            assertThat(reader.readLine()).as("nothing written after close").isNull();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> log.dropped() == 2);
        assertThat(log.written()).isZero();
    }
}
