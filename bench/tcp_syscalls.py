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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402
from ingress_profile import strace_summary  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_tool_args(ap, 'close,http', 'tcp-syscalls')
    ap.add_argument('--transport', action='append', default=[], metavar='NAME=TRANSPORT')
    ap.add_argument('--seconds', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=6)
    a = ap.parse_args()
    out, rundir, opts, targets, rows = bench.tool_setup(a, a.transport)
    lines = []
    for procs, row, target, p, host in bench.tool_runs(rundir, rows, targets, opts):
        bench.run_load('http', row, host, a.warmup, procs)
        trace = os.path.join(out, f'{row}-{target}.strace')
        argv = ['strace', '-f', '-c', '-o', trace]
        for pid in bench.group_pids(p.pid):
            argv += ['-p', str(pid)]
        st = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    bench.write_summary(out, lines)
    return 0


if __name__ == '__main__':
    sys.exit(main())
