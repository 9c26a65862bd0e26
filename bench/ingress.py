#!/usr/bin/python3
"""The Ingress rows: svcproxy's Ingress vs nginx (http proxy) vs HAProxy (mode http), same backends, one run.

Two endpoints (one Debian nginx on 127.0.0.161 and 127.0.0.162, port 8080, answering 200 with a 100-byte body)
behind each L7 proxy, round-robin, kept-alive connections to the endpoints:
  - svcproxy: proxy.ingress.http on 127.0.10.160:8080 (HTTP/1.1 and h2c on one port), one Ingress with a
    defaultBackend to the Service of the two endpoints; started as bench.py starts it, as users do: the launcher
    ./svcproxy run --config FILE with SVCPROXY_JAR (--jar) and the launcher's JVM options, or $SVCPROXY_JAVA_OPTS
    as JAVA_OPTS; a first unmeasured start writes the launcher's class-data-sharing archive.
  - nginx: http proxy on 127.0.10.161:8080 (HTTP/1.1) and 8082 (`listen ... http2`, h2c by prior knowledge),
    upstream keepalive 64, proxy_http_version 1.1.
  - HAProxy: mode http on 127.0.10.162:8080 and 8082 (`proto h2`), balance roundrobin, http-reuse safe, 2 threads.
Rows: keep-alive HTTP/1.1 (wrk -t2 -c64), a new connection per request (wrk, Connection: close), and HTTP/2
(h2load over h2c by prior knowledge, -c 8 -m 16: 8 connections of 16 concurrent streams). Each measurement starts
the proxy afresh, warms it up with the same load, then records requests per second and the proxy's CPU seconds per
10,000 requests (utime+stime of its process group, from /proc).

    bench/ingress.py [--seconds 10] [--warmup 8] [--reps 3] [--rows http,close,h2] [--only svcproxy,nginx,haproxy]
                     [--jar PATH] [--variant NAME=JAR ...] [--out DIR]

A/B of svcproxy builds in one run: each --variant NAME=JAR adds a target svcproxy-NAME started with that jar (same
address, same config, same launcher options), measured in turn with the others (the order rotates per repetition),
e.g. `--only haproxy --variant a=/tmp/base.jar --variant b=proxy-server/target/svcproxy.jar`. Every measurement
also records the load average and the CPU the rest of the machine used meanwhile (others' share of a core), and
the proxy's user and system CPU apart; the report gives each svcproxy target's ratios to HAProxy in the same run.

The warm-up is 8 s by default: a JVM's first seconds run interpreted and C1 code. On this (busy, 2-core) machine a
2 s warm-up gave svcproxy 1.4k keep-alive and 150 h2 req/s in the measured seconds; after ~20 s of load the same
process did 10.9k keep-alive, 3.3k new-connection and 5.8k h2 req/s (HAProxy: 8.5k, 2.7k, 24k in that run).

It needs wrk, h2load (nghttp2-client), nginx and haproxy from Debian, and the svcproxy launcher's jar (bench/run.sh
builds it; so does `mvn -q -DskipTests package`).
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  the process, CPU and load helpers of the TCP bench

HERE = bench.HERE
ROOT = bench.ROOT
ENDPOINTS = ['127.0.0.161', '127.0.0.162']
BACKEND_PORT = 8080
PORT = 8080       # HTTP/1.1 (svcproxy: and h2c)
H2C_PORT = 8082   # nginx and HAProxy take h2c on a port of its own
TARGETS = {'svcproxy': '127.0.10.160', 'nginx': '127.0.10.161', 'haproxy': '127.0.10.162'}
ROWS = ['http', 'close', 'h2']
HOST = 'bench.example'


def start_backends(procs, rundir):
    cfg = bench.render('nginx-http.conf.tmpl', os.path.join(rundir, 'nginx-http.conf'), nofile=bench.nofile(),
                       rundir=rundir, worker_connections=max(1024, bench.nofile() - 100), body=bench.BODY,
                       listens='\n'.join(f'        listen {ip}:{BACKEND_PORT} backlog=4096;' for ip in ENDPOINTS))
    p = procs.start('nginx-backend', ['nginx', '-e', os.path.join(rundir, 'nginx-http.error.log'), '-p', rundir,
                                      '-c', cfg])
    for ip in ENDPOINTS:
        bench.wait_listen(ip, BACKEND_PORT, p)
    return p


def start_proxy(procs, target, rundir, jar, java_opts, ip=None, java=None):
    """Starts one proxy on its address (ip: another address for an svcproxy target, e.g. several side by side;
    java: the runtime svcproxy's launcher runs, as SVCPROXY_JAVA, instead of the environment's)."""
    ip = ip or TARGETS['svcproxy' if is_svcproxy(target) else target]
    if target == 'nginx':
        cfg = os.path.join(rundir, 'nginx-ingress.conf')
        with open(cfg, 'w') as f:
            f.write(f"""worker_processes auto;
worker_rlimit_nofile {bench.nofile()};
daemon off;
pid {rundir}/nginx-ingress.pid;
error_log {rundir}/nginx-ingress.error.log warn;
events {{ worker_connections {max(1024, bench.nofile() - 100)}; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    http2_max_requests 1000000;
    client_body_temp_path {rundir}/nginx-ingress-body;
    proxy_temp_path {rundir}/nginx-ingress-proxy;
    fastcgi_temp_path {rundir}/nginx-ingress-fastcgi;
    uwsgi_temp_path {rundir}/nginx-ingress-uwsgi;
    scgi_temp_path {rundir}/nginx-ingress-scgi;
    upstream endpoints {{
{''.join(f'        server {e}:{BACKEND_PORT};' + chr(10) for e in ENDPOINTS)}        keepalive 64;
    }}
    server {{
        listen {ip}:{PORT} backlog=4096;
        listen {ip}:{H2C_PORT} http2 backlog=4096;
        location / {{
            proxy_pass http://endpoints;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
        }}
    }}
}}
""")
        p = procs.start('nginx-ingress', ['nginx', '-e', os.path.join(rundir, 'nginx-ingress.error.log'), '-p',
                                          rundir, '-c', cfg])
    elif target == 'haproxy':
        cfg = os.path.join(rundir, 'haproxy-ingress.cfg')
        with open(cfg, 'w') as f:
            f.write(f"""global
    nbthread 2
    maxconn {max(100, (bench.nofile() - 200) // 2)}

defaults
    mode http
    option forwardfor
    http-reuse safe
    timeout connect 5s
    timeout client 1h
    timeout server 1h

frontend ingress
    bind {ip}:{PORT}
    bind {ip}:{H2C_PORT} proto h2
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    default_backend endpoints

backend endpoints
    balance roundrobin
{''.join(f'    server e{i + 1} {e}:{BACKEND_PORT}' + chr(10) for i, e in enumerate(ENDPOINTS))}""")
        p = procs.start('haproxy-ingress', ['haproxy', '-db', '-f', cfg])
    else:
        cfg = os.path.join(rundir, f'{target}-ingress.yaml')   # its own: a running proxy watches its file
        # the Service's own ClusterIP (bound as well): ten above a side-by-side proxy's address
        head, last = ip.rsplit('.', 1)
        cluster_ip = '127.0.10.163' if ip == TARGETS['svcproxy'] else f'{head}.{int(last) + 10}'
        with open(cfg, 'w') as f:
            f.write(f"""proxy:
  admin: off
  ingress: {{http: "{ip}:{PORT}"}}
services:
  - name: web
    clusterIP: {cluster_ip}
    scheduler: rr
    ports: [{{port: {BACKEND_PORT}}}]
    endpoints: [{', '.join('{ip: ' + e + ', port: ' + str(BACKEND_PORT) + '}' for e in ENDPOINTS)}]
ingresses:
  - name: bench
    defaultBackend: {{service: {{name: web, port: {{number: {BACKEND_PORT}}}}}}}
""")
        env = dict(os.environ, SVCPROXY_JAR=jar)
        if java:
            env['SVCPROXY_JAVA'] = java
        env.pop('JAVA_OPTS', None)
        if java_opts is not None:
            env['JAVA_OPTS'] = java_opts
        p = procs.start(target + '-ingress', [os.path.join(ROOT, 'svcproxy'), 'run', '--config', cfg], env=env)
    bench.wait_listen(ip, PORT, p, timeout=60.0)
    return p


def is_svcproxy(target):
    return target == 'svcproxy' or target.startswith('svcproxy-')


def run_load(procs, row, target, seconds, ip=None):
    ip = ip or TARGETS['svcproxy' if is_svcproxy(target) else target]
    if row in ('http', 'close'):
        argv = ['wrk', '-t2', '-c64', f'-d{seconds}s', '--latency', '-H', f'Host: {HOST}']
        if row == 'close':
            argv += ['-H', 'Connection: close']
        argv.append(f'http://{ip}:{PORT}/')
        rc, out, err = bench.run_bounded(argv, seconds + 30, procs)
        r = bench.parse_wrk(out)
        if 'rps' not in r:
            r['error'] = (err or out).strip()[:300]
        return r
    port = PORT if is_svcproxy(target) else H2C_PORT
    argv = ['h2load', '-c', '8', '-m', '16', '-t', '2', '-D', str(seconds), '--warm-up-time', '1',
            f'--connect-to={ip}:{port}', f'http://{HOST}:{port}/']
    rc, out, err = bench.run_bounded(argv, seconds + 30, procs)
    return parse_h2load(out, err)


def parse_h2load(out, err):
    r = {}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('finished in'):
            # finished in 10.00s, 12345.60 req/s, 1.23MB/s
            parts = line.split(',')
            r['duration_s'] = float(parts[0].split()[2].rstrip('s'))
            r['rps'] = float(parts[1].split()[0])
        elif line.startswith('requests:'):
            f = line.replace(',', '').split()
            r['requests'] = int(f[f.index('succeeded') - 1])
            r['failed'] = int(f[f.index('failed') - 1])
            r['errored'] = int(f[f.index('errored') - 1])
        elif line.startswith('status codes:'):
            r['non2xx'] = sum(int(x) for x in line.replace(',', '').split()[2::2][1:])
        elif line.startswith('Application protocol:'):
            r['protocol'] = line.split(':', 1)[1].strip()
    if 'rps' not in r:
        r['error'] = (err or out).strip()[:300]
    return r


def group_cpu_split(pgid):
    """(utime, stime) clock ticks of every live process of a process group."""
    u = s = 0
    for pid in bench.group_pids(pgid):
        try:
            f = bench._stat_fields(pid)
            u += int(f[11])
            s += int(f[12])
        except (OSError, ValueError, IndexError):
            pass
    return u, s


def measure(procs, row, target, opts, rundir, backend):
    t0 = time.monotonic()
    jar = opts.variants.get(target, opts.jar)
    p = start_proxy(procs, target, rundir, jar, opts.target_java_opts.get(target, opts.java_opts))
    res = {'row': row, 'target': target, 'startup_s': round(time.monotonic() - t0, 2)}
    try:
        # warm-up, not measured; a JVM's goes on while its JIT compilers still take a share (bench.warm_up)
        res['warmup_s'], res['warmup_jit_share'], res['warmup_jit_cpu_s'] = bench.warm_up(
            lambda s: run_load(procs, row, target, s), p.pid, opts.warmup, opts.jit_settle)
        time.sleep(0.3)
        res['loadavg_before'] = os.getloadavg()[0]
        u0, s0 = group_cpu_split(p.pid)
        jit0 = bench.group_jit_cpu_ticks(p.pid)
        window = bench.CpuWindow([p.pid, backend.pid])
        r = run_load(procs, row, target, opts.seconds)
        u1, s1 = group_cpu_split(p.pid)
        jit = bench.group_jit_cpu_ticks(p.pid) - jit0
        res['others'] = window.end()
        res['loadavg_after'] = os.getloadavg()[0]
        cpu = (u1 + s1 - u0 - s0) / bench.CLK
        res.update(r)
        res['cpu_s'] = cpu
        res['user_s'] = (u1 - u0) / bench.CLK
        res['sys_s'] = (s1 - s0) / bench.CLK
        if r.get('requests'):
            res['cpu_per_10k'] = cpu / (r['requests'] / 1e4)
            # without the JIT compiler threads: what the requests cost once compiled (stable under others' load)
            res['nojit_per_10k'] = (u1 + s1 - u0 - s0 - jit) / bench.CLK / (r['requests'] / 1e4)
            res['user_us_per_req'] = res['user_s'] * 1e6 / r['requests']
            res['sys_us_per_req'] = res['sys_s'] * 1e6 / r['requests']
        if p.poll() is not None:
            res['error'] = f'{target} exited during the run with {p.returncode}'
    finally:
        procs.stop(p)
    if res.get('error'):
        bench.log(f'ingress {row} {target}: ERROR {res["error"]}')
    else:
        bench.log(f'ingress {row} {target}: {res["rps"]:,.0f} req/s, proxy CPU {res["cpu_s"]:.2f} s'
                  f' ({res.get("cpu_per_10k", 0):.3f} s per 10k, {res.get("nojit_per_10k", 0):.3f} without JIT; user {res.get("user_us_per_req", 0):.1f} +'
                  f' sys {res.get("sys_us_per_req", 0):.1f} us/req)'
                  + (f', errors {res.get("socket_errors", 0) + res.get("non2xx", 0) + res.get("failed", 0)}')
                  + (f', warm-up {res["warmup_s"]} s (JIT {res["warmup_jit_cpu_s"]:.1f} s, {res["warmup_jit_share"]:.0%} at its end)'
                     if res.get('warmup_jit_share') is not None else '')
                  + f', load {res["loadavg_before"]:.2f}->{res["loadavg_after"]:.2f},'
                  f' others {res["others"]["other_pct_core"]}% of a core')
    return res


LABELS = {'http': 'keep-alive HTTP/1.1 (wrk -t2 -c64), req/s',
          'close': 'new connection per request (Connection: close), req/s',
          'h2': 'HTTP/2 h2c (h2load -c8 -m16), req/s'}


def report(results, targets, rows):
    svc = [t for t in targets if is_svcproxy(t)] if 'haproxy' in targets else []
    head = ['row'] + targets + ['CPU s per 10k req: ' + ' / '.join(targets),
                                'without JIT threads: ' + ' / '.join(targets)]
    for t in svc:
        head += [f'{t} req/s ÷ HAProxy', f'HAProxy CPU ÷ {t} CPU (> 1: less than HAProxy)']
    head += ['load avg (min–max)', 'others, % of a core (median)']
    lines = ['| ' + ' | '.join(head) + ' |', '| --- |' + ' ---: |' * (len(head) - 1)]
    for row in rows:
        med, cpu, nojit = {}, {}, {}
        for t in targets:
            ok = [r for r in results if r['row'] == row and r['target'] == t and not r.get('error')]
            if ok:
                med[t] = statistics.median(r['rps'] for r in ok)
                cpu[t] = statistics.median(r.get('cpu_per_10k', 0) for r in ok)
                nojit[t] = statistics.median(r.get('nojit_per_10k', 0) for r in ok)
        cells = [f'{med[t]:,.0f}' if t in med else 'error' for t in targets]
        cells.append(' / '.join(f'{cpu[t]:.3f}' if t in cpu else '–' for t in targets))
        cells.append(' / '.join(f'{nojit[t]:.3f}' if t in nojit else '–' for t in targets))
        for t in svc:
            ratio = med[t] / med['haproxy'] if t in med and med.get('haproxy') else None
            cratio = cpu['haproxy'] / cpu[t] if cpu.get(t) and cpu.get('haproxy') else None
            cells += [f'{ratio:.2f}' if ratio else '–', f'{cratio:.2f}' if cratio else '–']
        mine = [r for r in results if r['row'] == row and 'loadavg_before' in r]
        loads = [x for r in mine for x in (r['loadavg_before'], r['loadavg_after'])]
        others = [r['others']['other_pct_core'] for r in mine if r.get('others')]
        cells.append(f'{min(loads):.2f}–{max(loads):.2f}' if loads else '–')
        cells.append(f'{statistics.median(others):.0f}' if others else '–')
        lines.append(f'| {LABELS[row]} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seconds', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=8)
    ap.add_argument('--jit-settle', type=bench.settle_seconds, default=30.0, metavar='S',
                    help="up to S seconds more warm-up while a JVM target's JIT compilers took over 5%% of its CPU "
                         'in the last 2 s (0: the fixed warm-up only)')
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--rows', default=','.join(ROWS))
    ap.add_argument('--only', default=','.join(TARGETS))
    ap.add_argument('--jar', default=os.environ.get('SVCPROXY_JAR', os.path.join(ROOT, 'proxy-server', 'target',
                                                                                 'svcproxy.jar')))
    ap.add_argument('--variant', action='append', default=[], metavar='NAME=JAR',
                    help='an svcproxy build to measure as target svcproxy-NAME (repeatable)')
    ap.add_argument('--variant-opts', action='append', default=[], metavar='NAME=JAVA_OPTS',
                    help='the --jar build with other JVM options (replacing the launcher\'s), as target svcproxy-NAME'
                         ' (repeatable): an A/B of JVM options in one run')
    ap.add_argument('--out', default=os.path.join(HERE, 'results', 'ingress-' + time.strftime('%Y%m%d-%H%M%S')))
    opts = ap.parse_args()
    opts.out = os.path.abspath(opts.out)
    opts.java_opts = os.environ.get('SVCPROXY_JAVA_OPTS')   # None: the launcher's defaults
    rows = [r for r in opts.rows.split(',') if r]
    targets = [t for t in opts.only.split(',') if t]
    opts.variants = {}
    for v in opts.variant:
        name, sep, jar = v.partition('=')
        if not sep or not name or not jar:
            sys.exit(f'ingress bench: --variant {v} (expected: NAME=JAR)')
        if not os.path.exists(jar):
            sys.exit(f'ingress bench: --variant {v}: no such jar')
        opts.variants['svcproxy-' + name] = os.path.abspath(jar)
        targets.append('svcproxy-' + name)
    opts.target_java_opts = {}   # target -> JAVA_OPTS, for the --variant-opts targets
    for v in opts.variant_opts:
        name, sep, jo = v.partition('=')
        if not sep or not name:
            sys.exit(f'ingress bench: --variant-opts {v} (expected: NAME=JAVA_OPTS)')
        opts.variants['svcproxy-' + name] = os.path.abspath(opts.jar)
        opts.target_java_opts['svcproxy-' + name] = jo
        targets.append('svcproxy-' + name)
    for r in rows:
        if r not in ROWS:
            sys.exit(f'ingress bench: unknown row {r} (expected: {", ".join(ROWS)})')
    for t in targets:
        if t not in TARGETS and t not in opts.variants:
            sys.exit(f'ingress bench: unknown target {t} (expected: {", ".join(TARGETS)})')
    for tool in ('wrk', 'h2load', 'nginx', 'haproxy'):
        if not any(os.access(os.path.join(d, tool), os.X_OK) for d in ('/usr/sbin', '/usr/bin')):
            sys.exit(f'ingress bench: {tool} is missing (apt-get install wrk nghttp2-client nginx haproxy)')
    if 'svcproxy' in targets and not os.path.exists(opts.jar):
        sys.exit(f'ingress bench: no svcproxy jar at {opts.jar} (mvn -q -DskipTests package, or --jar)')
    rundir = os.path.join(opts.out, 'run')
    os.makedirs(rundir, exist_ok=True)
    procs = bench.Procs(rundir)
    results = []
    try:
        backend = start_backends(procs, rundir)
        for t in targets:
            if is_svcproxy(t):
                # unmeasured: the launcher's first run with a jar and options writes its CDS archive on exit
                bench.log(f'{t}: first start (writes the class-data-sharing archive)')
                procs.stop(start_proxy(procs, t, rundir, opts.variants.get(t, opts.jar),
                                       opts.target_java_opts.get(t, opts.java_opts)))
        for rep in range(opts.reps):
            order = targets[rep % len(targets):] + targets[:rep % len(targets)]
            for row in rows:
                for target in order:
                    results.append(measure(procs, row, target, opts, rundir, backend))
    finally:
        procs.stop_all()
    text = report(results, targets, rows)
    with open(os.path.join(opts.out, 'ingress-report.md'), 'w') as f:
        f.write(text + '\n')
    with open(os.path.join(opts.out, 'ingress-results.json'), 'w') as f:
        json.dump({'options': {k: v for k, v in vars(opts).items()}, 'results': results}, f, indent=1)
    print(text)


if __name__ == '__main__':
    main()
