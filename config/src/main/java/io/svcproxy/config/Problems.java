package io.svcproxy.config;

import java.util.List;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.nodes.Node;

/** Collects the problems of one file into a shared list; never stops at the first. */
final class Problems {
    private final String file;
    private final List<ConfigError> sink;

    Problems(String file, List<ConfigError> sink) {
        this.file = file;
        this.sink = sink;
    }

    String file() {
        return file;
    }

    /** Records a problem at the start of {@code node} (a key or a value). */
    void at(Node node, String path, String message) {
        at(node.getStartMark(), path, message);
    }

    void at(Mark mark, String path, String message) {
        at(mark.getLine() + 1, mark.getColumn() + 1, path, message);
    }

    void at(int line, int column, String path, String message) {
        sink.add(new ConfigError(file, line, column, path, message));
    }

    /** Returns {@code FILE:LINE} of a node, for messages that point back at an earlier place. */
    String where(Node node) {
        return file + ":" + (node.getStartMark().getLine() + 1);
    }

    /** Returns {@code line N} of a node in this file. */
    static String line(Node node) {
        return "line " + (node.getStartMark().getLine() + 1);
    }
}
