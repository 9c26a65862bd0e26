#!/usr/bin/python3
"""The UDP row: cluster DNS through svcproxy vs nginx (stream, listen ... udp, proxy_responses 1) vs direct.

Three Debian dnsmasq instances on 127.0.0.81-83 are the endpoints; Debian's dnsperf asks (20 sockets, up to 100
queries outstanding) for a fixed time against each target in turn: direct (one dnsmasq), nginx and svcproxy (all
three, round-robin, a flow ended by its answer). Each measurement starts the proxy afresh, warms it up with the
same load, then records queries per second, average latency, and the proxy's CPU seconds per query (utime+stime
of its process group from /proc). Then, per proxy, RSS with 50,000 live flows: one query from each of 50,000
client ports, answered, with the flows kept (udpIdleTimeout / proxy_timeout 60 s), RSS read while they live.

svcproxy is started the way users start it: the launcher, ./svcproxy run --config FILE.

    bench/udp.py [--seconds 10] [--reps 3] [--flows 50000] [--out DIR] [--only svcproxy,nginx]
                 [--jar A.jar --jar B.jar] [--profile [cpu|alloc]] [--persistent WARMUP_S]

--jar (repeatable) measures other jars as targets svcproxy-A, svcproxy-B, ... (A/B in one run, order rotated);
--variant-opts NAME=JAVA_OPTS (repeatable) adds a target svcproxy-NAME: the jar of target svcproxy (--svcproxy-jar)
started by the launcher with JAVA_OPTS instead of its default JVM options (an A/B of JVM options; with --jar, the
first jar is the pairing's base, else the first --variant-opts);
--persistent starts every target once (each on its own address) and measures the repetitions on the running
processes, after a warm-up of WARMUP_S seconds each: an A/B of warm processes, paired by repetition against
svcproxy-A in the report; --flows 0 leaves out the RSS phase; --profile attaches async-profiler (as bench/profile.sh) to each svcproxy
during its measured window and writes flame graphs of its CPU (or, with alloc, its allocations) into the output
folder; CPU samples are split per thread (the first frame names it: event loops, JIT compiler threads...).
"""
import argparse
import glob
import json
import os
import resource
import socket
import statistics
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  the process, CPU and RSS helpers of the TCP bench

HERE = bench.HERE
ROOT = bench.ROOT
ENDPOINTS = ['127.0.0.81', '127.0.0.82', '127.0.0.83']
DNS_PORT = 5353
PORT = 5300
TARGETS = {'direct': ENDPOINTS[0], 'nginx': '127.0.10.83', 'svcproxy': '127.0.10.82'}
NAME = 'bench.test'
JARS = {}   # target svcproxy-X -> jar, from --jar
OPTS = {}   # target svcproxy-NAME -> JAVA_OPTS (replacing the launcher's defaults), from --variant-opts
JIT_SETTLE = 30.0  # --jit-settle
PROFILE = {}  # 'lib': async-profiler's library, 'out': where flame graphs go, when --profile


def start_dnsmasq(procs):
    ps = []
    for i, ip in enumerate(ENDPOINTS):
        ps.append(procs.start(f'dnsmasq-{i + 1}', [
            'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
            '--bind-interfaces', f'--listen-address={ip}', f'--port={DNS_PORT}', '--pid-file=', '--user=root',
            '--cache-size=1000', f'--address=/{NAME}/127.1.0.{i + 1}', '--dns-forward-max=10000']))
    for ip in ENDPOINTS:
        wait_dns(ip, DNS_PORT)
    return ps


def dns_query(qid):
    q = qid.to_bytes(2, 'big') + b'\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00'
    for label in NAME.split('.'):
        q += bytes([len(label)]) + label.encode()
    return q + b'\x00\x00\x01\x00\x01'


def wait_dns(ip, port, timeout=30.0):
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        while time.monotonic() < deadline:
            try:
                s.sendto(dns_query(1), (ip, port))
                s.recvfrom(512)
                return
            except OSError:
                time.sleep(0.1)
    raise RuntimeError(f'no DNS answer from {ip}:{port} within {timeout} s')


def start_proxy(procs, target, rundir, idle, ip=None):
    ip = ip or TARGETS.get(target, TARGETS['svcproxy'])
    if target == 'direct':
        return None, ENDPOINTS[0], DNS_PORT
    if target == 'nginx':
        cfg = os.path.join(rundir, 'nginx-udp.conf')
        with open(cfg, 'w') as f:
            f.write(f"""load_module {stream_module()};
worker_processes auto;
worker_rlimit_nofile {nofile()};
daemon off;
pid {rundir}/nginx-udp.pid;
error_log {rundir}/nginx-udp.error.log warn;
events {{ worker_connections {max(1024, nofile() - 100)}; }}
stream {{
    upstream dns {{
{''.join(f'        server {e}:{DNS_PORT};' + chr(10) for e in ENDPOINTS)}    }}
    server {{
        listen {ip}:{PORT} udp;
        proxy_pass dns;
        {'' if idle else 'proxy_responses 1;'}
        proxy_timeout {'60s' if idle else '30s'};
    }}
}}
""")
        p = procs.start('nginx-udp', ['nginx', '-e', f'{rundir}/nginx-udp.error.log', '-p', rundir, '-c', cfg])
    else:
        cfg = os.path.join(rundir, f'{target}-udp.yaml')
        responses = '' if idle else ', udpResponses: 1'
        with open(cfg, 'w') as f:
            f.write(f"""proxy: {{admin: off, udpIdleTimeout: {'60s' if idle else '30s'}, maxUdpFlows: 200000}}
services:
  - name: dns
    clusterIP: {ip}
    ports: [{{protocol: UDP, port: {PORT}, targetPort: {DNS_PORT}{responses}}}]
    endpoints: [{', '.join('{ip: ' + e + '}' for e in ENDPOINTS)}]
""")
        env = dict(os.environ)
        if target in JARS:
            env['SVCPROXY_JAR'] = JARS[target]
        env.pop('JAVA_OPTS', None)
        if target in OPTS:
            env['JAVA_OPTS'] = OPTS[target]
        p = procs.start(target, [os.path.join(ROOT, 'svcproxy'), 'run', '--config', cfg], env=env)
    wait_dns(ip, PORT, timeout=60.0)
    return p, ip, PORT


def stream_module():
    for m in ('/usr/lib/nginx/modules/ngx_stream_module.so', '/usr/share/nginx/modules/ngx_stream_module.so'):
        if os.path.exists(m):
            return m
    raise RuntimeError('nginx stream module missing: apt-get install libnginx-mod-stream')


def nofile():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def dnsperf(procs, ip, port, seconds, qfile):
    rc, out, err = bench.run_bounded(['dnsperf', '-s', ip, '-p', str(port), '-d', qfile, '-l', str(seconds),
                                      '-c', '20', '-q', '100', '-t', '2'], seconds + 30, procs)
    qps = lat = completed = None
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('Queries per second:'):
            qps = float(line.split(':')[1])
        elif line.startswith('Average Latency (s):'):
            lat = float(line.split(':')[1].split()[0])
        elif line.startswith('Queries completed:'):
            completed = int(line.split(':')[1].split()[0])
    if qps is None:
        raise RuntimeError(f'dnsperf gave no figure (rc {rc}): {out} {err}')
    return qps, lat, completed


def profiler(p, command):
    # jcmd splits its arguments at commas unless the agent's options are quoted
    subprocess.run(['jcmd', str(p.pid), 'JVMTI.agent_load', PROFILE['lib'], f'"{command}"'], capture_output=True,
                   timeout=30, check=True)


def measure(procs, target, rundir, seconds, qfile, rep=0, warmup=2):
    p, ip, port = start_proxy(procs, target, rundir, idle=False)
    try:
        return measure_running(procs, target, p, ip, port, seconds, qfile, rep, warmup)
    finally:
        procs.stop(p)


def measure_running(procs, target, p, ip, port, seconds, qfile, rep, warmup):
    """One measurement of a running target: an unmeasured warm-up of the same load, then the measured run."""
    # warm-up, not measured; a JVM's goes on while its JIT compilers still take a share (bench.warm_up); the direct
    # row (no proxy process) gets the fixed warm-up, as before the JIT-settled one
    if p:
        warm = bench.warm_up(lambda s: dnsperf(procs, ip, port, s, qfile), p.pid, warmup, JIT_SETTLE)
    else:
        warm = None
        dnsperf(procs, ip, port, warmup, qfile)
    profiled = PROFILE and target.startswith('svcproxy')
    if profiled:
        profiler(p, 'start,event=itimer,interval=997us,threads' if PROFILE['event'] == 'cpu' else 'start,event=alloc')
    load0 = os.getloadavg()[0]
    # the machine's CPU in the window minus this run's own processes (proxy, dnsmasq, dnsperf): the others' load
    window = bench.CpuWindow(list(procs.live))
    cpu0 = bench.group_cpu_ticks(p.pid) if p else 0
    qps, lat, completed = dnsperf(procs, ip, port, seconds, qfile)
    cpu = ((bench.group_cpu_ticks(p.pid) - cpu0) / bench.CLK) if p else None
    during = window.end()
    if profiled:
        collapsed = os.path.join(PROFILE['out'], f"{target}-{rep + 1}{'' if PROFILE['event'] == 'cpu' else '-alloc'}"
                                                 '.collapsed')
        profiler(p, f'stop,file={collapsed},collapsed')
        subprocess.run([bench.PY, os.path.join(HERE, 'flamegraph.py'), collapsed, collapsed[:-10] + '.png',
                        '--title', f"{target} {PROFILE['event']}, cluster DNS through UDP (dnsperf), {seconds} s"],
                       capture_output=True, timeout=120)
    r = {'target': target, 'qps': qps, 'latency_ms': lat * 1000 if lat else None, 'queries': completed,
         'cpu_s': cpu, 'cpu_us_per_query': cpu / completed * 1e6 if cpu is not None and completed else None,
         'load': [round(load0, 2), round(os.getloadavg()[0], 2)], 'during': during}
    if warm and warm[1] is not None:
        r['warmup_s'], r['warmup_jit_share'], r['warmup_jit_cpu_s'] = warm
    bench.log(f'udp {target}: {qps:,.0f} q/s, {r["latency_ms"]:.3f} ms'
              + (f', {r["cpu_us_per_query"]:.1f} µs CPU/query' if cpu is not None else '')
              + (f', warm-up {r["warmup_s"]} s (JIT {r["warmup_jit_cpu_s"]:.1f} s, {r["warmup_jit_share"]:.0%} at its end)'
                 if 'warmup_s' in r else '')
              + f', load average {r["load"][0]:.2f} -> {r["load"][1]:.2f}'
              + f', others {during["other_pct_core"]}% of a core')
    return r


def rss_with_flows(procs, target, rundir, flows):
    p, ip, port = start_proxy(procs, target, rundir, idle=True)
    try:
        base = bench.group_rss_kib(p.pid)
        answered = 0
        sources = [f'127.0.4.{i}' for i in range(1, 1 + (flows + 19_999) // 20_000)]
        sent = 0
        for src in sources:
            for sport in range(20_000, 40_000):
                if sent >= flows:
                    break
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((src, sport))
                    s.settimeout(1.0)
                    s.sendto(dns_query(sent % 65536), (ip, port))
                    try:
                        s.recvfrom(512)
                        answered += 1
                    except OSError:
                        pass
                sent += 1
        time.sleep(1.0)
        rss = bench.group_rss_kib(p.pid)
        r = {'target': target, 'flows': flows, 'answered': answered, 'rss_mib': rss / 1024,
             'rss_mib_idle': base / 1024, 'kib_per_flow': (rss - base) / max(answered, 1)}
        bench.log(f'udp {target}: {answered} of {flows} flows answered, RSS {rss / 1024:.1f} MiB '
                  f'(idle {base / 1024:.1f} MiB, {r["kib_per_flow"]:.2f} KiB per flow)')
        return r
    finally:
        procs.stop(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seconds', type=int, default=10)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--flows', type=int, default=50_000)
    ap.add_argument('--warmup', type=int, default=2, help='seconds of unmeasured load before each measurement')
    ap.add_argument('--jit-settle', type=bench.settle_seconds, default=30.0, metavar='S',
                    help="up to S seconds more warm-up while a JVM target's JIT compilers took over 5%% of its CPU "
                         'in the last 2 s (0: the fixed warm-up only)')
    ap.add_argument('--out', default=os.path.join(HERE, 'results', 'udp-' + time.strftime('%Y%m%d-%H%M%S')))
    ap.add_argument('--only', default=','.join(TARGETS), help='targets, comma-separated (direct,nginx,svcproxy)')
    ap.add_argument('--jar', action='append', default=[], help='another svcproxy jar, as target svcproxy-A, -B...')
    ap.add_argument('--variant-opts', action='append', default=[], metavar='NAME=JAVA_OPTS',
                    help='another target svcproxy-NAME: the svcproxy jar with these JVM options instead of the '
                         "launcher's defaults (repeatable)")
    ap.add_argument('--svcproxy-jar', help='the jar of target svcproxy (default: the launcher\'s, '
                    'proxy-server/target/svcproxy.jar)')
    ap.add_argument('--persistent', type=int, metavar='WARMUP_S', default=0,
                    help='start every target once, each on an address of its own, warm each up WARMUP_S seconds, '
                         'then measure the repetitions on the running processes (no start-up or first compilations '
                         'in the figures; --warmup becomes the settle run before each measurement)')
    ap.add_argument('--profile', nargs='?', const='cpu', choices=['cpu', 'alloc'],
                    help='flame graphs of svcproxy during the measurements: cpu (default) or alloc')
    opts = ap.parse_args()
    global JIT_SETTLE
    JIT_SETTLE = opts.jit_settle
    targets = [t.strip() for t in opts.only.split(',') if t.strip()]
    tmp = tempfile.mkdtemp(prefix='svcproxy-udp-')
    if opts.svcproxy_jar:
        JARS['svcproxy'] = os.path.join(tmp, 'svcproxy.jar')
        shutil.copy(opts.svcproxy_jar, JARS['svcproxy'])
    for i, jar in enumerate(opts.jar):
        name = f'svcproxy-{chr(ord("A") + i)}'
        JARS[name] = os.path.join(tmp, f'{name}.jar')  # a copy: a rebuild during the run changes nothing
        shutil.copy(jar, JARS[name])
        bench.log(f'{name} = {jar}')
        targets.append(name)
    for v in opts.variant_opts:
        name, sep, java_opts = v.partition('=')
        if not sep or not name:
            ap.error(f'--variant-opts {v!r} (expected: NAME=JAVA_OPTS)')
        target = 'svcproxy-' + name
        OPTS[target] = java_opts
        if 'svcproxy' in JARS:
            JARS[target] = JARS['svcproxy']
        targets.append(target)
    if 'svcproxy' in targets and (opts.jar or opts.variant_opts):
        targets.remove('svcproxy')
    for t in targets:
        if t not in TARGETS and t not in JARS and t not in OPTS:
            ap.error(f'unknown target {t!r}: choose from {",".join(TARGETS)}')
    for tool in ('dnsmasq', 'dnsperf', 'nginx'):
        if not any(os.access(os.path.join(d, tool), os.X_OK) for d in ('/usr/sbin', '/usr/bin')):
            sys.exit(f'udp bench: {tool} is missing (apt-get install dnsmasq-base dnsperf nginx '
                     'libnginx-mod-stream)')
    opts.out = os.path.abspath(opts.out)   # nginx reads its paths from its prefix, not our working directory
    rundir = os.path.join(opts.out, 'run')
    os.makedirs(rundir, exist_ok=True)
    if opts.profile:
        ver = '4.1'
        jar = os.path.expanduser(f'~/.m2/repository/tools/profiler/async-profiler/{ver}/async-profiler-{ver}.jar')
        if not os.path.exists(jar):
            subprocess.run(['mvn', '-B', '-q', 'dependency:get', f'-Dartifact=tools.profiler:async-profiler:{ver}',
                            '-Dtransitive=false'], check=True)
        subprocess.run(['unzip', '-o', '-q', jar, 'linux-x64/*', '-d', os.path.join(opts.out, 'lib')], check=True)
        PROFILE['lib'] = glob.glob(os.path.join(opts.out, 'lib', 'linux-x64', 'libasyncProfiler.so'))[0]
        PROFILE['out'] = opts.out
        PROFILE['event'] = opts.profile
    qfile = os.path.join(rundir, 'queries.txt')
    with open(qfile, 'w') as f:
        f.write(f'{NAME} A\n')
    procs = bench.Procs(rundir)
    results = {'rows': [], 'flows': []}
    try:
        start_dnsmasq(procs)
        running = {}
        if opts.persistent:
            for i, target in enumerate(targets):
                ip = TARGETS[target] if target in TARGETS else f'127.0.10.{84 + i}'  # 84-99: the UDP range
                running[target] = start_proxy(procs, target, rundir, idle=False, ip=ip)
            for target in targets:
                dnsperf(procs, running[target][1], running[target][2], opts.persistent, qfile)
        for rep in range(opts.reps):
            order = targets[rep % len(targets):] + targets[:rep % len(targets)]
            for target in order:
                if opts.persistent:
                    results['rows'].append(measure_running(procs, target, *running[target], opts.seconds, qfile,
                                                           rep, opts.warmup))
                    results['rows'][-1]['rep'] = rep
                else:
                    results['rows'].append(measure(procs, target, rundir, opts.seconds, qfile, rep, opts.warmup))
                    results['rows'][-1]['rep'] = rep
        for target, (p, _, _) in running.items():
            procs.stop(p)
        if opts.flows:
            for target in [t for t in targets if t != 'direct']:
                results['flows'].append(rss_with_flows(procs, target, rundir, opts.flows))
    finally:
        procs.stop_all()
    table = []
    for target in targets:
        rows = [r for r in results['rows'] if r['target'] == target]
        med = {k: statistics.median([r[k] for r in rows if r[k] is not None] or [0])
               for k in ('qps', 'latency_ms', 'cpu_us_per_query')}
        table.append((target, med, min(r['qps'] for r in rows), max(r['qps'] for r in rows)))
    nginx = next((t for t in table if t[0] == 'nginx'), (None, {'qps': 0, 'cpu_us_per_query': 0}))[1]
    lines = ['| target | queries/s (median, min–max) | latency ms | proxy CPU µs/query | q/s ÷ nginx | CPU ÷ nginx |',
             '| --- | ---: | ---: | ---: | ---: | ---: |']
    for target, med, lo, hi in table:
        ratio = med['qps'] / nginx['qps'] if nginx['qps'] else 0
        cpu_ratio = (med['cpu_us_per_query'] / nginx['cpu_us_per_query']
                     if target != 'direct' and nginx['cpu_us_per_query'] else None)
        lines.append(f"| {target} | {med['qps']:,.0f} ({lo:,.0f}–{hi:,.0f}) | {med['latency_ms']:.3f} | "
                     + (f"{med['cpu_us_per_query']:.1f}" if target != 'direct' else '–')
                     + f" | {ratio:.2f} | " + (f'{cpu_ratio:.2f}' if cpu_ratio else '–') + ' |')
    base = 'svcproxy-A' if 'svcproxy-A' in JARS else next((t for t in targets if t in OPTS), None)
    for target in [t for t in targets if base and t.startswith('svcproxy-') and t != base]:
        # paired by repetition against the first jar: the pairs share the machine's moment
        pairs = [(r, b) for r in results['rows'] if r['target'] == target
                 for b in results['rows'] if b['target'] == base and b.get('rep') == r.get('rep')]
        pairs = [(r, b) for r, b in pairs if r.get('cpu_us_per_query') and b.get('cpu_us_per_query')]
        if pairs:
            cpu = sorted(r['cpu_us_per_query'] / b['cpu_us_per_query'] for r, b in pairs)
            qps = sorted(r['qps'] / b['qps'] for r, b in pairs)
            lines.append(f"\n{target} ÷ {base}, paired by repetition ({len(pairs)}): CPU per query median "
                         f"{statistics.median(cpu):.3f} ({cpu[0]:.3f}-{cpu[-1]:.3f}), queries/s median "
                         f"{statistics.median(qps):.3f} ({qps[0]:.3f}-{qps[-1]:.3f})")
    for f in results['flows']:
        lines.append(f"\n{f['target']}: RSS {f['rss_mib']:.1f} MiB with {f['answered']:,} live flows "
                     f"(idle {f['rss_mib_idle']:.1f} MiB, {f['kib_per_flow']:.2f} KiB per flow)")
    report = '\n'.join(lines)
    with open(os.path.join(opts.out, 'udp-report.md'), 'w') as f:
        f.write(report + '\n')
    with open(os.path.join(opts.out, 'udp-results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    print(report)


if __name__ == '__main__':
    main()
