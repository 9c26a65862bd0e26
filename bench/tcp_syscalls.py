#!/usr/bin/env python3
"""System calls per operation of the TCP rows: `strace -f -c` on every thread of each proxy.

For each row (close: new connection per request; http: keep-alive) and each target, starts the bench's backends and
the proxy exactly as bench/bench.py does (svcproxy by the launcher, `./svcproxy run --config FILE`), warms it up
unmeasured, then counts the system calls of all its threads over `--seconds` of `wrk -t2 -c64` and divides by the
requests wrk completed. strace slows the proxy down a lot, so only the counts per operation mean anything, not the
rates. Run it under the bench lock:

    flock /work/bench.lock bench/tcp_syscalls.py --rows close,http --only haproxy,svcproxy \\
        --transport uring=io_uring --variant before=/tmp/before.jar

Targets: haproxy, svcproxy (the jar of --jar with proxy.transport auto), svcproxy-NAME for each
--transport NAME=TRANSPORT (proxy.transport in the config) and --variant NAME=JAR (another build).
"""
import argparse
import os
import subprocess
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402
from ingress_profile import strace_summary  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--rows', default='close,http')
    ap.add_argument('--only', default='haproxy,svcproxy')
    ap.add_argument('--jar', default=os.path.join(bench.ROOT, 'proxy-server', 'target', 'svcproxy.jar'))
    ap.add_argument('--transport', action='append', default=[], metavar='NAME=TRANSPORT')
    ap.add_argument('--variant', action='append', default=[], metavar='NAME=JAR')
    ap.add_argument('--seconds', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=6)
    ap.add_argument('--out', default=os.path.join(HERE, 'results', 'tcp-syscalls-' + time.strftime('%Y%m%d-%H%M%S')))
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    rundir = os.path.join(out, 'run')
    os.makedirs(rundir, exist_ok=True)
    opts = types.SimpleNamespace(target_ips=dict(bench.TARGET_IPS), java_opts={'svcproxy': None}, jars={},
                                 transports={}, connection_log_targets=set(), jar=os.path.abspath(a.jar),
                                 stream_module='')
    targets = [t for t in a.only.split(',') if t]
    for i, v in enumerate(a.transport):
        name, _, transport = v.partition('=')
        t = 'svcproxy-' + name
        opts.target_ips[t], opts.java_opts[t], opts.transports[t] = f'127.0.10.{21 + i}', None, transport
        targets.append(t)
    for i, v in enumerate(a.variant):
        name, _, jar = v.partition('=')
        t = 'svcproxy-' + name
        opts.target_ips[t], opts.java_opts[t], opts.jars[t] = f'127.0.10.{11 + i}', None, os.path.abspath(jar)
        targets.append(t)
    procs = bench.Procs(rundir)
    lines = []
    try:
        bench.start_backends(procs, 'http', opts)
        for row in [r for r in a.rows.split(',') if r]:
            for target in targets:
                p = bench.start_proxy(procs, target, 'http', opts)
                try:
                    host = opts.target_ips[target]
                    bench.run_load('http', row, host, a.warmup, procs)
                    trace = os.path.join(out, f'{row}-{target}.strace')
                    argv = ['strace', '-f', '-c', '-o', trace]
                    for pid in bench.group_pids(p.pid):
                        argv += ['-p', str(pid)]
                    st = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
                    time.sleep(1.0)
                    r = bench.run_load('http', row, host, a.seconds, procs)
                    st.send_signal(2)
                    st.wait(timeout=30)
                    n = max(r.get('requests', 0), 1)
                    calls = strace_summary(trace)
                    total = sum(calls.values())
                    top = sorted(calls.items(), key=lambda kv: -kv[1])
                    lines.append(f'{row} {target}: {n} requests, {total / n:.2f} system calls per request: '
                                 + ', '.join(f'{k} {v / n:.2f}' for k, v in top if v / n >= 0.01))
                    bench.log(lines[-1])
                finally:
                    procs.stop(p)
    finally:
        procs.stop_all()
    with open(os.path.join(out, 'summary.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(os.path.join(out, 'summary.txt'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
