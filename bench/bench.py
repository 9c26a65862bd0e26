#!/usr/bin/python3
"""svcproxy vs HAProxy vs nginx (stream) vs a direct connection, on loopback. Run through bench/run.sh.

Every measurement starts the target proxy afresh (its start-up is not measured), gives it an
unmeasured warm-up of the same load (5 s), checks that the machine is quiet, then measures: the
load generator's figure, the proxy's CPU seconds (utime+stime of every process of its process
group, from /proc/PID/stat) and, for the idle row, its RSS (VmRSS summed over the group).
Repetitions rotate the order of the targets. Writes results.json, report.md and ratios.png.
"""
import argparse
import datetime
import hashlib
import itertools
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = '/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable
CLK = os.sysconf('SC_CLK_TCK')
NCPU = os.cpu_count() or 1

BACKENDS = ['127.0.0.11', '127.0.0.12']
HTTP_PORT = 8080
BULK_PORT = 5201
IDLE_CONTROL = '127.0.0.11:8099'
TARGET_IPS = {'direct': '127.0.0.11', 'haproxy': '127.0.10.2', 'nginx': '127.0.10.3', 'svcproxy': '127.0.10.1'}
TARGET_ORDER = ['direct', 'haproxy', 'nginx', 'svcproxy']
WORKLOADS = ['bulk1', 'bulk4', 'http', 'close', 'idle', 'udp', 'ingress', 'connlog', 'startup', 'pair-tcp',
             'pair-ingress']
# rows measured by their own harness, run by this one after the TCP rows (their peers: nginx for UDP, as
# HAProxy 2.6 has no UDP proxy; HAProxy mode http for the Ingress rows; svcproxy with the log off for the
# connection log's paired A/B; HAProxy, measured in paired rounds with svcproxy, for the pair-* rows)
EXTRA_WORKLOADS = {'udp': 'udp.py', 'ingress': 'ingress.py', 'connlog': 'connlog.py', 'startup': 'startup.py',
                   'pair-tcp': 'connlog.py', 'pair-ingress': 'ingress_pair.py'}
# the rows the paired workloads measure against HAProxy: the ones whose unpaired repetitions decide issue 15 least
# surely (keep-alive and new connections; the Ingress's keep-alive and h2), and their warm-up (the JIT settles)
PAIR_TCP_ROWS, PAIR_INGRESS_ROWS, PAIR_WARMUP_S = 'http,close', 'http,h2', 30
# issue 15's start-up goals, absolute (no peer): listening within this long of the launcher's start, and at most
# this resident with no connection (bench/startup.py's one-Service config, 5 s after listening)
STARTUP_GOAL_S = 0.40
STARTUP_GOAL_RSS_MIB = 64.0
# the connection log's rows compare svcproxy with itself (its own 3% bound, bench/connlog.py): no goal verdict
LOG_OFF_PEER = 'svcproxy, log off'
LAUNCHER_DEFAULTS = '(the launcher\'s defaults)'
BODY = 'x' * 99 + '\n'   # 100 bytes
QUIET_THRESHOLD = 20.0   # % of one core used by others before a measurement: warn above this


def log(*a):
    print(time.strftime('%H:%M:%S'), *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- /proc readings

def _stat_fields(pid):
    with open(f'/proc/{pid}/stat') as f:
        st = f.read()
    return st[st.rindex(')') + 2:].split()   # fields from 3 (state) on


def _is_jvm_group(pgid):
    """Does the process group hold a JVM (which prints a thread dump on SIGQUIT)?"""
    for pid in group_pids(pgid):
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                if os.path.basename(f.read().split(b'\0')[0]) == b'java':
                    return True
        except OSError:
            pass
    return False


def group_pids(pgid):
    pids = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                if int(_stat_fields(d)[2]) == pgid:
                    pids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return pids


def group_cpu_ticks(pgid):
    """utime+stime (clock ticks) of every live process of a process group (threads included)."""
    if not pgid:
        return 0
    total = 0
    for pid in group_pids(pgid):
        try:
            f = _stat_fields(pid)
            total += int(f[11]) + int(f[12])      # fields 14 and 15: utime, stime
        except (OSError, ValueError, IndexError):
            pass
    return total


LOOP_THREADS = ('svcproxy-io', 'svcproxy-accep')   # svcproxy's event loops (thread names, as /proc's comm; builds before round 11 had an accept thread)


def group_user_sys_ticks(pgid):
    """(utime, stime) in clock ticks of every live process of a process group (threads included): where the CPU
    goes, the process's own work or the kernel's on its behalf (system calls, and the softirq work they run)."""
    user = sys_ = 0
    for pid in group_pids(pgid) if pgid else []:
        try:
            f = _stat_fields(pid)
            user, sys_ = user + int(f[11]), sys_ + int(f[12])
        except (OSError, ValueError, IndexError):
            pass
    return user, sys_


class ProxyCpu:
    """A proxy's CPU over one measured load, for the paired tools (connlog.py, ingress_pair.py): started before
    the load, ended with its result, into which it writes the process group's CPU (user + system, JIT and GC
    threads included), its event loops' CPU (group_loop_cpu_ticks) and the user and system parts, in seconds and
    per 10k requests."""

    def __init__(self, pgid):
        self.pgid = pgid
        self.start = self._ticks()

    def _ticks(self):
        return group_user_sys_ticks(self.pgid) + (group_loop_cpu_ticks(self.pgid),)

    def end(self, r):
        user, sys_, loop = ((b - a) / CLK for a, b in zip(self.start, self._ticks()))
        r['cpu_s'], r['loop_cpu_s'], r['user_s'], r['sys_s'] = user + sys_, loop, user, sys_
        if r.get('requests'):
            per = r['requests'] / 1e4
            r['cpu_per_10k'], r['loop_cpu_per_10k'] = (user + sys_) / per, loop / per
            r['user_per_10k'], r['sys_per_10k'] = user / per, sys_ / per
        return r


def group_thread_ticks(pgid, keep):
    """utime+stime (clock ticks) of the threads of a process group for which keep(jvm, comm) holds (jvm: the
    thread's process is a java one; comm: the thread's name as /proc cuts it)."""
    if not pgid:
        return 0
    total = 0
    for pid in group_pids(pgid):
        jvm = _comm(f'/proc/{pid}/comm') == 'java'
        try:
            tids = os.listdir(f'/proc/{pid}/task')
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f'/proc/{pid}/task/{tid}/stat') as f:
                    st = f.read()
            except OSError:
                continue
            comm = st[st.index('(') + 1:st.rindex(')')]
            fields = st[st.rindex(')') + 2:].split()   # fields from the 3rd on: utime and stime are 14 and 15
            if keep(jvm, comm):
                total += int(fields[11]) + int(fields[12])
    return total


def group_loop_cpu_ticks(pgid):
    """utime+stime (clock ticks) of the event-loop threads of a process group: of a JVM, its svcproxy-io-* and
    svcproxy-accept-* threads (not its JIT compiler, GC and other threads); of any other process, every thread
    (HAProxy's and nginx's threads are all event loops)."""
    return group_thread_ticks(pgid, lambda jvm, comm: not jvm or comm.startswith(LOOP_THREADS))


JIT_THREADS = 'CompilerThre'   # the JVM's C1/C2 compiler threads ("C2 CompilerThre", as /proc's comm cuts it)


def group_jit_cpu_ticks(pgid):
    """utime+stime (clock ticks) of the JIT compiler threads of a process group's JVMs (0 for any other)."""
    return group_thread_ticks(pgid, lambda jvm, comm: jvm and JIT_THREADS in comm)


def settle_seconds(text):
    """argparse type of --jit-settle: a finite number of seconds, 0 or more."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'not a number of seconds: {text!r}')
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f'must be a finite number of seconds, 0 or more: {text!r}')
    return v


def warm_up(load, pgid, seconds, settle_max, chunk=2, share=0.05):
    """The unmeasured warm-up: `load(s)` runs s seconds of the row's own load. After the fixed `seconds`, while
    the JIT compiler threads took more than `share` of the process group's CPU in the last stretch of load, one
    more `chunk` of it, up to `settle_max` seconds more: a JVM is measured once it has compiled what the load
    runs (its steady state, what a long-running proxy serves at), not while its compilers still take a core. A
    process with no JIT (HAProxy, nginx) gets the fixed warm-up only. Returns the seconds of warm-up and the
    compilers' share of the last stretch (None for no JIT) and their CPU seconds in the whole warm-up."""
    start = group_jit_cpu_ticks(pgid)
    c0, j0 = group_cpu_ticks(pgid), start
    load(seconds)
    done = seconds
    c, j = group_cpu_ticks(pgid) - c0, group_jit_cpu_ticks(pgid) - j0
    if not group_jit_cpu_ticks(pgid):
        return done, None, 0.0
    last = j / c if c else 0.0
    while last > share and done - seconds + chunk <= settle_max:
        c0, j0 = group_cpu_ticks(pgid), group_jit_cpu_ticks(pgid)
        load(chunk)
        done += chunk
        c, j = group_cpu_ticks(pgid) - c0, group_jit_cpu_ticks(pgid) - j0
        last = j / c if c else 0.0
    return done, round(last, 3), (group_jit_cpu_ticks(pgid) - start) / CLK


def _comm(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ''


def group_rss_kib(pgid):
    total = 0
    for pid in group_pids(pgid):
        try:
            with open(f'/proc/{pid}/status') as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def machine_ticks():
    """(busy, idle) clock ticks of all CPUs; busy = user+nice+system+steal (irq/softirq apart)."""
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return user + nice + system + steal, idle + iowait, irq + softirq


def self_ticks():
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime) * CLK


class CpuWindow:
    """Machine CPU over a window, minus what our own processes used: the 'other' load."""

    def __init__(self, pgids):
        self.pgids = [p for p in pgids if p]
        self.t = time.monotonic()
        self.m = machine_ticks()
        self.ours = sum(group_cpu_ticks(p) for p in self.pgids) + self_ticks()

    def end(self):
        dt = time.monotonic() - self.t
        m = machine_ticks()
        ours = sum(group_cpu_ticks(p) for p in self.pgids) + self_ticks()
        busy = m[0] - self.m[0]
        idle = m[1] - self.m[1]
        irq = m[2] - self.m[2]
        other = max(0.0, busy - (ours - self.ours))
        total = busy + idle + irq
        return {
            'seconds': round(dt, 2),
            'other_pct_core': round(100.0 * other / CLK / dt, 1),
            'ours_pct_core': round(100.0 * (ours - self.ours) / CLK / dt, 1),
            'idle_pct': round(100.0 * idle / total, 1) if total else None,
        }


WAIT_BUDGET = {'left': 120.0}   # seconds of waiting for quiet left in the whole run


def quiet_check(pgids, wait_s):
    """1 s windows until the others use less than QUIET_THRESHOLD % of a core, or wait_s passes
    (or the run's waiting budget is spent)."""
    t0 = time.monotonic()
    wait_s = max(0.0, min(wait_s, WAIT_BUDGET['left']))
    try:
        return _quiet_check(pgids, wait_s, t0)
    finally:
        WAIT_BUDGET['left'] -= max(0.0, time.monotonic() - t0 - 1.0)


def _quiet_check(pgids, wait_s, t0):
    while True:
        w = CpuWindow(pgids)
        time.sleep(1.0)
        r = w.end()
        r['waited_s'] = round(time.monotonic() - t0 - r['seconds'], 1)
        r['quiet'] = r['other_pct_core'] <= QUIET_THRESHOLD
        if r['quiet'] or time.monotonic() - t0 >= wait_s:
            if not r['quiet']:
                log(f"  WARNING: machine busy: others use {r['other_pct_core']}% of a core "
                    f"(idle {r['idle_pct']}%)" + (f", waited {r['waited_s']} s" if wait_s else ''))
            return r


# ---------------------------------------------------------------- processes

class Procs:
    def __init__(self, rundir):
        self.rundir = rundir
        self.live = {}
        self.pgidfile = os.path.join(rundir, 'pgids')

    def _save(self):
        with open(self.pgidfile, 'w') as f:
            f.write(''.join(f'{p}\n' for p in self.live))

    def start(self, name, argv, env=None):
        logf = open(os.path.join(self.rundir, f'{name}.log'), 'ab')
        logf.write(f'\n=== {time.strftime("%H:%M:%S")} {" ".join(argv)}\n'.encode())
        logf.flush()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, env=env,
                             start_new_session=True)
        logf.close()
        p.name = name
        self.live[p.pid] = p
        self._save()
        return p

    def stop(self, p, grace=5.0):
        if p is None or p.pid not in self.live:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            if sig == signal.SIGKILL and _is_jvm_group(p.pid):
                # it did not stop within the grace: a thread dump into its log says where it waits
                log(f'  {p.name} (pid {p.pid}) still running {grace:g} s after SIGTERM: '
                    f'thread dump (SIGQUIT) in {p.name}.log, then SIGKILL')
                try:
                    os.killpg(p.pid, signal.SIGQUIT)
                    time.sleep(1.0)
                except ProcessLookupError:
                    break
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # the leader is gone: make sure no member of the group is left
            deadline = time.monotonic() + wait
            while group_pids(p.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not group_pids(p.pid):
                break
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        del self.live[p.pid]
        self._save()

    def stop_all(self):
        for p in list(self.live.values()):
            self.stop(p, grace=2.0)


def wait_listen(host, port, proc, timeout=30.0):
    port = int(port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f'{proc.name} exited with {proc.returncode} before listening on {host}:{port}'
                               f' (see its log)')
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f'{host}:{port} did not start listening within {timeout} s')


def run_bounded(argv, timeout, procs):
    """Run a load generator in its own process group; kill the group if it overruns."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True, text=True)
    p.name = argv[0]
    procs.live[p.pid] = p
    procs._save()
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        err += f'\n(killed after {timeout} s)'
    finally:
        procs.live.pop(p.pid, None)
        procs._save()
    return p.returncode, out, err


# ---------------------------------------------------------------- configs

def render(tmpl, dest, **kw):
    with open(os.path.join(HERE, 'conf', tmpl)) as f:
        text = string.Template(f.read()).substitute(**kw)
    with open(dest, 'w') as f:
        f.write(text)
    return dest


def endpoints_for(kind):
    if kind == 'bulk':
        return BULK_PORT, [(BACKENDS[0], BULK_PORT)]
    return HTTP_PORT, [(ip, HTTP_PORT) for ip in BACKENDS]


def nofile():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def add_tool_args(ap, rows, out_name):
    """The arguments every tool that starts the bench's proxies itself takes (tcp_syscalls.py, sched_trace.py):
    --rows (default `rows`), --only, --jar, --variant NAME=JAR and --out (bench/results/OUT_NAME-<time>)."""
    ap.add_argument('--rows', default=rows)
    ap.add_argument('--only', default='haproxy,svcproxy')
    ap.add_argument('--jar', default=os.path.join(ROOT, 'proxy-server', 'target', 'svcproxy.jar'))
    ap.add_argument('--variant', action='append', default=[], metavar='NAME=JAR')
    ap.add_argument('--out', default=os.path.join(HERE, 'results', f'{out_name}-' + time.strftime('%Y%m%d-%H%M%S')))


def tool_targets(only, jar, variants=(), transports=()):
    """The options `start_proxy` needs, and the targets, for a tool that starts the bench's proxies outside this
    harness's own run (tcp_syscalls.py, sched_trace.py): the targets of `only` (comma-separated), then
    svcproxy-NAME for each TRANSPORT of `transports` ("NAME=TRANSPORT", proxy.transport in its config) and for each
    JAR of `variants` ("NAME=JAR", another build)."""
    opts = types.SimpleNamespace(target_ips=dict(TARGET_IPS), java_opts={'svcproxy': None}, jars={}, transports={},
                                 connection_log_targets=set(), jar=os.path.abspath(jar), stream_module='')
    targets = [t for t in only.split(',') if t]
    for i, v in enumerate(transports):
        name, _, transport = v.partition('=')
        t = 'svcproxy-' + name
        opts.target_ips[t], opts.java_opts[t], opts.transports[t] = f'127.0.10.{21 + i}', None, transport
        targets.append(t)
    for i, v in enumerate(variants):
        name, _, variant_jar = v.partition('=')
        t = 'svcproxy-' + name
        opts.target_ips[t], opts.java_opts[t], opts.jars[t] = f'127.0.10.{11 + i}', None, os.path.abspath(variant_jar)
        targets.append(t)
    return opts, targets


def tool_setup(a, transports=()):
    """What a tool that starts the bench's proxies itself (tcp_syscalls.py, sched_trace.py, tcp_packets.py) needs from
    its parsed `add_tool_args` arguments: its output folder (made, with its run/ folder for the processes' files),
    that run/ folder, `start_proxy`'s options, the targets (`tool_targets`) and the rows."""
    out = os.path.abspath(a.out)
    rundir = os.path.join(out, 'run')
    os.makedirs(rundir, exist_ok=True)
    opts, targets = tool_targets(a.only, a.jar, a.variant, transports)
    return out, rundir, opts, targets, [r for r in a.rows.split(',') if r]


def tool_runs(rundir, rows, targets, opts):
    """For a tool that starts the bench's proxies itself (tcp_syscalls.py, sched_trace.py): starts the HTTP backends,
    then, for each row and each target, the proxy, and yields (procs, row, target, the proxy's process, its address);
    each proxy is stopped when the caller moves on, and everything when it ends or fails."""
    procs = Procs(rundir)
    try:
        start_backends(procs, 'http', opts)
        for row in rows:
            for target in targets:
                p = start_proxy(procs, target, 'http', opts)
                try:
                    yield procs, row, target, p, opts.target_ips[target]
                finally:
                    procs.stop(p)
    finally:
        procs.stop_all()


def write_summary(out, lines):
    """A tool's summary lines to OUT/summary.txt, whose path it prints."""
    path = os.path.join(out, 'summary.txt')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(path)


def paired_rounds(name, rows, rounds, running, measure, data, out, on_round=lambda rnd: ''):
    """A paired tool's rounds (connlog.py, ingress_pair.py): per row, `rounds` rounds, each measuring every running
    process in turn (measure(row, target) -> its figures), the order cycling through all permutations; a process that
    exited marks its figure with an error. Each round goes into data['rounds'] (with 'others_max': the most the
    rest of the machine used in any of its runs, each figure's 'others_pct_core') and, so that an interrupted run
    keeps it, OUT/NAME-results.json; on_round(round) may add fields to it and returns what to add to its log line."""
    orders = list(itertools.permutations(running))
    for row in rows:
        for i in range(rounds):
            order = orders[i % len(orders)]
            rnd = {'row': row, 'round': i, 'order': list(order)}
            for t in order:
                rnd[t] = measure(row, t)
                if running[t].poll() is not None:
                    rnd[t]['error'] = f'{t} exited with {running[t].returncode}'
            rnd['others_max'] = max(rnd[t].get('others_pct_core', 0) for t in order)
            suffix = on_round(rnd)
            data['rounds'].append(rnd)
            log(f"{name} {row} round {i + 1}/{rounds}: " + ', '.join(
                f"{t} {rnd[t].get('rps', 0):,.0f} req/s {rnd[t].get('cpu_per_10k', 0):.3f} s/10k" for t in order)
                + f"; others max {rnd['others_max']:.1f}% of a core" + suffix)
            with open(os.path.join(out, f'{name}-results.json'), 'w') as f:
                json.dump(data, f, indent=1)


def write_results(out, name, data, text):
    """A paired tool's end (connlog.py, ingress_pair.py): every figure to OUT/NAME-results.json, the report to
    OUT/NAME-report.md, and the report printed."""
    with open(os.path.join(out, f'{name}-results.json'), 'w') as f:
        json.dump(data, f, indent=1)
    with open(os.path.join(out, f'{name}-report.md'), 'w') as f:
        f.write(text)
    print(text)


def start_proxy(procs, target, kind, opts):
    if target == 'direct':
        return None
    port, eps = endpoints_for(kind)
    ip = opts.target_ips[target]
    rd = procs.rundir
    if target == 'haproxy':
        cfg = render('haproxy.cfg.tmpl', f'{rd}/haproxy-{kind}.cfg', listen=f'{ip}:{port}',
                     maxconn=max(100, (nofile() - 200) // 2),
                     servers='\n'.join(f'    server e{i + 1} {h}:{p}' for i, (h, p) in enumerate(eps)))
        p = procs.start('haproxy', ['haproxy', '-db', '-f', cfg])
    elif target == 'nginx':
        cfg = render('nginx-stream.conf.tmpl', f'{rd}/nginx-stream-{kind}.conf', listen=f'{ip}:{port}',
                     stream_module=opts.stream_module, nofile=nofile(), rundir=rd,
                     worker_connections=max(1024, nofile() - 100),
                     servers='\n'.join(f'        server {h}:{p};' for h, p in eps))
        p = procs.start('nginx-stream', ['nginx', '-e', f'{rd}/nginx-stream.error.log', '-p', rd, '-c', cfg])
    else:  # svcproxy and its variants
        proxy_extra = ''
        if target in opts.connection_log_targets:  # the connection log on, in the run's folder
            proxy_extra = f', connectionLog: {rd}/{target}-{kind}.connections.log'
        transports = getattr(opts, 'transports', {})   # bench/connlog.py and thread_cpu.py make their own opts
        if target in transports:  # proxy.transport in the config, as a user would set it
            proxy_extra += f', transport: {transports[target]}'
        cfg = render('svcproxy.yaml.tmpl', f'{rd}/{target}-{kind}.yaml', ip=ip, port=port, proxy_extra=proxy_extra,
                     endpoints='\n'.join(f'      - {{ip: {h}, port: {p}}}' for h, p in eps))
        # as users start it: the launcher, with its JVM defaults unless JAVA_OPTS replaces them
        env = dict(os.environ, SVCPROXY_JAR=opts.jars.get(target, opts.jar))
        env.pop('JAVA_OPTS', None)
        if opts.java_opts[target] is not None:
            env['JAVA_OPTS'] = opts.java_opts[target]
        p = procs.start(target, [os.path.join(ROOT, 'svcproxy'), 'run', '--config', cfg], env=env)
    wait_listen(ip, port, p)
    if kind == 'bulk':
        # the probe above went through to the iperf3 server; a proxy that connects its first connection
        # slowly (a cold JVM) keeps the server busy with it for a moment: let it finish
        time.sleep(0.5)
    return p


def start_backends(procs, kind, opts):
    rd = procs.rundir
    if kind == 'bulk':
        p = procs.start('iperf3-server', ['iperf3', '-s', '-B', BACKENDS[0], '-p', str(BULK_PORT)])
        wait_listen(BACKENDS[0], BULK_PORT, p)
        time.sleep(0.2)   # the probe connection above must be done with before a test starts
        return [p]
    if kind == 'http':
        cfg = render('nginx-http.conf.tmpl', f'{rd}/nginx-http.conf', nofile=nofile(), rundir=rd,
                     worker_connections=max(1024, nofile() - 100), body=BODY,
                     listens='\n'.join(f'        listen {ip}:{HTTP_PORT} backlog=4096;' for ip in BACKENDS))
        p = procs.start('nginx-http', ['nginx', '-e', f'{rd}/nginx-http.error.log', '-p', rd, '-c', cfg])
        for ip in BACKENDS:
            wait_listen(ip, HTTP_PORT, p)
        return [p]
    # idle: the holding backend, with its count on a control port
    argv = [PY, os.path.join(HERE, 'idle.py'), '--serve', '--control', IDLE_CONTROL, '--timeout', '3600']
    for ip in BACKENDS:
        argv += ['--backend', f'{ip}:{HTTP_PORT}']
    p = procs.start('idle-backend', argv)
    for ip in BACKENDS:
        wait_listen(ip, HTTP_PORT, p)
    wait_listen(*IDLE_CONTROL.split(':'), p)
    return [p]


# ---------------------------------------------------------------- loads

def _dur(s):
    m = re.match(r'([\d.]+)(us|ms|s|m)', s)
    v = float(m.group(1))
    return v * {'us': 1e-3, 'ms': 1.0, 's': 1e3, 'm': 60e3}[m.group(2)]


def parse_wrk(out):
    r = {}
    m = re.search(r'(\d+) requests in ([\d.]+)(\w+),', out)
    if m:
        r['requests'] = int(m.group(1))
        r['duration_s'] = _dur(m.group(2) + m.group(3)) / 1e3
    m = re.search(r'Requests/sec:\s+([\d.]+)', out)
    if m:
        r['rps'] = float(m.group(1))
    for pct in ('50', '75', '90', '99'):
        m = re.search(rf'^\s+{pct}%\s+([\d.]+\w+)', out, re.M)
        if m:
            r[f'p{pct}_ms'] = round(_dur(m.group(1)), 3)
    m = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', out)
    r['socket_errors'] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    r['non2xx'] = int(m.group(1)) if m else 0
    return r


def run_load(kind, workload, host, seconds, procs):
    if kind == 'bulk':
        streams = '4' if workload == 'bulk4' else '1'
        for attempt in range(3):
            rc, out, err = run_bounded(['iperf3', '-c', host, '-p', str(BULK_PORT), '-t', str(seconds),
                                        '-P', streams, '-J'], seconds + 20, procs)
            try:
                j = json.loads(out)
            except ValueError:
                j = {'error': (err or out or 'no output').strip()[:300]}
            if 'error' not in j:
                s = j['end']['sum_received']
                return {'gbps': s['bits_per_second'] / 1e9, 'bytes': s['bytes'],
                        'duration_s': s['seconds'],
                        'retransmits': j['end'].get('sum_sent', {}).get('retransmits')}
            log(f'  iperf3 failed ({j["error"]}); retrying')
            time.sleep(1.0)
        return {'error': j['error']}
    argv = ['wrk', '-t2', '-c64', f'-d{seconds}s', '--latency']
    if workload == 'close':
        argv += ['-H', 'Connection: close']
    argv.append(f'http://{host}:{HTTP_PORT}/')
    rc, out, err = run_bounded(argv, seconds + 20, procs)
    r = parse_wrk(out)
    if 'rps' not in r:
        r['error'] = (err or out).strip()[:300]
    return r


def kind_of(workload):
    return 'bulk' if workload.startswith('bulk') else ('idle' if workload == 'idle' else 'http')


def measure(procs, workload, target, backends, opts):
    kind = kind_of(workload)
    res = {'workload': workload, 'target': target}
    if workload == 'idle' and target == 'direct':
        return None
    t0 = time.monotonic()
    proxy = start_proxy(procs, target, 'bulk' if kind == 'bulk' else 'http', opts)
    res['startup_s'] = round(time.monotonic() - t0, 2)
    pg = proxy.pid if proxy else 0
    ours = [pg] + [b.pid for b in backends]
    host = opts.target_ips[target]
    try:
        if kind == 'idle':
            res['quiet'] = quiet_check(ours, opts.wait_quiet)
            w = CpuWindow(ours)
            cpu0 = group_cpu_ticks(pg)
            argv = [PY, os.path.join(HERE, 'idle.py'), '--target', f'{host}:{HTTP_PORT}', '--pgid', str(pg),
                    '--n', str(opts.idle_conns), '--warm', str(opts.idle_warm), '--timeout', '120',
                    '--control', IDLE_CONTROL]
            rc, out, err = run_bounded(argv, 150, procs)
            try:
                r = json.loads(out.strip().splitlines()[-1])
            except (ValueError, IndexError):
                r = {'error': (err or out).strip()[-300:]}
            res.update(r)
            res['cpu_s'] = (group_cpu_ticks(pg) - cpu0) / CLK
            res['during'] = w.end()
        else:
            # unmeasured warm-up with the same load, longer for a JVM still compiling
            res['warmup_s'], res['warmup_jit_share'], res['warmup_jit_cpu_s'] = warm_up(
                lambda s: run_load(kind, workload, host, s, procs), pg, opts.warmup, opts.jit_settle)
            time.sleep(0.3)
            res['quiet'] = quiet_check(ours, opts.wait_quiet)
            w = CpuWindow(ours)
            cpu0 = group_cpu_ticks(pg)
            loop0 = group_loop_cpu_ticks(pg)
            jit0 = group_jit_cpu_ticks(pg)
            r = run_load(kind, workload, host, opts.bulk_seconds if kind == 'bulk' else opts.http_seconds, procs)
            cpu = (group_cpu_ticks(pg) - cpu0) / CLK
            loop = (group_loop_cpu_ticks(pg) - loop0) / CLK
            res['jit_cpu_s'] = (group_jit_cpu_ticks(pg) - jit0) / CLK
            res['during'] = w.end()
            res.update(r)
            if proxy:
                res['cpu_s'] = cpu
                if 'bytes' in r and r['bytes']:
                    res['cpu_per_gb'] = cpu / (r['bytes'] / 1e9)
                if r.get('requests'):
                    res['cpu_per_10k'] = cpu / (r['requests'] / 1e4)
                res['loop_cpu_s'] = loop
                if 'bytes' in r and r['bytes']:
                    res['loop_cpu_per_gb'] = loop / (r['bytes'] / 1e9)
                if r.get('requests'):
                    res['loop_cpu_per_10k'] = loop / (r['requests'] / 1e4)
            if proxy and proxy.poll() is not None:
                res['error'] = f'{target} exited during the run with {proxy.returncode}'
        if proxy:
            res['rss_end_kib'] = group_rss_kib(pg)
    finally:
        procs.stop(proxy)
    return res


def summary_line(r):
    if r.get('error'):
        return f"ERROR {r['error']}"
    w = r['workload']
    if w.startswith('bulk'):
        s = f"{r['gbps']:.2f} Gbit/s"
    elif w == 'idle':
        s = (f"{r.get('rss_per_conn_kib')} KiB/conn (RSS {r.get('rss_before_kib', 0) / 1024:.1f} -> "
             f"{r.get('rss_held_kib', 0) / 1024:.1f} -> {r.get('rss_closed_kib', 0) / 1024:.1f} MiB)")
    else:
        s = f"{r['rps']:,.0f} req/s p50 {r.get('p50_ms')} ms"
        if r.get('socket_errors') or r.get('non2xx'):
            s += f" (socket errors {r['socket_errors']}, non-2xx {r['non2xx']})"
    if 'cpu_s' in r:
        s += f", proxy CPU {r['cpu_s']:.2f} s"
        if r.get('warmup_jit_share') is not None:
            s += (f" (JIT {r.get('jit_cpu_s', 0):.2f} s; warm-up {r['warmup_s']} s, its JIT "
                  f"{r.get('warmup_jit_cpu_s', 0):.1f} s, {r['warmup_jit_share']:.0%} at its end)")
    q, d = r.get('quiet', {}), r.get('during', {})
    s += f"; others: {q.get('other_pct_core')}% of a core before, {d.get('other_pct_core')}% during"
    if q.get('waited_s'):
        s += f" (waited {q['waited_s']} s for a quiet machine)"
    return s


# ---------------------------------------------------------------- report

ROWS = [  # (key, workload, field, label, higher_is_better, fmt, charted)
    ('bulk1', 'bulk1', 'gbps', 'bulk, iperf3, 1 stream, Gbit/s', True, '{:.2f}', True),
    ('bulk4', 'bulk4', 'gbps', 'bulk, iperf3, 4 streams, Gbit/s', True, '{:.2f}', True),
    ('http', 'http', 'rps', 'keep-alive HTTP (wrk -t2 -c64), req/s', True, '{:,.0f}', True),
    ('close', 'close', 'rps', 'new connection per request (Connection: close), conn/s', True, '{:,.0f}', True),
    ('rss', 'idle', 'rss_per_conn_kib', 'RSS per idle proxied connection (N held), KiB', False, '{:.2f}', True),
    ('cpugb', 'bulk1', 'cpu_per_gb', 'proxy CPU per GB (bulk, 1 stream), s', False, '{:.2f}', True),
    ('cpuka', 'http', 'cpu_per_10k', 'proxy CPU per 10k keep-alive requests, s', False, '{:.3f}', True),
    ('cpunc', 'close', 'cpu_per_10k', 'proxy CPU per 10k new connections, s', False, '{:.3f}', True),
    # informative rows, not charted
    ('cpugb4', 'bulk4', 'cpu_per_gb', 'proxy CPU per GB (bulk, 4 streams), s', False, '{:.2f}', False),
    ('loopgb', 'bulk1', 'loop_cpu_per_gb', 'event-loop CPU per GB (bulk, 1 stream; JVM: no JIT/GC threads), s',
     False, '{:.2f}', False),
    ('loopka', 'http', 'loop_cpu_per_10k', 'event-loop CPU per 10k keep-alive requests (JVM: no JIT/GC threads), s',
     False, '{:.3f}', False),
    ('loopnc', 'close', 'loop_cpu_per_10k', 'event-loop CPU per 10k new connections (JVM: no JIT/GC threads), s',
     False, '{:.3f}', False),
    ('p50ka', 'http', 'p50_ms', 'keep-alive HTTP latency p50, ms', False, '{:.3f}', False),
    ('p99ka', 'http', 'p99_ms', 'keep-alive HTTP latency p99, ms (closed loop: mostly queueing)', False, '{:.2f}', False),
    ('rssbase', 'idle', 'rss_before_mib', 'proxy RSS before the idle connections, MiB', False, '{:.1f}', False),
    ('rssclosed', 'idle', 'rss_closed_mib', 'proxy RSS after they all closed, MiB', False, '{:.1f}', False),
]
CHART_LABELS = {'bulk1': 'bulk 1 stream', 'bulk4': 'bulk 4 streams', 'http': 'keep-alive req/s',
                'close': 'new conn/s', 'rss': 'RSS per idle conn', 'cpugb': 'CPU per GB',
                'cpuka': 'CPU per 10k req', 'cpunc': 'CPU per 10k conn'}


def values(results, workload, target, field):
    out = []
    for r in results:
        if r and r['workload'] == workload and r['target'] == target and not r.get('error'):
            v = r.get(field)
            if field == 'rss_before_mib' and 'rss_before_kib' in r:
                v = r['rss_before_kib'] / 1024
            if field == 'rss_closed_mib' and 'rss_closed_kib' in r:
                v = r['rss_closed_kib'] / 1024
            if v is not None:
                out.append(v)
    return out


def values_by_rep(results, workload, target, field):
    """{repetition: value} of one target's row (each repetition measures every target once, in rotated order)."""
    out = {}
    for r in results:
        if r and r['workload'] == workload and r['target'] == target and not r.get('error') and 'rep' in r:
            v = values([r], workload, target, field)
            if v:
                out[r['rep']] = v[0]
    return out


def pair_ratios(pairs, higher):
    """Each repetition's ratio of a target to its peer measured in the same repetition, > 1 better: on a machine
    that drifts during a run, these compare figures taken minutes apart, not the medians of different moments."""
    return [(mine / peer if higher else peer / mine) for mine, peer in pairs if mine > 0 and peer > 0]


def run_order_ratios(res, matches, target, peer, field, higher):
    """pair_ratios of two targets' measurements of a harness that stores them in run order without a repetition
    number (each repetition measures every target once): the i-th of each is repetition i, a failed one included,
    so that a failure leaves its repetition out instead of shifting the pairs after it."""
    mine = [r for r in res if r['target'] == target and matches(r)]
    theirs = [r for r in res if r['target'] == peer and matches(r)]
    return pair_ratios([(a.get(field) or 0, b.get(field) or 0) for a, b in zip(mine, theirs)
                        if not a.get('error') and not b.get('error')], higher)


def fmt_paired(ratios):
    if not ratios:
        return '–'
    if len(ratios) == 1:
        return f'{ratios[0]:.2f}'
    return f'{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})'


def table_data(data):
    results = data['results']
    targets = data['meta']['targets']
    rows = []
    for key, wl, field, label, higher, fmt, charted in ROWS:
        if wl not in data['meta']['workloads']:
            continue
        label = label.replace('(N held)', f"({data['meta']['idle_conns']:,} held)")
        cells, meds = {}, {}
        for t in targets:
            v = values(results, wl, t, field)
            if v:
                meds[t] = statistics.median(v)
                cells[t] = (meds[t], min(v), max(v), len(v))
        if not cells:
            continue
        ratios, paired = {}, {}
        if 'haproxy' in meds and meds['haproxy'] > 0:
            peer = values_by_rep(results, wl, 'haproxy', field)
            for t, m in meds.items():
                if m > 0:   # a negative RSS growth (a JVM's GC shrank the heap) has no meaningful ratio
                    ratios[t] = m / meds['haproxy'] if higher else meds['haproxy'] / m
                mine = values_by_rep(results, wl, t, field)
                paired[t] = pair_ratios([(mine[i], peer[i]) for i in sorted(mine) if i in peer], higher)
        rows.append({'key': key, 'label': label, 'higher': higher, 'fmt': fmt, 'charted': charted,
                     'cells': cells, 'ratios': ratios, 'paired': paired})
    return rows


def fmt_cell(row, t):
    if t not in row['cells']:
        return '–'
    med, lo, hi, n = row['cells'][t]
    f = row['fmt']
    s = f.format(med)
    if n > 1:
        s += f' ({f.format(lo)}–{f.format(hi)})'
    if t in row['ratios'] and t != 'haproxy':
        s += f" **{row['ratios'][t]:.2f}×**"
    return s


def quietness(results):
    before = [r['quiet']['other_pct_core'] for r in results if r and r.get('quiet')]
    idle = [r['quiet']['idle_pct'] for r in results if r and r.get('quiet') and r['quiet'].get('idle_pct') is not None]
    during = [r['during']['other_pct_core'] for r in results if r and r.get('during')]
    disturbed = [f"{r['workload']}/{r['target']} rep {r['rep'] + 1} ({r['during']['other_pct_core']}%)"
                 for r in results if r and r.get('during') and r['during']['other_pct_core'] > QUIET_THRESHOLD]
    return before, idle, during, disturbed


def write_report(out_dir, data):
    meta = data['meta']
    targets = meta['targets']
    rows = table_data(data)
    names = {'direct': 'direct', 'haproxy': f"HAProxy {meta['versions'].get('haproxy', '')}".strip(),
             'nginx': f"nginx {meta['versions'].get('nginx', '')} stream".strip(), 'svcproxy': 'svcproxy'}
    L = []
    L.append(f"# svcproxy vs HAProxy vs nginx — {meta['started']}")
    L.append('')
    L.append(f"{meta['host']['cpus']} CPUs ({meta['host']['cpu_model']}), kernel {meta['host']['kernel']}, loopback; "
             f"{meta['reps']} repetition(s), target order rotated; each figure is the median (min–max) of the "
             f"repetitions, **bold** = ratio to HAProxy in this run. Throughput rows: ratio = target / HAProxy. "
             f"CPU and RSS rows are lower-is-better and their ratio is HAProxy / target, so **> 1 is better "
             f"than HAProxy on every row**.")
    L.append('')
    L.append('| figure | ' + ' | '.join(names.get(t, t) for t in targets) + ' |')
    L.append('| --- | ' + ' | '.join('---:' for _ in targets) + ' |')
    for row in rows:
        lab = row['label'] + ('' if row['higher'] else ' (lower is better)')
        if not row['charted']:
            lab = f'_{lab}_'
        L.append(f'| {lab} | ' + ' | '.join(fmt_cell(row, t) for t in targets) + ' |')
    L.append('')
    L.append('Rows in italics are for information (not part of the goal).')
    L.append('')
    L.append('## Every row: svcproxy against its peer (ratio > 1 is better than the peer)')
    L.append('')
    L.append(summary(data, out_dir))
    L.append('')
    before, idle, during, disturbed = quietness(data['results'])
    L.append('## How quiet the machine was')
    L.append('')
    if before:
        L.append(f"Before each measurement (1 s, after the warm-up, our own processes excluded): other processes "
                 f"used median {statistics.median(before):.1f}% / max {max(before):.1f}% of one core; the machine "
                 f"was median {statistics.median(idle):.1f}% / min {min(idle):.1f}% idle (with the target proxy "
                 f"already started and idle). During the measured runs the others used median "
                 f"{statistics.median(during):.1f}% / max {max(during):.1f}% of one core "
                 f"(threshold {QUIET_THRESHOLD:.0f}%).")
        L.append('')
        if disturbed:
            L.append(f"Disturbed measurements (others above {QUIET_THRESHOLD:.0f}% of a core during the run): "
                     + ', '.join(disturbed) + '.')
        else:
            L.append('No measurement was disturbed above the threshold.')
    L.append('')
    L.append('## Setup')
    L.append('')
    m = meta
    L.append(f"- Backends {', '.join(BACKENDS)}; bulk: `iperf3 -s` on {BACKENDS[0]}:{BULK_PORT} as the one endpoint "
             f"(each proxy on its address, port {BULK_PORT}); `iperf3 -c -t {m['bulk_seconds']} -P 1` and `-P 4`. "
             f"HTTP: one nginx on both endpoints :{HTTP_PORT} (`return 200`, 100-byte body, "
             f"`keepalive_requests 1000000`); `wrk -t2 -c64 -d{m['http_seconds']}s --latency`, and with "
             f"`-H 'Connection: close'`. Idle: {m['idle_conns']:,} connections held by a python asyncio backend, "
             f"after a warm-up of {m['idle_warm']}; RSS = VmRSS summed over the proxy's processes.")
    L.append(f"- Targets: direct = {TARGET_IPS['direct']}; HAProxy {m['target_ips'].get('haproxy')} (mode tcp, "
             f"roundrobin, nbthread 2, maxconn from the fd limit, no checks, no log); nginx stream "
             f"{m['target_ips'].get('nginx')} (worker_processes auto); svcproxy {m['target_ips'].get('svcproxy')} "
             f"(plain config: one Service, rr, admin off).")
    for t in targets:
        if t in m['java_opts']:
            jo = m['java_opts'][t]
            how = 'the launcher\'s JVM defaults' if jo is None else f'`JAVA_OPTS={jo}`'
            sha = m.get('jar_sha256_of', {}).get(t, m['jar_sha256'])
            L.append(f"- {t}: `./svcproxy run --config FILE` with {how}, jar sha256 {sha[:12]}, "
                     f"git {m['git']}.")
    L.append(f"- Every target restarted for each measurement (start-up not measured), then an unmeasured "
             f"{m['warmup']} s warm-up of the same load; a JVM target's warm-up goes on in 2 s steps while its JIT "
             f"compiler threads took over 5% of its CPU in the last step, up to {m.get('jit_settle', 0):.0f} s more "
             f"(its steady state: a long-running proxy is measured, not a compiling one; the seconds each took and "
             f"the compilers' CPU in the measured window are in results.json as warmup_s and jit_cpu_s). "
             f"Proxy CPU = utime+stime of all its processes (/proc/PID/stat); GB = 10^9 bytes received by iperf3.")
    tw = {'1': ' (reuse of TIME_WAIT ports on)', '2': ' (reuse of TIME_WAIT ports on loopback)'}.get(m['tcp_tw_reuse'], '')
    L.append(f"- fd limit {m['nofile']}; net.ipv4.tcp_tw_reuse = {m['tcp_tw_reuse']}{tw}. Tools: "
             + ', '.join(f'{k} {v}' for k, v in m['versions'].items()) + '.')
    L.append(f"- Run took {m.get('elapsed_s', 0) / 60:.1f} min, of which {m.get('waited_quiet_s', 0):.0f} s waiting for a "
             f"quiet machine (--wait-quiet {m.get('wait_quiet', 0):.0f} s per measurement, "
             f"--wait-budget {m.get('wait_budget', 0):.0f} s). Raw figures: results.json.")
    errs = [r for r in data['results'] if r and r.get('error')]
    if errs:
        L.append('')
        L.append('## Errors')
        for r in errs:
            L.append(f"- {r['workload']}/{r['target']} rep {r['rep'] + 1}: {r['error']}")
    L.append('')
    L.append('![svcproxy / HAProxy](ratios.png)')
    with open(os.path.join(out_dir, 'report.md'), 'w') as f:
        f.write('\n'.join(L) + '\n')
    chart(out_dir, rows, targets)


def chart(out_dir, rows, targets):
    series = [t for t in targets if t not in ('haproxy', 'direct')]
    rows = [r for r in rows if r['charted'] and any(t in r['ratios'] for t in series)]
    if not rows or not series or not shutil.which('gnuplot'):
        log('no chart: needs HAProxy, another proxy and gnuplot')
        return
    dat = os.path.join(out_dir, 'ratios.dat')
    with open(dat, 'w') as f:
        f.write('# label ' + ' '.join(series) + '\n')
        for r in rows:
            f.write(f'"{CHART_LABELS[r["key"]]}" ' + ' '.join(
                f"{r['ratios'][t]:.3f}" if t in r['ratios'] else 'NaN' for t in series) + '\n')
    colours = {'svcproxy': '#1f77b4', 'nginx': '#b0b0b0'}
    extra = iter(['#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'])
    plots = []
    n = len(series)
    for i, t in enumerate(series):
        c = colours.get(t) or next(extra, '#7f7f7f')
        plots.append(f"'{dat}' using {i + 2}:xtic(1) title '{t} / HAProxy' lc rgb '{c}'")
    labels = []
    for i, t in enumerate(series):
        off = (i - (n - 1) / 2) / (n + 1)   # box centres of a clustered histogram with gap 1
        labels.append(f"'{dat}' using ($0+{off:.3f}):{i + 2}:(sprintf('%.2f',${i + 2})) with labels "
                      f"offset 0,0.7 font ',9' notitle")
    script = f"""
set terminal pngcairo size 1000,520 font ',11' noenhanced
set output '{os.path.join(out_dir, 'ratios.png')}'
set title 'Ratio to HAProxy, same run (> 1 = better than HAProxy; CPU and RSS rows: HAProxy / target)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set yrange [0:*]
set xrange [-0.6:{len(rows) - 0.4}]
set bmargin 5
set grid ytics
set key outside top center horizontal
set xtics rotate by -25 left
set ylabel 'ratio to HAProxy'
set datafile missing 'NaN'
plot {', '.join(plots)}, {', '.join(labels)}, 1 with lines lc rgb 'red' lw 2 dt 2 title 'HAProxy = 1.0'
"""
    try:
        subprocess.run(['gnuplot'], input=script, text=True, check=True, timeout=30, capture_output=True)
    except (subprocess.SubprocessError, OSError) as e:
        log(f'gnuplot failed: {e} {getattr(e, "stderr", "")}')


# ---------------------------------------------------------------- main

def svcproxy_java():
    """The java command the launcher runs svcproxy with (./svcproxy's rule): SVCPROXY_JAVA when set, else
    $JAVA_HOME/bin/java, else `java` on PATH - so results.json names the runtime measured, not PATH's java."""
    home = os.environ.get('JAVA_HOME')
    return os.environ.get('SVCPROXY_JAVA') or (os.path.join(home, 'bin', 'java') if home else 'java')


def versions():
    v = {}

    def cmd(argv):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return p.stdout + p.stderr
        except (OSError, subprocess.SubprocessError):
            return ''
    m = re.search(r'HAProxy version (\S+)', cmd(['haproxy', '-v']))
    v['haproxy'] = m.group(1) if m else '?'
    m = re.search(r'nginx/(\S+)', cmd(['nginx', '-v']))
    v['nginx'] = m.group(1) if m else '?'
    m = re.search(r'iperf (\S+)', cmd(['iperf3', '--version']))
    v['iperf3'] = m.group(1) if m else '?'
    m = re.search(r'wrk (\S+)', cmd(['wrk', '-v']))
    v['wrk'] = m.group(1) if m else '?'
    m = re.search(r'version "([^"]+)"', cmd([svcproxy_java(), '-version']))
    v['java'] = m.group(1) if m else '?'
    return v


def host_info():
    model = '?'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return {'cpus': NCPU, 'cpu_model': model, 'kernel': os.uname().release,
            'mem_gib': round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30, 1)}


def extra_args(w, opts, out_dir):
    if w == 'udp':
        secs = 3 if opts.quick else 10
        flows = 2000 if opts.quick else max(1000, min(15_000, nofile() - 2000))
        return ['--reps', str(opts.reps), '--seconds', str(secs), '--flows', str(flows),
                '--warmup', str(opts.warmup), '--jit-settle', str(opts.jit_settle),
                '--out', os.path.join(out_dir, 'udp')]
    if w == 'startup':   # the launcher with this run's jar (SVCPROXY_JAR), its own starts, not the repetitions
        return ['-n', '3' if opts.quick else '7', '--settle', '5',
                '--json', results_path(out_dir, 'startup')]
    if w == 'connlog':   # its own rounds (paired, interleaved), not the run's repetitions
        return (['--quick'] if opts.quick else []) + ['--jar', opts.jar, '--out', os.path.join(out_dir, 'connlog')]
    if w == 'pair-tcp':   # two svcproxy processes and HAProxy side by side, measured in turn (bench/connlog.py)
        return (['--quick'] if opts.quick else ['--warmup', str(PAIR_WARMUP_S)]) + [
            '--peer', 'haproxy', '--rows', PAIR_TCP_ROWS, '--jar', opts.jar, '--out', os.path.join(out_dir, w)]
    if w == 'pair-ingress':   # the same for the Ingress rows against HAProxy mode http (bench/ingress_pair.py)
        return (['--rounds', '3', '--seconds', '2', '--warmup', '5'] if opts.quick
                else ['--rounds', '12', '--warmup', str(PAIR_WARMUP_S)]) + [
            '--peer', 'haproxy', '--rows', PAIR_INGRESS_ROWS, '--jar', opts.jar, '--out', os.path.join(out_dir, w)]
    secs, warm = (3, 3) if opts.quick else (6, 8)
    return ['--reps', str(opts.reps), '--seconds', str(secs), '--warmup', str(warm), '--jit-settle',
            str(opts.jit_settle), '--jar', opts.jar, '--out', os.path.join(out_dir, 'ingress')]


def extra_estimate(w, opts):
    if w == 'startup':   # a first start (the archive), then each: ~0.5 s to listen, 5 s settled, the stop
        return (4 if opts.quick else 8) * 7 + 10
    if w == 'connlog':   # 3 processes x 2 rows: warm-ups, then rounds of 3 runs of (settle 1 s + 3 s + 0.5 s)
        return 20 + 6 * 3 + 2 * 3 * 3 * 3.5 if opts.quick else 20 + 6 * 6 + 2 * 12 * 3 * 4.5
    if w == 'pair-tcp':   # the same, each process warmed up 30 s per row
        return 20 + 6 * 3 + 2 * 3 * 3 * 3.5 if opts.quick else 20 + 6 * PAIR_WARMUP_S + 2 * 12 * 3 * 4.5
    if w == 'pair-ingress':   # 2 svcproxy processes warmed up per row (then up to 30 s while the JIT settles),
        return (20 + 2 * 3 * 5 + 2 * 3 * 3 * 3.5 if opts.quick   # HAProxy 5 s; rounds of 3 x (1 s + 5 s + ~0.5 s)
                else 20 + 2 * (2 * (PAIR_WARMUP_S + 15) + 5) + 2 * 12 * 3 * 6.5)
    if w == 'udp':
        return opts.reps * 3 * ((3 if opts.quick else 10) + opts.warmup + 4) + 40
    return opts.reps * 3 * 3 * ((6 if opts.quick else 14) + 3) + opts.reps * 3 * min(opts.jit_settle, 12)


# where each extra workload's harness writes its figures, under OUT/<workload>/
EXTRA_RESULTS = {'udp': 'udp-results.json', 'ingress': 'ingress-results.json', 'connlog': 'connlog-results.json',
                 'startup': 'startup-results.json', 'pair-tcp': 'connlog-results.json',
                 'pair-ingress': 'ingress-pair-results.json'}
PAIR_ROWS = {'pair-tcp': PAIR_TCP_ROWS, 'pair-ingress': PAIR_INGRESS_ROWS}


def results_path(out_dir, w):
    """Where extra workload `w`'s harness writes its figures in a run's folder."""
    return os.path.join(out_dir, w, EXTRA_RESULTS[w])


def run_extras(opts, out_dir, procs):
    for w in opts.workloads:
        if w not in EXTRA_WORKLOADS:
            continue
        argv = [PY, os.path.join(HERE, EXTRA_WORKLOADS[w]), *extra_args(w, opts, out_dir)]
        os.makedirs(os.path.join(out_dir, w), exist_ok=True)
        failed = os.path.join(out_dir, 'run', f'{w}.failed')
        for stale in (failed, results_path(out_dir, w)):   # a reused --out: only this run's
            if os.path.exists(stale):
                os.remove(stale)
        log(f'{w} rows: {" ".join(argv[1:])}')
        rc, out, err = run_bounded(argv, extra_estimate(w, opts) * 3 + 120, procs)
        with open(os.path.join(out_dir, 'run', f'{w}.out'), 'w') as f:
            f.write(out + '\n' + err)
        why = f'rc {rc}: ' + (err.strip().splitlines() or ['no message'])[-1][-300:] if rc != 0 else None
        if why is None and w in PAIR_ROWS:   # a harness that ran but got no usable round of a row drops it
            lost = missing_pair_rows(w, out_dir)
            why = f'no usable rounds of {", ".join(lost)} (see run/{w}.out)' if lost else None
        if why:
            log(f'{w} rows failed: {why}')
            with open(failed, 'w') as f:   # the summary names it: a missing row is never silent
                f.write(why)


def missing_pair_rows(w, out_dir):
    """The rows a pair-* workload was asked for that its results have no summary of."""
    path = results_path(out_dir, w)
    try:
        with open(path) as f:
            have = json.load(f).get('summary', {})
    except (OSError, ValueError):
        have = {}
    return [r for r in PAIR_ROWS[w].split(',') if r not in have]


def failed_extras(out_dir, workloads):
    """The extra workloads of this run whose harness failed, with why (run_extras)."""
    out = []
    for w in workloads:
        path = os.path.join(out_dir, 'run', f'{w}.failed')
        if w in EXTRA_WORKLOADS and os.path.exists(path):
            with open(path) as f:
                out.append(f'{w} ({f.read().strip()})')
    return out


def extra_rows(out_dir):
    """The UDP and Ingress rows of the summary, from their harnesses' results, if they ran."""
    rows = []
    udp = results_path(out_dir, 'udp')
    if os.path.exists(udp):
        with open(udp) as f:
            res = json.load(f)['rows']
        med = {}
        for t in ('nginx', 'svcproxy'):
            q = [r['qps'] for r in res if r['target'] == t and r.get('qps')]
            c = [r['cpu_us_per_query'] for r in res if r['target'] == t and r.get('cpu_us_per_query')]
            if q and c:
                med[t] = (statistics.median(q), statistics.median(c))
        if len(med) == 2:
            every = lambda r: True  # noqa: E731
            rows.append(('UDP DNS (dnsperf), queries/s', 'nginx', f"{med['nginx'][0]:,.0f}",
                         f"{med['svcproxy'][0]:,.0f}", med['svcproxy'][0] / med['nginx'][0],
                         run_order_ratios(res, every, 'svcproxy', 'nginx', 'qps', True)))
            rows.append(('UDP DNS, proxy CPU per query, µs', 'nginx', f"{med['nginx'][1]:.1f}",
                         f"{med['svcproxy'][1]:.1f}", med['nginx'][1] / med['svcproxy'][1],
                         run_order_ratios(res, every, 'svcproxy', 'nginx', 'cpu_us_per_query', False)))
    ing = results_path(out_dir, 'ingress')
    if os.path.exists(ing):
        with open(ing) as f:
            res = json.load(f)['results']
        for row in sorted({r['row'] for r in res}, key=lambda x: ['http', 'close', 'h2'].index(x)
                          if x in ('http', 'close', 'h2') else 9):
            med = {}
            for t in ('haproxy', 'svcproxy'):
                ok = [r for r in res if r['row'] == row and r['target'] == t and not r.get('error') and r.get('rps')]
                if ok:
                    med[t] = (statistics.median(r['rps'] for r in ok),
                              statistics.median(r.get('cpu_per_10k', 0) for r in ok))
            if len(med) == 2:
                of_row = lambda r, row=row: r['row'] == row  # noqa: E731
                rows.append((f'Ingress {row}, req/s', 'HAProxy', f"{med['haproxy'][0]:,.0f}",
                             f"{med['svcproxy'][0]:,.0f}", med['svcproxy'][0] / med['haproxy'][0],
                             run_order_ratios(res, of_row, 'svcproxy', 'haproxy', 'rps', True)))
                if med['svcproxy'][1] > 0:
                    rows.append((f'Ingress {row}, proxy CPU per 10k requests, s', 'HAProxy',
                                 f"{med['haproxy'][1]:.3f}", f"{med['svcproxy'][1]:.3f}",
                                 med['haproxy'][1] / med['svcproxy'][1],
                                 run_order_ratios(res, of_row, 'svcproxy', 'haproxy', 'cpu_per_10k', False)))
    rows.extend(connlog_rows(out_dir))
    rows.extend(startup_rows(out_dir))
    rows.extend(pair_rows(out_dir))
    return rows


PAIR_LABELS = {   # (workload, row): the row's name, its rate's unit, what its CPU is counted per
    ('pair-tcp', 'http'): ('TCP keep-alive', 'req/s', 'requests'),
    ('pair-tcp', 'close'): ('TCP new connection per request', 'conn/s', 'new connections'),
    ('pair-ingress', 'http'): ('Ingress keep-alive', 'req/s', 'requests'),
    ('pair-ingress', 'h2'): ('Ingress h2', 'req/s', 'requests')}


def pair_rows(out_dir):
    """The pair-* workloads' rows: svcproxy ÷ HAProxy over paired rounds (> 1 better, each tool's `against_peer`),
    with the interval as the row's spread and its verdict from the interval (connlog.verdict at the table's two
    decimals, as the unpaired rows' ratio): at or above, below (the whole 95% interval under 1), within spread
    otherwise. Each row is a 7-tuple: the summary's six fields and that verdict."""
    import connlog   # noqa: E402  (both import this module)
    import ingress_pair   # noqa: E402
    # per workload: its tool's against_peer, svcproxy's two processes and the peer in its summary's medians
    tools = {'pair-tcp': (connlog.against_peer, ('off-a', 'off-b'), 'on'),
             'pair-ingress': (ingress_pair.against_peer, ('a', 'a2'), 'b')}
    words = {'below': '**below**', 'within the interval': 'within spread'}
    rows = []
    for w, (against_peer, ours, peer) in tools.items():
        path = results_path(out_dir, w)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            summ = json.load(f).get('summary', {})
        for row, ivals in against_peer(summ).items():
            s = summ[row]
            what, rate, per = PAIR_LABELS.get((w, row), (f'{w} {row}', 'req/s', 'requests'))
            for field, label, fmt in (('rps', rate, '{:,.0f}'), ('cpu_per_10k', f'proxy CPU per 10k {per}, s',
                                                                   '{:.3f}')):
                i, med = ivals[field], s[field]['median']
                ci = i.get('ci95')
                text = (f"{what}, {label}, paired with HAProxy ({s['rounds']} rounds; 95% CI "
                        + (f"{ci[0]:.3f}-{ci[1]:.3f})" if ci else 'none)'))
                v = connlog.verdict(i, places=2)
                svcproxy = math.sqrt(med[ours[0]] * med[ours[1]])   # the geometric mean of its two processes
                rows.append((text, 'HAProxy', fmt.format(med[peer]), fmt.format(svcproxy), i['geomean'], None,
                             words.get(v, v)))
    return rows


def startup_rows(out_dir):
    """Issue 15's start-up goals as rows whose peer is the goal: the goal over svcproxy's figure (> 1 better), and
    per start, so that the verdict reads `within spread` when some starts meet it (bench/startup.py)."""
    path = results_path(out_dir, 'startup')
    if not os.path.exists(path):
        return []
    with open(path) as f:
        starts = json.load(f)['results'].get('default', [])
    rows = []
    for field, label, goal, fmt in (('listen_s', 'time from the launcher\'s start to listening, s', STARTUP_GOAL_S,
                                     '{:.3f}'),
                                    ('rss_mib', 'RSS with no connection (5 s after listening), MiB',
                                     STARTUP_GOAL_RSS_MIB, '{:.1f}')):
        v = [r[field] for r in starts if r.get(field)]
        if v:
            m = statistics.median(v)
            rows.append((f'{label} ({len(v)} starts)', 'goal', fmt.format(goal), fmt.format(m), goal / m,
                         [goal / x for x in v]))
    return rows


def connlog_rows(out_dir):
    """The connection log's rows: log on against log off, paired by round (bench/connlog.py)."""
    path = results_path(out_dir, 'connlog')
    if not os.path.exists(path):
        return []
    with open(path) as f:
        summ = json.load(f).get('summary', {})
    rows = []
    for row, rate, cpu in (('http', 'keep-alive req/s', 'proxy CPU per 10k keep-alive requests, s'),
                           ('close', 'new conn/s', 'proxy CPU per 10k new connections, s')):
        s = summ.get(row)
        if not s:
            continue
        for field, label, fmt, higher in (('rps', rate, '{:,.0f}', True), ('cpu_per_10k', cpu, '{:.3f}', False)):
            f = s[field]
            off = math.sqrt(f['median']['off-a'] * f['median']['off-b'])
            on_off, same = f['on_off'], f['offb_offa']
            ci = on_off.get('ci95')
            ratio = on_off['geomean'] if higher else 1 / on_off['geomean']
            text = (f"connection log on, {label} ({s['rounds']} paired rounds; on ÷ off "
                    + (f"95% CI {ci[0]:.3f}-{ci[1]:.3f}" if ci else f"{on_off['geomean']:.3f}")
                    + (f", same jar off ÷ off {same['ci95'][0]:.3f}-{same['ci95'][1]:.3f}" if 'ci95' in same else '')
                    + ')')
            rows.append((text, LOG_OFF_PEER, fmt.format(off), fmt.format(f['median']['on']), ratio, None))
    return rows


def verdict(ratio, paired):
    """Issue 15's reading of one row: at or above the peer (the row's ratio >= 1), within the run's spread (below
    by the ratio, but at or above in at least one repetition), or below (below in every repetition)."""
    if ratio is None:
        return '–'
    if round(ratio, 2) >= 1.0:
        return 'at or above'
    if paired and round(max(paired), 2) >= 1.0:
        return 'within spread'
    return '**below**'


def summary(data, out_dir):
    """One table: every row's ratio of svcproxy to its peer (HAProxy; nginx for UDP), > 1 better, and each row's
    verdict against the goal (>= 1.00, allowing the run's own spread; a paired row's spread is its interval),
    then the rows below in every repetition."""
    rows = table_data(data)
    svc = [t for t in data['meta']['targets'] if t.startswith('svcproxy')]
    L = ['| row | peer | peer\'s figure | ' + ' | '.join(svc) + ' | ' + ' | '.join(f'{t} ÷ peer' for t in svc)
         + ' | ' + ' | '.join(f'{t} ÷ peer by repetition: median (min–max)' for t in svc) + ' | '
         + ' | '.join(f'{t}: goal (≥ 1.00, allowing the spread)' for t in svc) + ' |',
         '| --- | --- | ---: | ' + ' | '.join('---:' for _ in range(3 * len(svc))) + ' | '
         + ' | '.join('---' for _ in svc) + ' |']
    below = []
    for row in rows:
        if not row['charted'] or 'haproxy' not in row['cells']:
            continue
        f = row['fmt']
        verdicts = [verdict(row['ratios'].get(t), row['paired'].get(t)) for t in svc]
        below += [f"{row['label']} ({t})" for t, v in zip(svc, verdicts) if v == '**below**']
        L.append(f"| {row['label']} | HAProxy | {f.format(row['cells']['haproxy'][0])} | "
                 + ' | '.join(f.format(row['cells'][t][0]) if t in row['cells'] else '–' for t in svc) + ' | '
                 + ' | '.join(f"**{row['ratios'][t]:.2f}**" if t in row['ratios'] else '–' for t in svc) + ' | '
                 + ' | '.join(fmt_paired(row['paired'].get(t)) for t in svc) + ' | ' + ' | '.join(verdicts) + ' |')
    for label, peer, pv, sv, ratio, paired, *own in extra_rows(out_dir):
        v = own[0] if own else verdict(ratio, paired) if peer != LOG_OFF_PEER else '–'
        if v == '**below**':
            below.append(label)
        L.append(f'| {label} | {peer} | {pv} | {sv}' + ' | –' * (len(svc) - 1) + f' | **{ratio:.2f}**'
                 + ' | –' * (len(svc) - 1) + f' | {fmt_paired(paired)}' + ' | –' * (len(svc) - 1)
                 + f' | {v}' + ' | –' * (len(svc) - 1) + ' |')
    L.append('')
    L.append('Below the peer in every repetition (a paired row: over its whole 95% interval): '
             + ('; '.join(below) if below else 'no row') + '.')
    failed = failed_extras(out_dir, data['meta'].get('workloads', []))
    if failed:
        L.append('')
        L.append('**Rows missing: these workloads failed**: ' + '; '.join(failed) + '.')
    return '\n'.join(L)


def estimate(opts):
    per = {'bulk': 1.0 + opts.warmup + 0.5 + 1.2 + opts.bulk_seconds + 0.6,
           'http': 1.0 + opts.warmup + 0.3 + 1.2 + opts.http_seconds + 0.3,
           'idle': 1.0 + 1.2 + 3 * 1.0 + opts.idle_conns / 1500 + 1.0}
    total = 0.0
    for w in opts.workloads:
        if w in EXTRA_WORKLOADS:
            total += extra_estimate(w, opts) / opts.reps
            continue
        k = kind_of(w)
        for t in opts.targets:
            if w == 'idle' and t == 'direct':
                continue
            total += per[k] + (1.5 + (min(opts.jit_settle, 12) if k != 'idle' else 0)
                               if t.startswith('svcproxy') else 0)
        total += 1.0
    return total * opts.reps


def main():
    ap = argparse.ArgumentParser(description='svcproxy vs HAProxy vs nginx on loopback (see bench/README.md)')
    ap.add_argument('--reps', type=int, default=3, help='repetitions (default 3)')
    ap.add_argument('--jit-settle', type=settle_seconds, default=30.0, metavar='S',
                    help='after the fixed warm-up, up to S seconds more of the same load while the JIT compiler '
                         "threads took over 5%% of a JVM target's CPU in the last 2 s (0: the fixed warm-up only; "
                         'default 30, 0 with --quick)')
    ap.add_argument('--quick', action='store_true', help='smoke test: 1 rep, shorter runs')
    ap.add_argument('--only', default=','.join(TARGET_ORDER), help='targets, comma-separated')
    ap.add_argument('--workloads', default=','.join(WORKLOADS), help='rows: ' + ','.join(WORKLOADS))
    ap.add_argument('--out', help='output directory (default bench/results/<timestamp>)')
    ap.add_argument('--wait-quiet', type=float, default=15.0,
                    help='seconds to wait for a quiet machine before each measurement (0: warn only)')
    ap.add_argument('--wait-budget', type=float, default=120.0,
                    help='seconds of waiting for a quiet machine in the whole run, at most (default 120)')
    ap.add_argument('--svcproxy-variant', action='append', default=[], metavar='NAME=JAVA_OPTS',
                    help='also run svcproxy with other JVM options, as target svcproxy-NAME (repeatable)')
    ap.add_argument('--svcproxy-jar', action='append', default=[], metavar='NAME=PATH',
                    help='also run another svcproxy jar with the same JVM options, as target svcproxy-NAME '
                         '(repeatable): an A/B of two builds in one run')
    ap.add_argument('--svcproxy-transport', action='append', default=[], metavar='NAME=TRANSPORT',
                    help='also run svcproxy with proxy.transport: TRANSPORT (auto, epoll, io_uring, nio) in its '
                         'config, as target svcproxy-NAME (repeatable)')
    ap.add_argument('--svcproxy-connection-log', action='store_true',
                    help='also measure the connection log\'s cost: the connlog workload (bench/connlog.py)')
    ap.add_argument('--jar', default=os.environ.get('SVCPROXY_JAR',
                                                    os.path.join(ROOT, 'proxy-server/target/svcproxy.jar')))
    ap.add_argument('--report-only', metavar='DIR', help='rewrite report.md and ratios.png from DIR/results.json')
    opts = ap.parse_args()

    if opts.report_only:
        with open(os.path.join(opts.report_only, 'results.json')) as f:
            write_report(opts.report_only, json.load(f))
        print(os.path.join(opts.report_only, 'report.md'))
        return 0

    opts.targets = [t.strip() for t in opts.only.split(',') if t.strip()]
    opts.workloads = [w.strip() for w in opts.workloads.split(',') if w.strip()]
    for w in opts.workloads:
        if w not in WORKLOADS:
            ap.error(f'unknown workload {w!r}: choose from {",".join(WORKLOADS)}')
    WAIT_BUDGET['left'] = opts.wait_budget
    opts.target_ips = dict(TARGET_IPS)
    opts.java_opts = {'svcproxy': os.environ.get('SVCPROXY_JAVA_OPTS')}   # None: the launcher's defaults
    for i, v in enumerate(opts.svcproxy_variant):
        name, _, jo = v.partition('=')
        t = f'svcproxy-{name}'
        opts.target_ips[t] = f'127.0.10.{11 + i}'
        opts.java_opts[t] = jo
        if t not in opts.targets:
            opts.targets.append(t)
    opts.jars = {}   # target -> jar, for the targets that do not run opts.jar
    for i, v in enumerate(opts.svcproxy_jar):
        name, _, path = v.partition('=')
        t = f'svcproxy-{name}'
        if not path or not os.path.exists(path):
            ap.error(f'--svcproxy-jar {v!r}: no jar at {path!r} (expected: NAME=PATH)')
        opts.target_ips[t] = f'127.0.10.{11 + len(opts.svcproxy_variant) + i}'
        opts.java_opts[t] = opts.java_opts['svcproxy']
        opts.jars[t] = os.path.abspath(path)
        if t not in opts.targets:
            opts.targets.append(t)
    opts.transports = {}   # target -> proxy.transport
    for i, v in enumerate(opts.svcproxy_transport):
        name, _, transport = v.partition('=')
        if not name or transport not in ('auto', 'epoll', 'io_uring', 'nio'):
            ap.error(f'--svcproxy-transport {v!r} (expected: NAME=auto|epoll|io_uring|nio)')
        t = f'svcproxy-{name}'
        opts.target_ips[t] = f'127.0.10.{21 + i}'
        opts.java_opts[t] = opts.java_opts['svcproxy']
        opts.transports[t] = transport
        if t not in opts.targets:
            opts.targets.append(t)
    opts.connection_log_targets = set()   # targets started with the log on (bench/connlog.py and thread_cpu.py)
    if opts.svcproxy_connection_log and 'connlog' not in opts.workloads:
        opts.workloads.append('connlog')
    for t in opts.targets:
        if t not in opts.target_ips:
            ap.error(f'unknown target {t!r}: choose from {",".join(TARGET_ORDER)}')
    opts.targets = [t for t in TARGET_ORDER if t in opts.targets] + \
                   [t for t in opts.targets if t not in TARGET_ORDER]
    if opts.quick:
        opts.reps, opts.warmup, opts.bulk_seconds, opts.http_seconds = 1, 1, 2, 3
        opts.jit_settle = 0
        opts.idle_conns, opts.idle_warm = 2000, 200
    else:
        opts.warmup, opts.bulk_seconds, opts.http_seconds = 5, 4, 6
        opts.idle_conns, opts.idle_warm = 5000, 200

    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
    out_dir = os.path.abspath(opts.out or os.path.join(HERE, 'results', stamp))
    os.makedirs(out_dir, exist_ok=True)
    rundir = os.path.join(out_dir, 'run')
    os.makedirs(rundir, exist_ok=True)

    # the jar is copied, so that a rebuild during the run does not change what is measured
    tmp = tempfile.mkdtemp(prefix='svcproxy-bench-')
    jar_sha = ''
    if any(t.startswith('svcproxy') for t in opts.targets):
        if not os.path.exists(opts.jar):
            ap.error(f'no jar at {opts.jar}: build it (cd {ROOT} && mvn -q -DskipTests package)')
        shutil.copy(opts.jar, os.path.join(tmp, 'svcproxy.jar'))
        with open(opts.jar, 'rb') as f:
            jar_sha = hashlib.sha256(f.read()).hexdigest()
        opts.jar = os.path.join(tmp, 'svcproxy.jar')
    jar_shas = {}
    for t, path in opts.jars.items():   # each in its own folder: the launcher's CDS archive goes beside the jar
        os.makedirs(os.path.join(tmp, t))
        shutil.copy(path, os.path.join(tmp, t, 'svcproxy.jar'))
        with open(path, 'rb') as f:
            jar_shas[t] = hashlib.sha256(f.read()).hexdigest()
        opts.jars[t] = os.path.join(tmp, t, 'svcproxy.jar')
    opts.stream_module = next((p for p in ('/usr/lib/nginx/modules/ngx_stream_module.so',
                                           '/usr/share/nginx/modules/ngx_stream_module.so') if os.path.exists(p)),
                              '/usr/lib/nginx/modules/ngx_stream_module.so')
    try:
        git = subprocess.run(['git', '-C', ROOT, 'describe', '--always', '--dirty'], capture_output=True,
                             text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        git = '?'
    try:
        tw = open('/proc/sys/net/ipv4/tcp_tw_reuse').read().strip()
    except OSError:
        tw = '?'
    meta = {'started': datetime.datetime.now().strftime('%Y-%m-%d %H:%M'), 'host': host_info(),
            'versions': versions(), 'targets': opts.targets, 'workloads': opts.workloads, 'reps': opts.reps,
            'quick': opts.quick, 'warmup': opts.warmup, 'jit_settle': opts.jit_settle,
            'bulk_seconds': opts.bulk_seconds,
            'http_seconds': opts.http_seconds, 'idle_conns': opts.idle_conns, 'idle_warm': opts.idle_warm,
            'target_ips': opts.target_ips,
            'java_opts': {t: o for t, o in opts.java_opts.items() if t in opts.targets},
            'jar_sha256': jar_sha, 'jar_sha256_of': jar_shas, 'git': git, 'nofile': nofile(), 'tcp_tw_reuse': tw,
            'wait_quiet': opts.wait_quiet, 'wait_budget': opts.wait_budget}
    data = {'meta': meta, 'results': []}
    if tw not in ('1', '2'):
        log(f'WARNING: net.ipv4.tcp_tw_reuse = {tw}: the connection-churn rows may run out of ports')
    est = estimate(opts)
    log(f"targets {','.join(opts.targets)}; workloads {','.join(opts.workloads)}; {opts.reps} rep(s); "
        f"estimated {est / 60:.1f} min, plus up to {opts.wait_budget / 60:.1f} min "
        f"waiting for a quiet machine (--wait-quiet {opts.wait_quiet:.0f} s per measurement, "
        f"--wait-budget {opts.wait_budget:.0f} s in all); output {out_dir}")

    procs = Procs(rundir)

    def on_signal(sig, frame):
        raise KeyboardInterrupt(f'signal {sig}')
    signal.signal(signal.SIGTERM, on_signal)
    t_start = time.monotonic()
    rc = 0
    try:
        for t in opts.targets:
            if t.startswith('svcproxy'):
                # unmeasured: the launcher's first run with a jar and options writes its CDS archive on exit
                log(f'{t}: first start (writes the class-data-sharing archive)')
                procs.stop(start_proxy(procs, t, 'http', opts))
        for rep in range(opts.reps):
            order = opts.targets[rep % len(opts.targets):] + opts.targets[:rep % len(opts.targets)]
            for wl in opts.workloads:
                if wl in EXTRA_WORKLOADS:
                    continue
                kind = kind_of(wl)
                backends = start_backends(procs, kind, opts)
                try:
                    for t in order:
                        if wl == 'idle' and t == 'direct':
                            continue
                        log(f'rep {rep + 1}/{opts.reps} {wl} {t} ...')
                        try:
                            r = measure(procs, wl, t, backends, opts)
                        except RuntimeError as e:
                            r = {'workload': wl, 'target': t, 'error': str(e)}
                        if r is None:
                            continue
                        r['rep'] = rep
                        data['results'].append(r)
                        log(f'  {summary_line(r)}')
                        with open(os.path.join(out_dir, 'results.json'), 'w') as f:
                            json.dump(data, f, indent=1)
                finally:
                    for b in backends:
                        procs.stop(b)
        os.environ['SVCPROXY_JAR'] = opts.jar   # the UDP harness starts the launcher too: the same jar
        run_extras(opts, out_dir, procs)
    except KeyboardInterrupt as e:
        log(f'interrupted ({e}): stopping everything; partial results are kept')
        rc = 130
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    meta['elapsed_s'] = round(time.monotonic() - t_start, 1)
    meta['waited_quiet_s'] = round(opts.wait_budget - WAIT_BUDGET['left'], 1)
    meta['finished'] = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
    with open(os.path.join(out_dir, 'results.json'), 'w') as f:
        json.dump(data, f, indent=1)
    write_report(out_dir, data)
    print(f"\nsvcproxy against its peer, every row ({meta['reps']} repetition(s), medians; > 1 is better):\n")
    print(summary(data, out_dir))
    log(f'done in {meta["elapsed_s"] / 60:.1f} min: {out_dir}/report.md, ratios.png, results.json')
    return rc


if __name__ == '__main__':
    sys.exit(main())
