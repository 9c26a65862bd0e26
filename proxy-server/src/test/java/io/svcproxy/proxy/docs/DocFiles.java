package io.svcproxy.proxy.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The user-facing docs read from the repository at test time (README.md, docs/operations.md, docs/simulate.md), cut
 * into what the doc tests check: code blocks (fenced, with their language, and indented), table rows and inline code
 * spans, each with the file and line it starts at, so a failure names where to fix the doc.
 */
final class DocFiles {
    /** The docs that carry the contract's extensions and the examples users copy. */
    static final List<String> NAMES = List.of("README.md", "docs/operations.md", "docs/simulate.md");

    private static final Pattern FENCE = Pattern.compile("^```\\s*(\\S*)\\s*$");
    private static final Pattern INLINE_CODE = Pattern.compile("`((?:[^`\\n]|\\n(?!\\s*\\n))+)`");

    /** A piece of a doc: its text and the 1-based line of its first line. */
    record Snippet(String file, int line, String language, String text) {
        /** {@code FILE:LINE}, as a failure message names it. */
        String where() {
            return file + ":" + line;
        }
    }

    private DocFiles() {
    }

    /** The repository's root: the first folder from the working directory up that holds README.md and pom.xml. */
    static Path root() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            if (Files.isRegularFile(dir.resolve("README.md")) && Files.isRegularFile(dir.resolve("pom.xml"))
                    && Files.isDirectory(dir.resolve("docs"))) {
                return dir;
            }
            dir = dir.getParent();
        }
        throw new IllegalStateException("no repository root (README.md, pom.xml, docs/) above "
                + Path.of("").toAbsolutePath());
    }

    static List<String> lines(String name) {
        try {
            return Files.readAllLines(root().resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Every code block of every doc: fenced blocks with their language ({@code yaml}, {@code sh}; {@code ""} for
     * none), and indented blocks (a run of lines indented by 4 or more spaces after a blank line, outside a fence),
     * language {@code "indented"}, their common indentation removed.
     */
    static List<Snippet> codeBlocks() {
        List<Snippet> blocks = new ArrayList<>();
        for (String name : NAMES) {
            List<String> lines = lines(name);
            String fenceLanguage = null;
            int fenceStart = 0;
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                Matcher fence = FENCE.matcher(line);
                if (fence.matches()) {
                    if (fenceLanguage == null) {
                        fenceLanguage = fence.group(1);
                        fenceStart = i + 2;
                        text.setLength(0);
                    } else {
                        blocks.add(new Snippet(name, fenceStart, fenceLanguage, text.toString()));
                        fenceLanguage = null;
                    }
                } else if (fenceLanguage != null) {
                    text.append(line).append('\n');
                } else if (indent(line) >= 4 && (i == 0 || lines.get(i - 1).isBlank())) {
                    int end = i;
                    while (end < lines.size() && indent(lines.get(end)) >= 4) {
                        end++;
                    }
                    int common = lines.subList(i, end).stream().mapToInt(DocFiles::indent).min().orElse(0);
                    StringBuilder block = new StringBuilder();
                    lines.subList(i, end).forEach(l -> block.append(l.substring(common)).append('\n'));
                    blocks.add(new Snippet(name, i + 1, "indented", block.toString()));
                    i = end - 1;
                }
            }
        }
        return blocks;
    }

    /** The rows of every table ({@code | a | b |} lines outside fences), each as one snippet. */
    static List<Snippet> tableRows() {
        List<Snippet> rows = new ArrayList<>();
        for (String name : NAMES) {
            List<String> lines = lines(name);
            boolean[] code = codeLines(lines);
            for (int i = 0; i < lines.size(); i++) {
                if (!code[i] && lines.get(i).startsWith("|")) {
                    rows.add(new Snippet(name, i + 1, "table", lines.get(i)));
                }
            }
        }
        return rows;
    }

    /**
     * Every inline code span ({@code `...`}) of prose and tables, outside code blocks; a span may go on over a line
     * break (not over a blank line), and is then given with a space for it.
     */
    static List<Snippet> inlineCode() {
        List<Snippet> spans = new ArrayList<>();
        for (String name : NAMES) {
            List<String> lines = lines(name);
            StringBuilder prose = new StringBuilder();
            boolean[] code = codeLines(lines);
            for (int i = 0; i < lines.size(); i++) {
                prose.append(code[i] ? "" : lines.get(i)).append('\n'); // lines keep their numbers
            }
            Matcher m = INLINE_CODE.matcher(prose);
            while (m.find()) {
                int line = 1 + (int) prose.substring(0, m.start()).chars().filter(c -> c == '\n').count();
                spans.add(new Snippet(name, line, "inline", m.group(1).replace('\n', ' ')));
            }
        }
        return spans;
    }

    /** Every line of every doc, as a one-line snippet (for the names the docs mention anywhere). */
    static List<Snippet> allLines() {
        List<Snippet> all = new ArrayList<>();
        for (String name : NAMES) {
            List<String> lines = lines(name);
            for (int i = 0; i < lines.size(); i++) {
                all.add(new Snippet(name, i + 1, "line", lines.get(i)));
            }
        }
        return all;
    }

    /** Which lines are code: fences, the lines between them, and indented blocks after a blank line. */
    private static boolean[] codeLines(List<String> lines) {
        boolean[] code = new boolean[lines.size()];
        boolean fenced = false;
        boolean indented = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            boolean fence = FENCE.matcher(line).matches();
            indented = !fenced && !fence && indent(line) >= 4 && (indented || i == 0 || lines.get(i - 1).isBlank());
            code[i] = fence || fenced || indented;
            if (fence) {
                fenced = !fenced;
            }
        }
        return code;
    }

    private static int indent(String line) {
        int n = 0;
        while (n < line.length() && line.charAt(n) == ' ') {
            n++;
        }
        return line.isBlank() ? 0 : n;
    }
}
