package io.svcproxy.proxy.cli;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.proxy.simulate.InputException;
import io.svcproxy.proxy.simulate.Reports;
import io.svcproxy.proxy.simulate.SimulationRun;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code simulate --config FILE --trace TRACE ...}: replays a recorded or written trace of one Service port under
 * each scheduler asked, with the proxy's own scheduling code, and reports how the connections would spread.
 * Bad input: {@code FILE:LINE: message} on stderr and exit 2.
 */
@Command(name = "simulate", description = "Replay a trace (CSV or connection log) under each scheduler and report"
        + " how connections would spread.")
final class SimulateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The config file.")
    Path config;

    @Option(names = "--trace", required = true, paramLabel = "TRACE",
            description = "CSV (start,client,clientPort,duration[,service,port,bytes]) or a connection log.")
    Path trace;

    @Option(names = "--service", paramLabel = "NS/NAME[:PORT]",
            description = "The Service port (default: the trace's, or the config's only one).")
    String service;

    /** As given, each a comma-separated list (split by {@link #schedulerNames}, which names an empty element). */
    @Option(names = "--schedulers", paramLabel = "rr,lc,...",
            description = "Schedulers to compare (default: the configured one).")
    List<String> schedulers = new ArrayList<>();

    @Option(names = "--events", paramLabel = "EVENTS.yaml",
            description = "Weight changes, removals and additions, applied as reloads.")
    Path events;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
            description = "Seed of the random scheduler (default: 1).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object instead of the table.")
    boolean json;

    @Option(names = "--html", paramLabel = "REPORT.html", description = "Also write a self-contained HTML report.")
    Path html;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        // often a production config replayed elsewhere: its connection log's folder and certificates need not be here
        ProxyConfig loaded = ConfigFile.loadAsWritten(config, err);
        if (loaded == null) {
            return ExitCodes.INVALID;
        }
        try {
            SimulationRun.Report report = SimulationRun.run(loaded, config.toString(), trace, service,
                    schedulerNames(schedulers), events, seed);
            if (html != null) {
                try {
                    Files.writeString(html, Reports.html(report), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    err.println(html + ": cannot write: " + ConfigLoader.reason(e));
                    err.flush();
                    return ExitCodes.INVALID;
                }
            }
            if (report.unlisted() != null) {
                err.println(report.unlisted());
                err.flush();
            }
            if (report.cutLine() != null) {
                err.println(report.cutLine() + ": the last line is cut short (no newline, not a whole entry: a log "
                        + "still being written, or cut by a crash or a full disk): left out");
                err.flush();
            }
            out.print(json ? Reports.json(report) + System.lineSeparator() : Reports.table(report));
            out.flush();
            return ExitCodes.OK;
        } catch (InputException e) {
            err.println(e.getMessage());
            err.flush();
            return ExitCodes.INVALID;
        } catch (IOException e) {
            String file = e instanceof java.nio.file.FileSystemException f && f.getFile() != null ? f.getFile()
                    : "svcproxy simulate";
            err.println(file + ": cannot read: " + ConfigLoader.reason(e));
            err.flush();
            return ExitCodes.INVALID;
        }
    }

    /** The scheduler names of the {@code --schedulers} lists as given ({@link SimulationRun#schedulerNames}). */
    static List<String> schedulerNames(List<String> given) throws InputException {
        List<String> names = new ArrayList<>();
        for (String list : given) {
            names.addAll(SimulationRun.schedulerNames(list, "--schedulers", "--schedulers rr,lc"));
        }
        return names;
    }

}
