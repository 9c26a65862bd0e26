package io.svcproxy.proxy.simulate;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads a trace one row at a time, in file order: CSV with a header line (columns {@code start, client,
 * clientPort, duration} and optionally {@code service, port, bytes}) or the connection log (JSON lines), told
 * apart by the first non-blank character of the first non-blank line. Blank lines are skipped.
 */
final class TraceReader implements Closeable {
    private static final String[] REQUIRED = {"start", "client", "clientPort", "duration"};

    private final String file;
    /** The longest line taken: an entry is a few hundred bytes. */
    static final int MAX_LINE = 64 * 1024;
    private final InputStream in;
    /** Bytes read and not yet taken: {@code buffer[position, limit)}. */
    private final byte[] buffer = new byte[64 * 1024];
    private int position;
    private int limit;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder();
    private long line;
    private Boolean json;
    private Map<String, Integer> columns;
    /** The line read last ended the file without a newline. */
    private boolean unterminated;
    /** {@code FILE:LINE} of a connection log's last line left out as cut short, or {@code null}. */
    private String cut;
    /** The {@code endpoint} of the row returned last (a connection log's), or {@code null}. */
    private String endpoint;

    TraceReader(Path path) throws IOException, InputException {
        this.file = path.toString();
        if (Files.isDirectory(path)) {
            throw new InputException(file, "a directory (expected: a trace file)");
        }
        this.in = Files.newInputStream(path);
    }

    /** Returns the next row, or {@code null} at the end. */
    TraceRow next() throws IOException, InputException {
        String text;
        while ((text = readLine()) != null) {
            line++;
            // a byte order mark (a spreadsheet's "CSV UTF-8" export) is not part of the first column's name
            String whole = line == 1 && text.startsWith("\uFEFF") ? text.substring(1) : text;
            String t = whole.strip();
            if (t.isEmpty()) {
                continue;
            }
            if (json == null) {
                json = t.charAt(0) == '{';
                if (!json) {
                    header(t);
                    continue;
                }
            }
            try {
                return json ? jsonRow(whole) : csvRow(t); // JSON: the parser skips blanks, columns count them
            } catch (IllegalArgumentException e) {
                if (json && unterminated && FlatJson.cutShort(whole)) {
                    // the connection log's last line without its newline, not a whole object: an entry being written
                    // as the log is read, or cut by a crash or a full disk; left out (and named), not the whole log
                    // refused. A whole object with a bad value is an error as on any other line.
                    cut = file + ":" + line;
                    return null;
                }
                throw new InputException(file, line, e.getMessage());
            }
        }
        return null;
    }

    /**
     * The next line without its end ({@code \n} or {@code \r\n}), or {@code null} at the end of the file; each line
     * is decoded on its own, so a byte that is not UTF-8 is reported at its line.
     */
    private String readLine() throws IOException, InputException {
        ByteArrayOutputStream text = null;
        while (true) {
            if (position == limit) {
                limit = Math.max(0, in.read(buffer));
                position = 0;
                if (limit == 0) {
                    unterminated = text != null;
                    return text == null ? null : decode(text.toByteArray());
                }
            }
            int end = position;
            while (end < limit && buffer[end] != '\n') {
                end++;
            }
            if (text == null) {
                text = new ByteArrayOutputStream(Math.max(64, end - position));
            }
            if (text.size() + (end - position) > MAX_LINE) {
                // an export with no newlines (one JSON array) would be held whole: memory bounded whatever the input
                throw new InputException(file, line + 1, "a line longer than " + MAX_LINE / 1024
                        + " KiB (expected: one entry per line)");
            }
            text.write(buffer, position, end - position);
            if (end < limit) {
                position = end + 1;
                return decode(text.toByteArray());
            }
            position = limit;
        }
    }

    /**
     * {@code FILE:LINE} of the connection log's last line when it was left out as cut short (no newline, and not a
     * whole entry), else {@code null}; read after {@link #next} returned {@code null}.
     */
    String cutLine() {
        return cut;
    }

    private String decode(byte[] bytes) throws InputException {
        int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        try {
            return utf8.decode(ByteBuffer.wrap(bytes, 0, length)).toString();
        } catch (CharacterCodingException e) {
            throw new InputException(file, line + 1, "not UTF-8 text");
        }
    }

    private void header(String t) throws InputException {
        columns = new HashMap<>();
        String[] names = t.split(",", -1);
        for (int c = 0; c < names.length; c++) {
            String name = names[c].strip();
            switch (name) {
                case "start", "client", "clientPort", "duration", "service", "port", "bytes" -> {
                    if (columns.put(name, c) != null) {
                        throw new InputException(file, line, "column " + name + " appears twice");
                    }
                }
                default -> throw new InputException(file, line, "unknown column: '" + name
                        + "' (expected: start, client, clientPort, duration, service, port, bytes)");
            }
        }
        for (String r : REQUIRED) {
            if (!columns.containsKey(r)) {
                throw new InputException(file, line, "missing column " + r
                        + " (expected a header line with start, client, clientPort, duration)");
            }
        }
    }

    private TraceRow csvRow(String t) {
        String[] cells = t.split(",", -1);
        if (cells.length != columns.size()) {
            throw new IllegalArgumentException(cells.length + " columns (expected: " + columns.size()
                    + " as in the header)");
        }
        return row(cell(cells, "start"), cell(cells, "client"), cell(cells, "clientPort"),
                cell(cells, "duration"), cell(cells, "service"), cell(cells, "port"));
    }

    private String cell(String[] cells, String name) {
        Integer c = columns.get(name);
        return c == null ? null : cells[c].strip();
    }

    private TraceRow jsonRow(String t) {
        Map<String, String> m = FlatJson.parse(t);
        for (String r : REQUIRED) {
            if (m.get(r) == null) {
                throw new IllegalArgumentException("missing \"" + r + "\"");
            }
        }
        TraceRow row;
        try {
            row = row(m.get("start"), m.get("client"), m.get("clientPort"), m.get("duration"), m.get("service"),
                    m.get("port"));
        } catch (IllegalArgumentException e) {
            // the message begins with the key ("client: '...'"): point at its value, as a syntax error is pointed at
            String message = String.valueOf(e.getMessage());
            int colon = message.indexOf(':');
            int column = colon < 0 ? -1 : FlatJson.valueColumn(t, message.substring(0, colon));
            throw column < 0 ? e : new IllegalArgumentException("column " + column + ": " + message);
        }
        endpoint = m.get("endpoint");
        return row;
    }

    /** The endpoint the proxy gave the connection {@link #next} returned last, as its log says; else {@code null}. */
    String endpoint() {
        return endpoint;
    }

    private TraceRow row(String start, String client, String clientPort, String duration, String service,
                         String port) {
        return new TraceRow(Numbers.seconds(start, "start"), Numbers.ip(client, "client"),
                (int) Numbers.integer(clientPort, "clientPort", 0, 65535), Numbers.seconds(duration, "duration"),
                service == null || service.isEmpty() ? null : service, port == null || port.isEmpty() ? null : port,
                line);
    }

    /** The lines read so far, blank ones included. */
    long lines() {
        return line;
    }

    String file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
