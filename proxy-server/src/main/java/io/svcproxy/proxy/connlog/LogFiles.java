package io.svcproxy.proxy.connlog;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Opens the connection log's file for appending, a regular file's entry cut short by a crash removed first. */
final class LogFiles {
    private static final Logger log = LoggerFactory.getLogger(ConnectionLog.class);

    private LogFiles() {
    }

    /**
     * Opens the file for appending. A regular file whose last line has no newline holds an entry cut short (this
     * process or an earlier one was killed inside a write, or the disk filled up): that partial entry is removed
     * first, so that the next line does not continue it and the log stays one whole JSON object per line.
     */
    static FileChannel openAppending(Path file) throws IOException {
        FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE);
        if (java.nio.file.Files.isRegularFile(file)) {
            try {
                long whole = wholeLines(file, out.size());
                if (whole < out.size()) {
                    log.warn("Connection log ended inside an entry (cut by a crash or a full disk): the partial "
                            + "entry is removed file={} bytes={}", file, out.size() - whole);
                    out.truncate(whole);
                }
            } catch (IOException e) {
                log.warn("Connection log end not checked file={} error={}", file, e.toString());
            }
        }
        return out;
    }

    /**
     * The length of the file's whole lines: up to and with its last newline, of a file of {@code size} bytes; the
     * whole file when no newline is in its last 64 KiB (far longer than an entry: not a log's cut entry, so nothing
     * of it is removed), or when a file with no newline at all does not start as an entry does (another file
     * named by mistake: it was emptied).
     */
    private static long wholeLines(Path file, long size) throws IOException {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer chunk = ByteBuffer.allocate(4096);
            long end = size;
            while (end > 0 && size - end < 64 * 1024) {
                long from = Math.max(0, end - chunk.capacity());
                chunk.clear().limit((int) (end - from));
                while (chunk.hasRemaining() && in.read(chunk, from + chunk.position()) > 0) {
                    // reads the chunk whole
                }
                for (int i = chunk.position() - 1; i >= 0; i--) {
                    if (chunk.get(i) == '\n') {
                        return from + i + 1;
                    }
                }
                if (from == 0) {
                    // no newline at all: the log's first entry, cut, or a file that is no such log (left whole)
                    return LineEncoder.startsAnEntry(chunk, chunk.position()) ? 0 : size;
                }
                end = from;
            }
            return size;
        }
    }
}
