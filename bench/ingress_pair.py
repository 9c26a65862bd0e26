#!/usr/bin/python3
"""A paired A/B of two svcproxy builds on the Ingress rows (bench/ingress.py's setup), for changes worth a few
percent: bench/connlog.py's design for the L7 rows.

Three svcproxy processes run side by side for the whole run, each on an address of its own: "a" and "a2" with build
A (--jar), "b" with build B (--jar-b). Each first gets an unmeasured warm-up of every row (--warmup, 30 s by
default: the Ingress's HTTP/2 path keeps the JIT's C2 compiler busy for about 25 s), then 2-s loads on new
connections while its compiler threads take more than 5% of its CPU, up to 30 s more (bench.warm_up, as
bench/ingress.py: the first time connections close and open, much of the hot code is compiled again), so
start-up and the JIT's compilations are not in the comparison. Then per row ROUNDS rounds, each measuring the three in turn (a short
settle run, then SECONDS measured, with bench/ingress.py's loads: wrk keep-alive `http`, `close`, h2load `h2`), the
order cycling through the six permutations, so each round's three figures come from the same minute.

Per round: `b ÷ a` = b over the geometric mean of a and a2, and `a2 ÷ a`, the same build against itself (what the
design cannot tell apart from noise). Over the rounds: median and geometric mean with its 95% interval (bench/
connlog.py's `interval`) of requests per second, proxy CPU per 10k requests (utime+stime of the process group, JIT
and GC included) and event-loop CPU per 10k (the svcproxy-io-* threads). Run it under the bench lock:

    flock /work/bench.lock python3 bench/ingress_pair.py --jar A.jar --jar-b B.jar [--rows h2] [--rounds 15]
                                                         [--seconds 5] [--warmup 30] [--out DIR]
    bench/ingress_pair.py --jar-b A.jar --java-b /usr/lib/jvm/temurin-25-jdk-amd64/bin/java   # a runtime A/B

--java-b runs b's launcher on another runtime (SVCPROXY_JAVA); --opts-b gives b's launcher JAVA_OPTS (replacing its
defaults: an A/B of JVM options); --jar-b defaults to --jar.

--peer haproxy makes b HAProxy (`mode http`, 2 threads, bench/ingress.py's config on its own address), warmed up
--peer-warmup seconds (no JIT): the rounds then read svcproxy against the peer of issue 14's goal with an interval,
where a full run's three unpaired repetitions swing by 20%. The report adds svcproxy ÷ HAProxy as the bench's summary
reads it (requests per second: a over b; CPU per request: b over a; > 1 is better than HAProxy); HAProxy's
event-loop CPU is all of its CPU (bench.group_loop_cpu_ticks: its threads are its loops).
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import connlog  # noqa: E402  interval(), fmt(), inverse() and verdict()
import ingress  # noqa: E402

TARGETS = ['a', 'a2', 'b']
IPS = {'a': '127.0.10.170', 'a2': '127.0.10.171', 'b': '127.0.10.172'}   # ClusterIPs ten above (ingress.py)
FIGURES = [('rps', 'req/s'), ('cpu_per_10k', 'proxy CPU per 10k, s'), ('loop_cpu_per_10k', 'event-loop CPU per 10k, s'),
           ('user_per_10k', 'proxy user CPU per 10k, s'), ('sys_per_10k', 'proxy system CPU per 10k, s')]


def measure(procs, pgid, row, ip, opts, target='svcproxy'):
    """One measured load of the row against one of the running proxies, after a short settle run (target: the
    load's target in bench/ingress.py's terms, svcproxy or the peer)."""
    if opts.settle > 0:
        ingress.run_load(procs, row, target, opts.settle, ip=ip)
    cpu = bench.ProxyCpu(pgid)
    w = bench.CpuWindow([pgid] + opts.backend_pids)
    r = cpu.end(ingress.run_load(procs, row, target, opts.seconds, ip=ip))
    r['others_pct_core'] = w.end()['other_pct_core']
    return r


def usable(rnd):
    return all(rnd[t].get('rps') and rnd[t].get('cpu_per_10k') and not rnd[t].get('error') for t in TARGETS)


def summarize(rounds, rows):
    """Per row and figure: b ÷ a (b over the geometric mean of a and a2) and a2 ÷ a, over the usable rounds."""
    out = {}
    for row in rows:
        mine = [r for r in rounds if r['row'] == row and usable(r)]
        if not mine:
            continue
        s = {'rounds': len(mine), 'others_max': max(r['others_max'] for r in mine)}
        for field, _ in connlog.measured(mine, FIGURES, TARGETS):
            s[field] = {'b_a': connlog.interval([r['b'][field] / math.sqrt(r['a'][field] * r['a2'][field])
                                                 for r in mine]),
                        'a2_a': connlog.interval([r['a2'][field] / r['a'][field] for r in mine]),
                        'median': {t: statistics.median(r[t][field] for r in mine) for t in TARGETS}}
        out[row] = s
    return out


def against_peer(summary):
    """Per row: svcproxy ÷ the peer as the bench's summary reads it (> 1 better): requests per second a over b (the
    inverse of b ÷ a, its interval inverted), CPU per request b over a (b ÷ a as it is)."""
    return {row: {field: connlog.inverse(s[field]['b_a']) if field == 'rps' else s[field]['b_a']
                  for field, _ in connlog.shown(s, FIGURES)} for row, s in summary.items()}


def report(meta, summary):
    peer = meta.get('peer')
    b_is = (f"b: {peer}" if peer else f"b: build B sha256 {meta['jar_b_sha256'][:12]}")
    L = [f"# {'svcproxy against ' + peer if peer else 'Build B against build A'} on the Ingress rows: paired "
         f"({meta['started']})", '',
         f"{meta['rounds']} rounds per row, {meta['seconds']} s measured after a {meta['settle']} s settle run, "
         f"three processes kept running (a and a2: build A sha256 {meta['jar_sha256'][:12]}; {b_is}"
         + (f", run by {meta['java_b']}" if meta.get('java_b') else '')
         + (f", JAVA_OPTS `{meta['opts_b']}`" if meta.get('opts_b') is not None else '')
         + f"), {meta['warmup']} s warm-up each (then until their JIT settles)"
         + (f"; the peer {meta['peer_warmup']} s" if peer else '') + ", order cycling through the six "
         "permutations. CPU rows: > 1 means more CPU with B.", '',
         '| row | figure | a | a2 | b | b ÷ a: median, geo. mean [95% CI] | a2 ÷ a: median, geo. mean [95% CI] |',
         '| --- | --- | ---: | ---: | ---: | --- | --- |']
    for row, s in summary.items():
        for field, label in connlog.shown(s, FIGURES):
            f = s[field]
            cells = ' | '.join((f'{f["median"][t]:,.0f}' if field == 'rps' else f'{f["median"][t]:.3f}')
                               for t in TARGETS)
            L.append(f"| {row} | {label} | {cells} | {connlog.fmt(f['b_a'])} | {connlog.fmt(f['a2_a'])} |")
    if peer:
        L += ['', f"svcproxy ÷ {peer} as bench.py's summary reads it (> 1 is better than {peer}; req/s a over b, CPU "
              "b over a), over the same rounds:", '',
              '| row | figure | median, geo. mean [95% CI] | verdict |', '| --- | --- | --- | --- |']
        for row, s in against_peer(summary).items():
            for field, label in connlog.shown(s, FIGURES):
                L.append(f"| {row} | {label} | {connlog.fmt(s[field])} | {connlog.verdict(s[field])} |")
    L.append('')
    for row, s in summary.items():
        L.append(f"- {row}: {s['rounds']} usable rounds; others' CPU at most {s['others_max']:.0f}% of a core")
    return '\n'.join(L) + '\n'


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--jar', default=os.path.join(bench.ROOT, 'proxy-server/target/svcproxy.jar'))
    ap.add_argument('--jar-b', metavar='JAR', help="build B (default: --jar, for a runtime A/B with --java-b)")
    ap.add_argument('--java-b', metavar='JAVA', help="the java command b's launcher runs (SVCPROXY_JAVA)")
    ap.add_argument('--opts-b', metavar='JAVA_OPTS', help="JAVA_OPTS for b's launcher, replacing its defaults")
    ap.add_argument('--peer', choices=['haproxy'], help='b is this peer instead of a build of svcproxy')
    ap.add_argument('--peer-warmup', type=int, default=5, help="the peer's warm-up per row, seconds (no JIT)")
    ap.add_argument('--rows', default='h2')
    ap.add_argument('--rounds', type=int, default=15)
    ap.add_argument('--seconds', type=int, default=5)
    ap.add_argument('--settle', type=int, default=1)
    ap.add_argument('--warmup', type=int, default=30)
    ap.add_argument('--out')
    opts = ap.parse_args()
    opts.jar_b = opts.jar_b or opts.jar
    rows = [r for r in opts.rows.split(',') if r]
    for r in rows:
        if r not in ingress.ROWS:
            ap.error(f'--rows: {r!r} (expected: {", ".join(ingress.ROWS)})')
    out = os.path.abspath(opts.out or os.path.join(bench.HERE, 'results',
                                                    'ingress-pair-' + time.strftime('%Y%m%d-%H%M%S')))
    rundir = os.path.join(out, 'run')
    os.makedirs(rundir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='svcproxy-ingress-pair-')
    jars = {'b': None}   # with --peer, b is the peer: no jar of its own
    # copies: a rebuild meanwhile changes nothing measured; a folder each: each its own class-data archive
    for t, src in (('a', opts.jar),) + ((('b', opts.jar_b),) if not opts.peer else ()):
        os.makedirs(os.path.join(tmp, t))
        jars[t] = os.path.join(tmp, t, 'svcproxy.jar')
        shutil.copy(src, jars[t])
    jars['a2'] = jars['a']
    meta = {'started': time.strftime('%Y-%m-%d %H:%M'), 'rounds': opts.rounds, 'seconds': opts.seconds,
            'settle': opts.settle, 'warmup': opts.warmup, 'rows': rows, 'jar_sha256': sha256(jars['a']),
            'jar_b_sha256': sha256(jars['b']) if jars['b'] else None, 'java_b': opts.java_b, 'opts_b': opts.opts_b,
            'peer': opts.peer, 'peer_warmup': opts.peer_warmup}
    data = {'meta': meta, 'rounds': []}
    java_opts = os.environ.get('SVCPROXY_JAVA_OPTS')
    opts_of = {'b': opts.opts_b if opts.opts_b is not None else java_opts}
    procs = bench.Procs(rundir)
    try:
        opts.backend_pids = [ingress.start_backends(procs, rundir).pid]
        java = {'b': opts.java_b}
        name = {t: 'svcproxy-' + t for t in TARGETS}   # bench/ingress.py's target of each: its config and loads
        ips = dict(IPS)
        if opts.peer:
            name['b'], ips['b'] = opts.peer, ingress.TARGETS[opts.peer]
        for t in ('a', 'b'):   # a first start of each jar writes the launcher's class-data archive (or AOT cache)
            if t != 'b' or not opts.peer:
                procs.stop(ingress.start_proxy(procs, name[t], rundir, jars[t], opts_of.get(t, java_opts),
                                               ip=ips[t], java=java.get(t)))
        running = {t: ingress.start_proxy(procs, name[t], rundir, jars[t], opts_of.get(t, java_opts),
                                          ip=ips[t], java=java.get(t))
                   for t in TARGETS}
        for row in rows:
            for t in TARGETS:   # then 2-s loads of new connections while the JIT takes over 5% (bench.warm_up):
                bench.warm_up(lambda s: ingress.run_load(procs, row, name[t], s, ip=ips[t]),   # the first churn
                              running[t].pid, opts.peer_warmup if name[t] == opts.peer else opts.warmup, 30)
        bench.paired_rounds('ingress-pair', rows, opts.rounds, running,
                            lambda row, t: measure(procs, running[t].pid, row, ips[t], opts, name[t]), data, out)
    except KeyboardInterrupt:
        bench.log('ingress pair: interrupted; partial results are kept')
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    data['summary'] = summarize(data['rounds'], rows)
    meta['finished'] = time.strftime('%Y-%m-%d %H:%M')
    bench.write_results(out, 'ingress-pair', data, report(meta, data['summary']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
