#!/usr/bin/python3
"""CPU profiles and system calls per request of the Ingress rows (issue 14), with bench/ingress.py's setup.

The same backends, proxies and loads as bench/ingress.py (keep-alive HTTP/1.1, a new connection per request, h2c
with h2load). Per row and target: start the proxy, load it unmeasured for --warmup seconds, then for --seconds
  - `profile` (svcproxy targets): async-profiler 4.1 attached by `jcmd JVMTI.agent_load` (itimer sampling of CPU
    time, as bench/profile.sh), collapsed stacks drawn by bench/flamegraph.py as OUT/flame-ingress-ROW-TARGET.png;
  - `strace`: `strace -f -c -p` on every thread of the proxy, and the system calls per request (the load's request
    count over the same window); strace slows the proxy down, so only the counts per request mean anything;
  - `packets`: `tcpdump -i lo` (headers only) over --seconds of the load, and the TCP segments per request by leg,
    direction and kind, counted by bench/tcp_packets.py's `tally` (client leg: the proxy's 127.0.10.x address).

    bench/ingress_profile.py profile|strace|packets [--rows http,close,h2] [--only svcproxy,haproxy] [--jar PATH]
                                            [--variant NAME=JAR ...] [--seconds 6] [--warmup 8]
                                            [--event cpu|alloc] [--out DIR]
`--event alloc` samples allocations instead (async-profiler's TLAB events every ~64 KiB, collapsed by bytes).
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import ingress  # noqa: E402
import tcp_packets  # noqa: E402

AP_VERSION = '4.1'


def profiler_lib(out):
    jar = os.path.expanduser(f'~/.m2/repository/tools/profiler/async-profiler/{AP_VERSION}/'
                             f'async-profiler-{AP_VERSION}.jar')
    if not os.path.exists(jar):
        subprocess.run(['mvn', '-B', '-q', 'dependency:get',
                        f'-Dartifact=tools.profiler:async-profiler:{AP_VERSION}', '-Dtransitive=false'], check=True)
    lib = os.path.join(out, 'lib')
    os.makedirs(lib, exist_ok=True)
    subprocess.run(['unzip', '-o', '-q', jar, 'linux-x64/*', '-d', lib], check=True)
    return os.path.join(lib, 'linux-x64', 'libasyncProfiler.so')


def java_pid(pgid):
    for pid in bench.group_pids(pgid):
        try:
            with open(f'/proc/{pid}/comm') as f:
                if f.read().strip() == 'java':
                    return pid
        except OSError:
            pass
    return pgid


def requests_of(row, r):
    return r.get('requests') or 0


def strace_summary(path):
    """{syscall: calls} from strace -c output."""
    calls = {}
    with open(path) as f:
        for line in f:
            m = re.match(r'\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$', line)
            if m and m.group(2) != 'total':
                calls[m.group(2)] = int(m.group(1))
    return calls


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('mode', choices=['profile', 'strace', 'packets'])
    ap.add_argument('--rows', default='http,close,h2')
    ap.add_argument('--only', default='svcproxy,haproxy')
    ap.add_argument('--jar', default=os.path.join(bench.ROOT, 'proxy-server', 'target', 'svcproxy.jar'))
    ap.add_argument('--variant', action='append', default=[], metavar='NAME=JAR')
    ap.add_argument('--seconds', type=int, default=6)
    ap.add_argument('--warmup', type=int, default=8)
    ap.add_argument('--event', choices=['cpu', 'alloc'], default='cpu',
                    help='profile: CPU time (itimer) or allocated bytes (TLAB sampling)')
    ap.add_argument('--out', default=os.path.join(bench.HERE, 'results',
                                                  'ingress-profile-' + time.strftime('%Y%m%d-%H%M%S')))
    opts = ap.parse_args()
    opts.out = os.path.abspath(opts.out)
    opts.java_opts = os.environ.get('SVCPROXY_JAVA_OPTS')
    variants = {}
    for v in opts.variant:
        name, _, jar = v.partition('=')
        variants['svcproxy-' + name] = os.path.abspath(jar)
    targets = [t for t in opts.only.split(',') if t] + list(variants)
    rows = [r for r in opts.rows.split(',') if r]
    rundir = os.path.join(opts.out, 'run')
    os.makedirs(rundir, exist_ok=True)
    lib = profiler_lib(opts.out) if opts.mode == 'profile' else None
    procs = bench.Procs(rundir)
    summary = []
    try:
        ingress.start_backends(procs, rundir)
        for row in rows:
            for target in targets:
                svc = ingress.is_svcproxy(target)
                if opts.mode == 'profile' and not svc:
                    continue
                p = ingress.start_proxy(procs, target, rundir, variants.get(target, opts.jar), opts.java_opts)
                try:
                    ingress.run_load(procs, row, target, opts.warmup)
                    tag = f'{row}-{target}'
                    if opts.mode == 'profile':
                        pid = java_pid(p.pid)
                        start = ('"start,event=itimer,interval=997us"' if opts.event == 'cpu'
                                 else '"start,event=alloc,alloc=64k"')
                        subprocess.run(['jcmd', str(pid), 'JVMTI.agent_load', lib, start], check=True,
                                       capture_output=True)
                        r = ingress.run_load(procs, row, target, opts.seconds)
                        collapsed = os.path.join(opts.out, f'{tag}-{opts.event}.collapsed')
                        counter = ',total' if opts.event == 'alloc' else ''
                        subprocess.run(['jcmd', str(pid), 'JVMTI.agent_load', lib,
                                        f'"stop,file={collapsed},collapsed{counter}"'], check=True,
                                       capture_output=True)
                        png = os.path.join(opts.out, f'flame-ingress-{tag}-{opts.event}.png')
                        subprocess.run([bench.PY, os.path.join(bench.HERE, 'flamegraph.py'), collapsed, png,
                                        '--title', f'svcproxy Ingress {"CPU" if opts.event == "cpu" else "allocated bytes"}, {row} ({time.strftime("%Y-%m-%d")}, '
                                                   f'launcher defaults, {opts.seconds} s after {opts.warmup} s '
                                                   f'warm-up)'], check=True)
                        summary.append(f'{tag}: {r.get("rps", 0):,.0f} req/s while profiled -> {png}')
                    elif opts.mode == 'packets':
                        summary += tcp_packets.capture(
                            os.path.join(opts.out, f'{tag}.pcap'), target, row,
                            lambda: ingress.run_load(procs, row, target, opts.seconds), keep=False)
                    else:
                        trace = os.path.join(opts.out, f'{tag}.strace')
                        pids = bench.group_pids(p.pid)
                        argv = ['strace', '-f', '-c', '-o', trace]
                        for pid in pids:
                            argv += ['-p', str(pid)]
                        st = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL)
                        time.sleep(1.0)
                        r = ingress.run_load(procs, row, target, opts.seconds)
                        st.send_signal(2)
                        st.wait(timeout=30)
                        n = requests_of(row, r)
                        calls = strace_summary(trace)
                        total = sum(calls.values())
                        top = sorted(calls.items(), key=lambda kv: -kv[1])[:10]
                        summary.append(f'{tag}: {n} requests, {total / max(n, 1):.2f} syscalls/request: '
                                       + ', '.join(f'{k} {v / max(n, 1):.2f}' for k, v in top))
                    if opts.mode != 'packets':
                        bench.log(summary[-1])
                finally:
                    procs.stop(p)
    finally:
        procs.stop_all()
    with open(os.path.join(opts.out, f'{opts.mode}-summary.txt'), 'w') as f:
        f.write('\n'.join(summary) + '\n')
    print('\n'.join(summary))


if __name__ == '__main__':
    main()
