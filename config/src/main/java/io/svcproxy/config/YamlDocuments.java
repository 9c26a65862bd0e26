package io.svcproxy.config;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.events.AliasEvent;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.ReaderException;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Composes YAML text into a node tree that keeps the line and column of every key and value, an alias's content
 * at the alias ({@link AliasCopies}). Only composes: nothing is constructed, so no tag can instantiate a class, and
 * duplicate keys are left for {@link Fields} to report with their own position.
 */
public final class YamlDocuments {
    /** Limits against hostile input: 3 MiB of code points, 50 aliases of collections, 50 levels of nesting. */
    static final int CODE_POINT_LIMIT = 3 * 1024 * 1024;
    static final int MAX_ALIASES = 50;
    static final int NESTING_DEPTH_LIMIT = 50;

    private YamlDocuments() {
    }

    /**
     * Returns the root node of {@code text}, or {@code null} for an empty document (or one of comments only)
     * and after a syntax error, which is recorded at the position SnakeYAML reports.
     */
    static Node compose(String text, Problems problems) {
        // Refused before SnakeYAML scans it (which it would, up to the limit, at a few seconds per million code
        // points on one long line): the error points at where the document crosses the limit.
        if (text.length() > CODE_POINT_LIMIT && text.codePointCount(0, text.length()) > CODE_POINT_LIMIT) {
            int[] lineColumn = lineColumn(text, CODE_POINT_LIMIT);
            problems.at(lineColumn[0], lineColumn[1], "", "document too large: more than " + CODE_POINT_LIMIT
                    + " code points (the limit); the rest is not read");
            return null;
        }
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(true); // reported by Fields, at the second key
        options.setAllowRecursiveKeys(false);
        options.setMaxAliasesForCollections(MAX_ALIASES);
        options.setNestingDepthLimit(NESTING_DEPTH_LIMIT);
        options.setCodePointLimit(CODE_POINT_LIMIT);
        options.setProcessComments(false);
        // the start of the last event the composer took: where a limit without a mark of its own was crossed
        Mark[] last = new Mark[1];
        List<AliasEvent> aliases = new ArrayList<>();
        try {
            // What Yaml.compose does, without new Yaml(): its Constructor (never used to compose) took a tenth
            // of svcproxy's start-up (docs/performance.md, "Issue 15, round 3")
            ParserImpl parser = new ParserImpl(new StreamReader(new StringReader(text)), options) {
                @Override
                public Event getEvent() {
                    Event e = super.getEvent();
                    if (e != null) {
                        last[0] = e.getStartMark();
                    }
                    if (e instanceof AliasEvent alias) {
                        aliases.add(alias);
                    }
                    return e;
                }
            };
            Node root = new Composer(parser, new Resolver(), options).getSingleNode();
            AliasCopies.place(root, aliases); // a problem in what an alias stands for is reported at the alias
            return root;
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            String message = e.getProblem() != null ? e.getProblem().strip() : "invalid YAML";
            if (e.getContext() != null && e.getContextMark() != null && mark != e.getContextMark()) {
                Mark c = e.getContextMark();
                message += " (" + e.getContext().strip() + " at line " + (c.getLine() + 1) + ", column "
                        + (c.getColumn() + 1) + ")";
            }
            if (mark != null) {
                problems.at(mark, "", message);
            } else {
                problems.at(1, 1, "", message);
            }
        } catch (ReaderException e) {
            int[] lineColumn = lineColumn(text, e.getPosition());
            problems.at(lineColumn[0], lineColumn[1], "",
                    String.format("unacceptable code point U+%04X (%s)", e.getCodePoint(), e.getMessage()));
        } catch (YAMLException e) {
            // the limits (aliases, nesting) have no mark: the last event taken is where the limit was crossed
            String message = String.valueOf(e.getMessage()).strip();
            if (message.startsWith("Nesting Depth exceeded")) {
                message = "nested too deep: more than " + NESTING_DEPTH_LIMIT + " levels of collections (the limit)";
            } else if (message.startsWith("Number of aliases")) {
                message = "too many aliases: more than " + MAX_ALIASES + " aliases of collections (the limit, "
                        + "against alias bombs)";
            }
            if (last[0] != null) {
                problems.at(last[0], "", message);
            } else {
                problems.at(1, 1, "", message);
            }
        } catch (RuntimeException | StackOverflowError e) {
            problems.at(1, 1, "", "cannot parse YAML: " + e);
        }
        return null;
    }

    /**
     * Returns the 1-based line and column of the code point at {@code index} (where SnakeYAML's ReaderException,
     * which has no mark, found a character YAML does not allow).
     */
    public static int[] lineColumn(String text, int index) {
        int line = 1;
        int column = 1;
        int seen = 0;
        for (int i = 0; i < text.length() && seen < index; i = text.offsetByCodePoints(i, 1), seen++) {
            if (text.charAt(i) == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        return new int[] {line, column};
    }
}
