#!/usr/bin/python3
"""CPU time of each svcproxy thread under one of the bench's wrk loads, per request: where a cost lands.

Starts the bench's nginx endpoints and svcproxy (the launcher, as bench.py does; with --connection-log the
connection log on, in the run's folder next to the config, as target svcproxy-connlog), gives it an unmeasured
warm-up of the same load, then reads utime+stime of every thread from /proc/PID/task before and after the
measured run. Threads of one pool are summed (svcproxy-io-*, C2 CompilerThread*). The figures per request are
far steadier on a shared machine than the requests per second: the connection log's cost is the
connection-log thread plus what it makes others do (the config watcher wakes at each write into its folder).
Run under the bench lock:

    flock /work/bench.lock python3 bench/thread_cpu.py --jar A.jar [--connection-log] [--workload close] [--seconds 6]
"""
import argparse
import collections
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  the process, load and config helpers of the TCP bench


def threads(pid):
    out = collections.Counter()
    for t in os.listdir(f'/proc/{pid}/task'):
        try:
            with open(f'/proc/{pid}/task/{t}/comm') as f:
                name = f.read().strip()
            fields = bench._stat_fields(f'{pid}/task/{t}')
            out[re.sub(r'[-#]?\d+$', '', name)] += int(fields[11]) + int(fields[12])
        except OSError:
            pass   # a thread that ended meanwhile
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--jar', default=os.path.join(bench.ROOT, 'proxy-server/target/svcproxy.jar'))
    ap.add_argument('--connection-log', action='store_true')
    ap.add_argument('--workload', default='close', choices=['close', 'http'])
    ap.add_argument('--seconds', type=int, default=6)
    ap.add_argument('--warmup', type=int, default=2)
    opts = ap.parse_args()
    procs = bench.Procs(tempfile.mkdtemp(prefix='svcproxy-threads-'))
    target = 'svcproxy-connlog' if opts.connection_log else 'svcproxy'
    opts.target_ips = dict(bench.TARGET_IPS, **{'svcproxy-connlog': '127.0.10.12'})
    opts.connection_log_targets = {'svcproxy-connlog'}
    opts.java_opts = {'svcproxy': None, 'svcproxy-connlog': None}
    opts.jars = {}   # bench.py's other jars by target (--svcproxy-jar): none here, --jar is the one
    try:
        bench.start_backends(procs, 'http', opts)
        p = bench.start_proxy(procs, target, 'http', opts)
        host = opts.target_ips[target]
        bench.run_load('http', opts.workload, host, opts.warmup, procs)
        time.sleep(0.3)
        before = threads(p.pid)
        load0 = os.getloadavg()[0]
        r = bench.run_load('http', opts.workload, host, opts.seconds, procs)
        after = threads(p.pid)
        n = r['requests']
        print(f"{target} {opts.workload} ({os.path.basename(opts.jar)}): {r['rps']:,.0f} req/s, {n:,} requests; "
              f"load average {load0:.2f} -> {os.getloadavg()[0]:.2f}")
        total = 0.0
        for name in sorted(after, key=lambda k: before.get(k, 0) - after[k]):
            s = (after[name] - before.get(name, 0)) / bench.CLK
            total += s
            if s > 0:
                print(f'  {name:28s} {s:6.2f} s  {s / n * 1e6:7.1f} µs/request')
        print(f"  {'all threads':28s} {total:6.2f} s  {total / n * 1e6:7.1f} µs/request")
    finally:
        procs.stop_all()


if __name__ == '__main__':
    main()
