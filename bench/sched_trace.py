#!/usr/bin/env python3
"""Who waits for whom on the TCP rows: the scheduler's trace of each proxy together with its peers, wrk and nginx.

For each row (http: keep-alive; close: a new connection per request) and target, starts the bench's backends and
the proxy as bench/bench.py does (svcproxy by the launcher), warms it up as bench.py does (a JVM until its JIT
compilers settle), then, during `wrk -t2 -c64`, records --seconds of the whole machine with `perf record`: the exits
of epoll_wait/epoll_pwait/epoll_pwait2 (the value returned is the number of events), nginx's recvfrom (one per
request: the request count), sched_switch and sched_wakeup. It prints, per request, for the proxy, nginx and wrk:
the waits for events and the events each wait returned, the sleeps, the preemptions (a switch away from a runnable
thread) and by whom, and the wake-ups the proxy's threads did of nginx and of wrk. Tracing slows everything down:
the rates mean nothing, the counts per request do. docs/performance.md ("TCP rows, round 13") reads them.

    flock /work/bench.lock bench/sched_trace.py --rows http,close --only haproxy,svcproxy [--variant NAME=JAR]

Needs perf (Debian's linux-perf) as root. perf's output goes to --out, away from the proxies' config folder (a
write beside a watched config wakes svcproxy's watcher; docs/performance.md, "Keep-alive, round 12").
"""
import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402

EVENTS = ('syscalls:sys_exit_epoll_wait,syscalls:sys_exit_epoll_pwait,syscalls:sys_exit_epoll_pwait2,'
          'syscalls:sys_exit_recvfrom,sched:sched_switch,sched:sched_wakeup')
GROUPS = ('proxy', 'nginx', 'wrk')
# `perf script -F comm,pid,tid,event,trace`: "COMM PID/TID EVENT: TRACE" (a comm may hold spaces)
LINE = re.compile(r'^\s*(?P<comm>.*?)\s+(?P<pid>\d+)/(?P<tid>\d+)\s+(?P<event>[\w:]+):\s*(?P<trace>.*)$')
SWITCH = re.compile(r'prev_comm=(?P<pc>.*?) prev_pid=(?P<pp>\d+) .*?prev_state=(?P<st>\S+) ==> '
                    r'next_comm=(?P<nc>.*?) next_pid=(?P<np>\d+)')
WAKEUP = re.compile(r'comm=(?P<c>.*?) pid=(?P<p>\d+) ')


def signed(hexval):
    """A system call's return value as perf prints it (0x..., two's complement for errors)."""
    v = int(hexval, 16)
    return v - (1 << 64) if v >= 1 << 63 else v


def tally(lines, proxy_pids, proxy_tids=()):
    """Counts from `perf script -F comm,pid,tid,event,trace` lines. A task is the proxy's when its process is one of
    `proxy_pids` (or its thread one of `proxy_tids`: a wakee is named by thread only), nginx's or wrk's by its name,
    anything else is 'other'."""
    lines = list(lines)
    proxy_pids = set(proxy_pids)
    tids = set(proxy_tids)
    for line in lines:  # the proxy's threads seen running in the trace, for naming them as wakees and switches
        m = LINE.match(line)
        if m and int(m['pid']) in proxy_pids:
            tids.add(int(m['tid']))

    def group(comm, tid):
        if tid in tids:
            return 'proxy'
        return comm if comm in ('nginx', 'wrk') else 'other'

    t = {g: {'waits': 0, 'empty': 0, 'events': 0, 'sleeps': 0, 'preempted': {}} for g in GROUPS}
    t['requests'] = 0
    t['woke'] = {}
    t['woken_by'] = {}   # wake-ups of the proxy's threads, by the waker's group (the proxy's own: a hand-off)
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        g = group(m['comm'].strip(), int(m['tid']))
        ev, trace = m['event'], m['trace']
        if ev.startswith('syscalls:sys_exit_epoll_'):
            if g in GROUPS:
                n = signed(trace.split()[0])
                t[g]['waits'] += 1
                if n > 0:
                    t[g]['events'] += n
                elif n == 0:
                    t[g]['empty'] += 1
        elif ev == 'syscalls:sys_exit_recvfrom':
            if g == 'nginx' and signed(trace.split()[0]) > 0:
                t['requests'] += 1
        elif ev == 'sched:sched_switch':
            s = SWITCH.search(trace)
            if not s:
                continue
            prev = group(s['pc'], int(s['pp']))
            if prev not in GROUPS:
                continue
            if s['st'].startswith('R'):
                by = group(s['nc'], int(s['np']))
                t[prev]['preempted'][by] = t[prev]['preempted'].get(by, 0) + 1
            else:
                t[prev]['sleeps'] += 1
        elif ev == 'sched:sched_wakeup':
            w = WAKEUP.search(trace)
            if not w:
                continue
            wakee = group(w['c'], int(w['p']))
            if g == 'proxy':
                t['woke'][wakee] = t['woke'].get(wakee, 0) + 1
            if wakee == 'proxy':
                t['woken_by'][g] = t['woken_by'].get(g, 0) + 1
    return t


def report(t):
    """Per-request lines of a tally."""
    n = t['requests']
    if not n:
        return ['no requests traced (nginx read none)']
    out = []
    for g in GROUPS:
        c = t[g]
        full = c['waits'] - c['empty']
        pre = sum(c['preempted'].values())
        by = ', '.join(f'{k} {v / n:.3f}' for k, v in sorted(c['preempted'].items(), key=lambda kv: -kv[1]))
        s = (f'{g}: {c["waits"] / n:.3f} waits ({c["events"] / full if full else 0:.2f} events each, '
             f'{c["empty"] / n:.3f} empty), {c["sleeps"] / n:.3f} sleeps, {pre / n:.3f} preempted'
             + (f' (by {by})' if by else ''))
        if g == 'proxy':
            s += ('; woke nginx ' + f'{t["woke"].get("nginx", 0) / n:.3f}, wrk {t["woke"].get("wrk", 0) / n:.3f}')
            s += '; woken by ' + (', '.join(f'{k} {v / n:.3f}' for k, v in sorted(
                t['woken_by'].items(), key=lambda kv: -kv[1])) or 'none')
        out.append(s)
    return out


def thread_ids(pids):
    """The threads of the processes `pids`, listed before the trace: one that does not run in the traced window is
    still named as the proxy's when it is woken or switched to."""
    tids = set()
    for pid in pids:
        try:
            tids.update(int(t) for t in os.listdir(f'/proc/{pid}/task'))
        except OSError:
            pass
    return tids


def trace_row(procs, target, row, host, seconds, out):
    """Loads the proxy with `row` and records `seconds` of the machine meanwhile; the perf data's path."""
    data = os.path.join(out, f'{row}-{target}.perf.data')
    load = threading.Thread(target=bench.run_load, args=('http', row, host, seconds + 3, procs))
    load.start()
    try:
        time.sleep(1.0)
        subprocess.run(['perf', 'record', '-q', '-a', '-e', EVENTS, '-o', data, '--', 'sleep', str(seconds)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, timeout=seconds + 60)
    finally:
        load.join(timeout=seconds + 60)
    return data


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_tool_args(ap, 'http,close', 'sched-trace')
    ap.add_argument('--seconds', type=int, default=2)
    ap.add_argument('--warmup', type=int, default=15)
    ap.add_argument('--jit-settle', type=bench.settle_seconds, default=30)
    a = ap.parse_args()
    out, rundir, opts, targets, rows = bench.tool_setup(a)
    lines, results = [], {}
    for procs, row, target, p, host in bench.tool_runs(rundir, rows, targets, opts):
        bench.warm_up(lambda s: bench.run_load('http', row, host, s, procs), p.pid, a.warmup, a.jit_settle)
        pids = bench.group_pids(p.pid)
        tids = thread_ids(pids)
        data = trace_row(procs, target, row, host, a.seconds, out)
        script = subprocess.run(['perf', 'script', '-i', data, '-F', 'comm,pid,tid,event,trace'],
                                capture_output=True, text=True, check=True).stdout
        os.remove(data)  # hundreds of MB; the counts are kept in results.json
        t = tally(script.splitlines(), pids, tids)
        results[f'{row} {target}'] = t
        lines.append(f'{row} {target}: {t["requests"]:,} requests in {a.seconds} s traced; per request:')
        lines += ['  ' + s for s in report(t)]
        for s in lines[-4:]:
            bench.log(s)
    with open(os.path.join(out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    bench.write_summary(out, lines)
    return 0


if __name__ == '__main__':
    sys.exit(main())
