package io.svcproxy.proxy.docs;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import io.svcproxy.proxy.cli.SvcproxyCommand;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.docs.DocFiles.Snippet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every svcproxy command line the docs show (code blocks, inline code, the README's table of commands) names a
 * command and options that picocli's model of the command line has; the values the README lists for
 * {@code --mode} and {@code --log-level} are the ones the code takes.
 */
class DocCommandLinesTest {
    private static final CommandSpec CLI = new CommandLine(new SvcproxyCommand()).getCommandSpec();
    /** Where a command line's svcproxy arguments begin: after one of these, the first word of a shell command. */
    private static final Set<String> PROGRAMS = Set.of("svcproxy", "./svcproxy", "io.svcproxy.proxy.Main");
    /** Words before the program that keep it the command's first word ({@code env --default-signal=HUP ./svcproxy}). */
    private static final Set<String> PREFIXES = Set.of("env", "nohup", "exec");
    private static final Pattern SEGMENT_END = Pattern.compile("\\\\?\\||;|&&|\\$\\(|>|<|#.*");

    /** A command line found in a doc: where, and its words after the program. */
    record Line(Snippet where, List<String> args) {
    }

    /** The command lines of a text: each shell command whose program is svcproxy (or {@code java -jar ...jar}). */
    static List<List<String>> commandLines(String text) {
        List<List<String>> found = new ArrayList<>();
        for (String line : text.lines().toList()) {
            for (String segment : SEGMENT_END.split(line)) {
                List<String> words = new ArrayList<>(Arrays.asList(segment.trim().split("\\s+")));
                int start = -1;
                for (int i = 0; i < words.size() && start < 0; i++) {
                    String w = words.get(i);
                    if (PROGRAMS.contains(w) || w.endsWith("svcproxy.jar") && i > 0 && words.get(i - 1).equals("-jar")) {
                        start = i + 1;
                    } else if (!(w.equals("java") || w.startsWith("-") || w.startsWith("$") || w.contains("=")
                            || PREFIXES.contains(w) || i > 0 && words.get(i - 1).equals("-cp"))) {
                        break; // another program's command
                    }
                }
                if (start >= 0) {
                    found.add(words.subList(start, words.size()));
                }
            }
        }
        return found;
    }

    /** Every command line of the docs' code blocks and inline code, and the README's table of commands. */
    static List<Line> documentedLines() {
        List<Line> lines = new ArrayList<>();
        for (Snippet block : DocFiles.codeBlocks()) {
            commandLines(block.text()).forEach(args -> lines.add(new Line(block, args)));
        }
        for (Snippet span : DocFiles.inlineCode()) {
            commandLines(span.text()).forEach(args -> lines.add(new Line(span, args)));
        }
        for (Snippet row : commandTable()) {
            Matcher first = Pattern.compile("^\\|\\s*`([^`]+)`").matcher(row.text());
            assertThat(first.find()).as("%s: a row of the command table without a command", row.where()).isTrue();
            lines.add(new Line(row, List.of(first.group(1).replace("\\|", "|").split("\\s+"))));
        }
        return lines;
    }

    /** The rows of the README's table of commands ({@code | command | what it does |}). */
    static List<Snippet> commandTable() {
        List<Snippet> rows = new ArrayList<>();
        boolean in = false;
        int previous = -1;
        for (Snippet row : DocFiles.tableRows()) {
            if (row.line() != previous + 1) {
                in = false;
            }
            previous = row.line();
            if (row.file().equals("README.md") && row.text().matches("\\|\\s*command\\s*\\|.*")) {
                in = true;
            } else if (in && !row.text().matches("\\|[\\s|:-]+")) {
                rows.add(row);
            }
        }
        return rows;
    }

    @Test
    void theDocsShowCommandLines() {
        // a parser that found nothing would pass the checks below
        assertThat(commandTable()).hasSizeGreaterThanOrEqualTo(6);
        assertThat(documentedLines()).hasSizeGreaterThanOrEqualTo(20);
    }

    @Test
    void everyCommandAndOptionTheDocsNameExists() {
        List<String> problems = new ArrayList<>();
        for (Line line : documentedLines()) {
            problems.addAll(check(line));
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void theTableNamesEveryCommand() {
        Set<String> documented = new TreeSet<>();
        commandTable().forEach(row -> {
            Matcher m = Pattern.compile("^\\|\\s*`\\[?(\\w+)").matcher(row.text());
            if (m.find()) {
                documented.add(m.group(1));
            }
        });
        assertThat(documented).as("README's command table").isEqualTo(new TreeSet<>(CLI.subcommands().keySet()));
    }

    /** The problems of one command line: a command or option the CLI does not have. */
    static List<String> check(Line line) {
        List<String> problems = new ArrayList<>();
        List<String> args = line.args().stream().map(a -> a.replaceAll("^\\[+|]+$", "")).filter(a -> !a.isEmpty()
                && !a.equals("...")).toList();
        CommandSpec command = CLI.subcommands().get("run").getCommandSpec();
        int i = 0;
        if (!args.isEmpty() && !args.get(0).startsWith("-")) {
            CommandLine sub = CLI.subcommands().get(args.get(0));
            if (sub == null) {
                problems.add(line.where().where() + ": `" + String.join(" ", line.args()) + "` names the command '"
                        + args.get(0) + "', which is not one of " + CLI.subcommands().keySet());
                return problems;
            }
            command = sub.getCommandSpec();
            i = 1;
        }
        for (; i < args.size(); i++) {
            String arg = args.get(i);
            if (!arg.startsWith("-")) {
                continue; // an option's value, checked where its values are listed
            }
            String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
            OptionSpec option = command.findOption(name);
            if (option == null) {
                problems.add(line.where().where() + ": `" + String.join(" ", line.args()) + "`: " + command.name()
                        + " has no option " + name + " (its options: " + command.options().stream()
                        .map(OptionSpec::longestName).toList() + ")");
            } else if (!arg.contains("=") && option.arity().max() > 0) {
                i++; // its value
            }
        }
        return problems;
    }

    /** The values the README's table gives {@code backend --mode} are the modes the backend takes, all of them. */
    @Test
    void theBackendModesAreTheCodes() {
        Snippet row = commandTable().stream().filter(r -> r.text().contains("`backend ")).findFirst().orElseThrow();
        Matcher m = Pattern.compile("--mode ([\\w\\\\|]+)").matcher(row.text());
        assertThat(m.find()).as("%s: backend --mode's values", row.where()).isTrue();
        Set<String> documented = new TreeSet<>(List.of(m.group(1).split("\\\\?\\|")));
        Set<String> modes = new TreeSet<>(Set.of("dns")); // BackendCommand's own mode: a DnsBackend
        Arrays.stream(TestBackend.Mode.values()).forEach(mode -> modes.add(mode.name().toLowerCase(Locale.ROOT)));
        assertThat(documented).as("%s: backend --mode's values", row.where()).isEqualTo(modes);
    }

    /** "Every command takes {@code --log-level} (trace, debug, ...)": each level is one {@code --log-level} takes. */
    @Test
    void theLogLevelsAreOnesTheCodeTakes() {
        List<String> levels = new ArrayList<>();
        for (Snippet line : DocFiles.allLines()) {
            Matcher m = Pattern.compile("`--log-level` \\(([a-z, ]+)\\)").matcher(line.text());
            while (m.find()) {
                for (String level : m.group(1).split(",\\s*")) {
                    levels.add(level);
                    assertThat(Level.toLevel(level, null)).as("%s: --log-level %s", line.where(), level).isNotNull();
                }
            }
        }
        assertThat(levels).isNotEmpty();
        assertThat(CLI.findOption("--log-level")).isNotNull();
    }
}
