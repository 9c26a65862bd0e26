#!/usr/bin/python3
"""The connection log's cost (issue 16: at most 3% fewer connections per second), as a paired A/B.

Three svcproxy processes of the same jar run side by side for the whole run: two with the log off ("off-a",
"off-b") and one with `proxy.connectionLog` on ("on", the log in the run's folder next to its config, as a
relative path puts it). Each gets an unmeasured warm-up of every row first, so the JIT has compiled the hot
paths. Then, for each row (keep-alive `http`, new connection per request `close`), ROUNDS rounds: each round
measures the three in turn with the bench's wrk load (a short settle run, then SECONDS measured), the order
cycling through all six permutations. The processes are never restarted, so start-up, class loading and the
JIT's first compilations are not in the comparison, and each round's three figures come from the same minute.

Per round and row: `on ÷ off` = on over the geometric mean of off-a and off-b, and `off-b ÷ off-a`, the same
jar against itself, which shows what the design cannot tell apart from noise. Over the rounds: the median, the
geometric mean with its 95% confidence interval (t distribution over the rounds' log ratios), for requests per
second and for proxy CPU per 10k requests (utime+stime of the process, JIT and GC threads included; also split
into its user and system parts) and event-loop CPU per 10k (svcproxy-io-* threads, and svcproxy-accept-* of builds before 2026-12-05). Also per round: the others' CPU during
(machine busy minus our processes) and the load average. Verdict for the 3% bound on `close`: shown when the
interval's lower end is >= 0.97, exceeded when its upper end is < 0.97, undecided otherwise.

No CPU pinning: on this 2-core machine pinning wrk and the endpoint to one core would leave one core to the proxy,
a different benchmark for every row and peer; the bench's rows do not pin, so neither does this one.

    flock /work/bench.lock python3 bench/connlog.py [--rounds 12] [--seconds 3] [--rows http,close] [--jar J]
                                                    [--out DIR] [--quick] [--profile cpu|alloc]

--peer haproxy makes "on" HAProxy (bench.py's `mode tcp` config, 2 threads, on on's address) and off-a, off-b two
svcproxy processes with the log off: svcproxy against issue 15's peer with a paired interval and a verdict, where
the full run's three unpaired repetitions swing by 20% (the report's last table: req/s off over on, CPU on over off).

--profile attaches async-profiler (as bench/profile.sh) to off-a and to on, one after the other, for a further
measured run of the last row each, after the rounds; collapsed stacks and flame graphs go into DIR.

Writes DIR/connlog-results.json (every measurement and the summary) and DIR/connlog-report.md; bench.py runs it
as its `connlog` workload (bench/run.sh's full run included) and puts its rows in the table at the end.
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  the process, load, CPU and config helpers of the TCP bench

TARGETS = ['off-a', 'off-b', 'on']
IPS = {'off-a': '127.0.10.21', 'off-b': '127.0.10.22', 'on': '127.0.10.23'}
BOUND = 0.97
# two-sided 95% quantiles of Student's t, by degrees of freedom
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045,
        2.042]


def t975(df):
    return T975[df - 1] if df <= len(T975) else 1.96 + 2.4 / df


def interval(ratios):
    """Geometric mean of the ratios and its 95% interval (t over the logs), plus the median, min and max."""
    logs = [math.log(r) for r in ratios]
    n = len(logs)
    mean = statistics.fmean(logs)
    out = {'n': n, 'median': statistics.median(ratios), 'min': min(ratios), 'max': max(ratios),
           'geomean': math.exp(mean)}
    if n >= 2:
        half = t975(n - 1) * statistics.stdev(logs) / math.sqrt(n)
        out['ci95'] = [math.exp(mean - half), math.exp(mean + half)]
    return out


def measure(procs, pgid, host, workload, opts):
    """One measured wrk run against one of the running processes, after a short settle run (the event-loop CPU of
    a peer, HAProxy, is all of its CPU: bench.group_loop_cpu_ticks)."""
    if opts.settle > 0:
        bench.run_load('http', workload, host, opts.settle, procs)
        time.sleep(0.2)
    w = bench.CpuWindow([pgid] + [b.pid for b in opts.backends])
    cpu = bench.ProxyCpu(pgid)
    load0 = os.getloadavg()[0]
    r = cpu.end(bench.run_load('http', workload, host, opts.seconds, procs))
    r['during'] = w.end()
    r['others_pct_core'] = r['during']['other_pct_core']
    r['load1'] = round(load0, 2)
    return r


def note_load(rnd):
    """The round's highest load average, kept with it and logged."""
    rnd['load1_max'] = max(rnd[t]['load1'] for t in TARGETS)
    return f", load {rnd['load1_max']}"


FIGURES = [('rps', 'req/s', True), ('cpu_per_10k', 'proxy CPU per 10k', False),
           ('loop_cpu_per_10k', 'event-loop CPU per 10k', False),
           ('user_per_10k', 'proxy user CPU per 10k', False), ('sys_per_10k', 'proxy system CPU per 10k', False)]


def measured(rounds, figures=None, targets=None):
    """The figures (of FIGURES, or a paired tool's own, by field name first) every target of every round has:
    results of the paired tools before the user and system split have no such figures."""
    return [f for f in figures or FIGURES if all(f[0] in r[t] for r in rounds for t in targets or TARGETS)]


def shown(s, figures=None):
    """The figures (of FIGURES, or a paired tool's own) a row's summary has."""
    return [f for f in figures or FIGURES if f[0] in s]


def summarize(rounds, rows):
    """Per row and figure: on ÷ off and off-b ÷ off-a over the rounds."""
    out = {}
    for row in rows:
        mine = [r for r in rounds if r['row'] == row and all(r[t].get('rps') and not r[t].get('error')
                                                             for t in TARGETS)]
        if not mine:
            continue
        s = {'rounds': len(mine)}
        for field, _, _ in measured(mine):
            on = [r['on'][field] / math.sqrt(r['off-a'][field] * r['off-b'][field]) for r in mine]
            same = [r['off-b'][field] / r['off-a'][field] for r in mine]
            s[field] = {'on_off': interval(on), 'offb_offa': interval(same),
                        'median': {t: statistics.median(r[t][field] for r in mine) for t in TARGETS}}
        # the same over the rounds during which the others used under the bench's threshold of a core
        quiet = [r for r in mine if r['others_max'] <= bench.QUIET_THRESHOLD]
        if len(quiet) >= 2:
            s['quiet'] = {'rounds': len(quiet)}
            for field, _, _ in measured(quiet):
                s['quiet'][field] = {
                    'on_off': interval([r['on'][field] / math.sqrt(r['off-a'][field] * r['off-b'][field])
                                        for r in quiet]),
                    'offb_offa': interval([r['off-b'][field] / r['off-a'][field] for r in quiet])}
        s['others_pct_core'] = [r['others_max'] for r in mine]
        s['load1'] = [r['load1_max'] for r in mine]
        ci = s['rps']['on_off'].get('ci95')   # the connection log's 3% bound (meaningless for --jar-b)
        s['verdict'] = None if not ci else ('within' if ci[0] >= BOUND else 'over' if ci[1] < BOUND else 'undecided')
        out[row] = s
    return out


def report(meta, summary):
    if meta.get('peer'):
        L = [f"# svcproxy against {meta['peer']}: paired ({meta['started']})", '',
             f"Read `on` as {meta['peer']} (the bench's `mode tcp` config, 2 threads, on `on`'s address) and `off-a`, "
             f"`off-b` as two processes of svcproxy (the log off). CPU rows: > 1 means more CPU with {meta['peer']}; "
             f"svcproxy ÷ {meta['peer']} as the bench's summary reads it is at the end.", '']
    elif meta.get('jar_b_sha256'):
        L = [f"# Build B against build A: paired A/B ({meta['started']})", '',
             f"Read `on` as build B (sha256 {meta['jar_b_sha256'][:12]}) and `off-a`, `off-b` as two processes of "
             f"build A (below); the connection log is off in all three. CPU rows: > 1 means more CPU with B.", '']
    else:
        L = [f"# The connection log's cost: paired A/B ({meta['started']})", '']
    what = (f"svcproxy sha256 {meta['jar_sha256'][:12]}, {meta['peer']}" if meta.get('peer')
            else f"build A sha256 {meta['jar_sha256'][:12]}, B as above" if meta.get('jar_b_sha256')
            else f"same jar, sha256 {meta['jar_sha256'][:12]}")
    on = meta['peer'] if meta.get('peer') else 'build B' if meta.get('jar_b_sha256') else 'log on'
    L += [
         f"{meta['rounds']} rounds per row, {meta['seconds']} s measured after a {meta['settle']} s settle run, "
         f"the three processes ({what}) kept running, order cycling through "
         f"the six permutations. `on ÷ off`: {on} over the geometric mean of the two log-off processes of the "
         f"round; `off-b ÷ off-a`: the same jar against itself. CPU rows: > 1 means more CPU with {on}.", '',
         '| row | figure | off-a | off-b | on | on ÷ off: median, geo. mean [95% CI] | off-b ÷ off-a: median, '
         'geo. mean [95% CI] |', '| --- | --- | ---: | ---: | ---: | --- | --- |']
    for row, s in summary.items():
        for field, label, _ in shown(s):
            f = s[field]
            cells = ' | '.join((f'{f["median"][t]:,.0f}' if field == 'rps' else f'{f["median"][t]:.3f}')
                               for t in TARGETS)
            L.append(f"| {row} | {label} | {cells} | {fmt(f['on_off'])} | {fmt(f['offb_offa'])} |")
    L.append('')
    for row, s in summary.items():
        L.append(f"- {row}: {s['rounds']} rounds; others' CPU during a round (max of its three runs) median "
                 f"{statistics.median(s['others_pct_core']):.1f}%, max {max(s['others_pct_core']):.1f}% of a core; "
                 f"load average {min(s['load1']):.2f}-{max(s['load1']):.2f}"
                 + (f"; 3% bound: **{s['verdict']}**" if row == 'close' and s['verdict']
                    and not meta.get('jar_b_sha256') and not meta.get('peer') else ''))
        q = s.get('quiet')
        if q:
            L.append(f"  - the {q['rounds']} rounds with others under {bench.QUIET_THRESHOLD:.0f}% of a core: "
                     + '; '.join(f"{label} on ÷ off {fmt(q[field]['on_off'])}, off-b ÷ off-a "
                                 f"{fmt(q[field]['offb_offa'])}" for field, label, _ in shown(q)))
    if meta.get('peer'):
        L += ['', f"svcproxy ÷ {meta['peer']} as bench.py's summary reads it (> 1 is better than {meta['peer']}: "
              "req/s off over on, CPU on over off), over the same rounds:", '',
              '| row | figure | median, geo. mean [95% CI] | verdict |', '| --- | --- | --- | --- |']
        for row, s in against_peer(summary).items():
            for field, label, _ in shown(s):
                L.append(f"| {row} | {label} | {fmt(s[field])} | {verdict(s[field])} |")
    return '\n'.join(L) + '\n'


def inverse(i):
    """The interval of the inverse ratio: each figure inverted, the ends swapped."""
    out = {k: 1 / i[k] for k in ('median', 'geomean')}
    out['min'], out['max'] = 1 / i['max'], 1 / i['min']
    if 'n' in i:
        out['n'] = i['n']
    if 'ci95' in i:
        out['ci95'] = [1 / i['ci95'][1], 1 / i['ci95'][0]]
    return out


def against_peer(summary):
    """Per row of a --peer run: svcproxy ÷ the peer as the bench's summary reads it (> 1 better): requests per
    second off over on (the inverse of on ÷ off, its interval inverted), CPU on over off (on ÷ off as it is)."""
    return {row: {field: inverse(s[field]['on_off']) if higher_better else s[field]['on_off']
                  for field, _, higher_better in shown(s)} for row, s in summary.items()}


def verdict(i, places=3):
    """Against a peer, like bench.py's summary but on a paired interval: at or above (the geometric mean reads
    >= 1 at the precision shown, `places` decimals), below (the whole interval under 1), else within the interval."""
    if round(i['geomean'], places) >= 1:
        return 'at or above'
    return 'below' if i.get('ci95', [0, 0])[1] < 1 else 'within the interval'


def fmt(i):
    s = f"{i['median']:.3f}, {i['geomean']:.3f}"
    if 'ci95' in i:
        s += f" [{i['ci95'][0]:.3f}, {i['ci95'][1]:.3f}]"
    return s


def profile(procs, running, row, opts, out):
    """async-profiler on off-a, then on, each for one measured run of {row}; returns their figures."""
    ver = '4.1'
    jar = os.path.expanduser(f'~/.m2/repository/tools/profiler/async-profiler/{ver}/async-profiler-{ver}.jar')
    if not os.path.exists(jar):
        subprocess.run(['mvn', '-B', '-q', 'dependency:get', f'-Dartifact=tools.profiler:async-profiler:{ver}',
                        '-Dtransitive=false'], check=True, timeout=300)
    libdir = os.path.join(out, 'lib')
    subprocess.run(['unzip', '-o', '-q', jar, 'linux-x64/*', '-d', libdir], check=True, timeout=60)
    lib = os.path.join(libdir, 'linux-x64', 'libasyncProfiler.so')
    event = 'event=itimer,interval=997us' if opts.profile == 'cpu' else 'event=alloc'
    figures = {}
    for t in ('off-a', 'on'):
        pid = running[t].pid
        # jcmd splits its arguments at commas unless the agent's options are quoted
        subprocess.run(['jcmd', str(pid), 'JVMTI.agent_load', lib, f'"start,{event}"'], capture_output=True,
                       timeout=30, check=True)
        figures[t] = measure(procs, pid, IPS[t], row, opts)
        collapsed = os.path.join(out, f'{t}-{row}-{opts.profile}.collapsed')
        subprocess.run(['jcmd', str(pid), 'JVMTI.agent_load', lib, f'"stop,file={collapsed},collapsed"'],
                       capture_output=True, timeout=30, check=True)
        subprocess.run([bench.PY, os.path.join(bench.HERE, 'flamegraph.py'), collapsed, collapsed[:-10] + '.png',
                        '--title', f'svcproxy {t} ({opts.profile}), wrk {row}, {opts.seconds} s'],
                       capture_output=True, timeout=120)
        bench.log(f"connlog profile {t}: {figures[t].get('rps', 0):,.0f} req/s -> {collapsed}")
    return figures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--rounds', type=int, default=12, help='rounds per row (default 12)')
    ap.add_argument('--seconds', type=int, default=3, help='measured seconds per run (default 3)')
    ap.add_argument('--settle', type=int, default=1, help='unmeasured seconds before each run (default 1)')
    ap.add_argument('--warmup', type=int, default=6, help='unmeasured seconds per process and row first (default 6)')
    ap.add_argument('--rows', default='http,close')
    ap.add_argument('--quick', action='store_true', help='3 rounds of 2 s, 3 s warm-up: a smoke test')
    ap.add_argument('--jar', default=os.environ.get('SVCPROXY_JAR',
                                                    os.path.join(bench.ROOT, 'proxy-server/target/svcproxy.jar')))
    ap.add_argument('--jar-b', metavar='JAR', help='a paired A/B of two builds instead: "on" runs this jar with the '
                    'log off, off-a and off-b run --jar (its ratios: B over A; off-b / off-a: A against itself)')
    ap.add_argument('--peer', choices=['haproxy'], help='"on" is this peer (bench.py\'s config, on its address) '
                    'instead: svcproxy against issue 15\'s peer, paired; the connection log off in all')
    ap.add_argument('--out', help='output folder (default bench/results/connlog-<timestamp>)')
    ap.add_argument('--profile', choices=['cpu', 'alloc'], help='profile off-a and on after the rounds')
    ap.add_argument('--report-only', metavar='DIR', help='summarize DIR/connlog-results.json again')
    opts = ap.parse_args()
    if opts.report_only:
        path = os.path.join(opts.report_only, 'connlog-results.json')
        with open(path) as f:
            data = json.load(f)
        data['summary'] = summarize(data['rounds'], data['meta']['rows'])
        with open(path, 'w') as f:
            json.dump(data, f, indent=1)
        text = report(data['meta'], data['summary'])
        with open(os.path.join(opts.report_only, 'connlog-report.md'), 'w') as f:
            f.write(text)
        print(text)
        return 0
    if opts.quick:
        opts.rounds, opts.seconds, opts.warmup = 3, 2, 3
    rows = [r.strip() for r in opts.rows.split(',') if r.strip()]
    for r in rows:
        if r not in ('http', 'close'):
            ap.error(f'--rows: {r!r} (expected: http, close)')
    out = os.path.abspath(opts.out or os.path.join(bench.HERE, 'results', 'connlog-' + time.strftime('%Y%m%d-%H%M%S')))
    rundir = os.path.join(out, 'run')
    os.makedirs(rundir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='svcproxy-connlog-')
    jar = os.path.join(tmp, 'svcproxy.jar')
    shutil.copy(opts.jar, jar)   # a rebuild during the run does not change what is measured
    with open(jar, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    # what bench.start_proxy and start_backends read
    opts.jar, opts.jars, opts.target_ips = jar, {}, dict(IPS)
    opts.java_opts = {t: os.environ.get('SVCPROXY_JAVA_OPTS') for t in TARGETS}
    opts.connection_log_targets = {'on'}
    jar_b_sha = None
    if opts.jar_b:   # a build against another, the log off in all three
        os.makedirs(os.path.join(tmp, 'b'))
        opts.jars['on'] = os.path.join(tmp, 'b', 'svcproxy.jar')   # its own folder: its own CDS archive
        shutil.copy(opts.jar_b, opts.jars['on'])
        with open(opts.jars['on'], 'rb') as f:
            jar_b_sha = hashlib.sha256(f.read()).hexdigest()
        opts.connection_log_targets = set()
    names = {t: t for t in TARGETS}   # bench.start_proxy's target of each
    if opts.peer:
        names['on'] = opts.peer
        opts.target_ips[opts.peer] = IPS['on']
        opts.java_opts[opts.peer] = None
        opts.connection_log_targets = set()
    meta = {'started': time.strftime('%Y-%m-%d %H:%M'), 'rounds': opts.rounds, 'seconds': opts.seconds,
            'settle': opts.settle, 'warmup': opts.warmup, 'rows': rows, 'jar_sha256': sha,
            'jar_b_sha256': jar_b_sha, 'java_opts': opts.java_opts['on'], 'peer': opts.peer}
    data = {'meta': meta, 'rounds': [], 'summary': {}}
    procs = bench.Procs(rundir)
    try:
        bench.log('connlog: first start (the launcher writes its class-data-sharing archive)')
        procs.stop(bench.start_proxy(procs, 'off-a', 'http', opts))
        opts.backends = bench.start_backends(procs, 'http', opts)
        running = {t: bench.start_proxy(procs, names[t], 'http', opts) for t in TARGETS}
        for row in rows:
            for t in TARGETS:
                bench.run_load('http', row, IPS[t], opts.warmup, procs)
        bench.paired_rounds('connlog', rows, opts.rounds, running,
                            lambda row, t: measure(procs, running[t].pid, IPS[t], row, opts), data, out,
                            on_round=note_load)
        if opts.profile:
            data['profiles'] = profile(procs, running, rows[-1], opts, out)
    except KeyboardInterrupt:
        bench.log('connlog: interrupted; partial results are kept')
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    data['summary'] = summarize(data['rounds'], rows)
    meta['finished'] = time.strftime('%Y-%m-%d %H:%M')
    bench.write_results(out, 'connlog', data, report(meta, data['summary']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
