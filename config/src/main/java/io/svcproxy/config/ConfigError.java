package io.svcproxy.config;

/**
 * One problem in a config or registry file, pointing at the offending key (unknown or duplicate keys) or value.
 *
 * @param file the path as given by the user
 * @param line 1-based line; 0 for a problem with the whole file (it cannot be read)
 * @param column 1-based column; 0 with line 0
 * @param path where in the document, such as {@code services[2].endpoints[0].weight}
 * @param message what is wrong and what was expected, on one line: a character that cannot be seen (a line break, a
 *     control or format character, a space other than U+0020) that it quotes from the file is shown as its YAML
 *     escape ({@link Values#visible})
 */
public record ConfigError(String file, int line, int column, String path, String message) {
    public ConfigError {
        message = Values.visible(message);
    }

    /**
     * Returns {@code FILE:LINE:COLUMN: message}, the form {@code validate} prints, or {@code FILE: message} for
     * a problem with the whole file (line 0).
     */
    @Override
    public String toString() {
        return line == 0 ? file + ": " + message : file + ":" + line + ":" + column + ": " + message;
    }
}
