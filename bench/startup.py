#!/usr/bin/python3
"""Start-up time and idle memory of svcproxy as users start it: `./svcproxy run --config FILE`.

Starts the launcher N times with a one-Service config (no connection is ever made to it) and reports, per
start: the time from exec to the Service's port being in LISTEN state (asked of the kernel's socket diagnostics
over netlink for listening sockets only, so the probe makes no connection and costs the same however many
TIME_WAIT sockets earlier loads left: /proc/net/tcp lists those too, 25 ms a read with 14,000 of them), the CPU
seconds the process and its main thread used until then, its VmRSS --settle seconds after listening, and the CPU
the rest of the machine used meanwhile (% of a core, from exec to that read: all CPUs' busy time less the process
group's and this script's; the launcher's own short children count as others). Variants (`--variant
NAME=JAVA_OPTS`) run the same launcher with JAVA_OPTS set (appended instead of the launcher's defaults); runs of
the variants are interleaved, so that a disturbance of the shared machine hits all of them alike. Each variant is
first started once unmeasured: the launcher's first run with a jar and options writes the class-data-sharing
archive the later runs use (--no-prime to measure that first run too). Standard library only (and bench.py's
helpers); loopback only:
the Service listens on 127.0.10.41:18080 with an endpoint 127.0.0.41:8080 that is never connected.

  bench/startup.py                       # 10 starts with the launcher's defaults
  bench/startup.py -n 5 --variant none='-XX:-UseSerialGC' --variant g1=-XX:+UseG1GC
  bench/startup.py --launcher 'java -jar proxy-server/target/svcproxy.jar'   # the bare JVM, for comparison
  bench/startup.py --docker svcproxy:latest -n 5       # the image built from docker/Dockerfile, its defaults
"""
import argparse
import ctypes
import json
import os
import shlex
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  the machine's and the process group's CPU ticks

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLK = os.sysconf('SC_CLK_TCK')
IP, PORT = '127.0.10.41', 18080
CONFIG = f"""# bench/startup.py: one Service, the admin server off (as bench/run.sh's svcproxy)
proxy: {{admin: off}}
services:
  - name: startup
    clusterIP: {IP}
    scheduler: rr
    ports: [{{port: {PORT}}}]
    endpoints:
      - {{ip: 127.0.0.41, port: 8080}}
"""


NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, NLMSG_ERROR, NLMSG_DONE = 4, 20, 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
TCPF_LISTEN = 1 << 10
CLONE_NEWNET = 0x40000000


def listen_patterns(ip, port):
    """The (family, address bytes, port) keys a socket listening on ip:port shows in the kernel's socket diagnostics:
    IPv4, and IPv4-mapped IPv6 (a dual-stack socket)."""
    v4 = socket.inet_aton(ip)
    return {(socket.AF_INET, v4, port), (socket.AF_INET6, bytes(10) + b'\xff\xff' + v4, port)}


def diag_socket(netns_pid=None):
    """A sock_diag netlink socket of this network namespace, or of process netns_pid's (a container's): made by a
    thread that joins that namespace first (setns(2) moves only the calling thread; the socket keeps the namespace
    it was made in, the thread ends)."""
    if netns_pid is None:
        return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    made = {}

    def make():
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f'/proc/{netns_pid}/ns/net', os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f'setns into the network namespace of {netns_pid}: {os.strerror(err)}')
            finally:
                os.close(fd)
            made['socket'] = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
        except OSError as e:
            made['error'] = e
    t = threading.Thread(target=make)
    t.start()
    t.join()
    if 'error' in made:
        raise made['error']
    return made['socket']


def listening_sockets(family, nl):
    """(family, local address bytes, local port) of every TCP socket in LISTEN state of one address family, from one
    sock_diag dump (linux/inet_diag.h) over nl (diag_socket()): with only TCPF_LISTEN in the states the kernel walks
    its listening hash and never the established one, where TIME_WAIT sockets are."""
    # struct inet_diag_req_v2: family, protocol, ext, pad, states, then a zero inet_diag_sockid (48 bytes)
    req = struct.pack('=BBBBI', family, socket.IPPROTO_TCP, 0, 0, TCPF_LISTEN) + bytes(48)
    nl.send(struct.pack('=IHHII', 16 + len(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + req)
    found = set()
    while True:
        data = nl.recv(65536)
        off = 0
        while off + 16 <= len(data):
            length, kind = struct.unpack_from('=IH', data, off)
            if kind == NLMSG_DONE:
                return found
            if kind == NLMSG_ERROR:
                raise OSError(-struct.unpack_from('=i', data, off + 16)[0], 'sock_diag dump refused')
            if kind == SOCK_DIAG_BY_FAMILY:
                # struct inet_diag_msg: family, state, timer, retrans, then the sockid: sport and dport
                # (big-endian), src and dst (16 bytes each)
                fam, sport = data[off + 16], struct.unpack_from('>H', data, off + 20)[0]
                src = data[off + 24:off + 24 + (4 if fam == socket.AF_INET else 16)]
                found.add((fam, bytes(src), sport))
            off += (length + 3) & ~3
            if length < 16:
                raise OSError(f'sock_diag: a message of {length} bytes')


def listening(patterns, nl=None):
    """Whether a socket listens on one of the patterns' addresses, asked over nl (default: a socket of this network
    namespace, made for this one question)."""
    if nl is None:
        with diag_socket() as own:
            return listening(patterns, own)
    return any(not patterns.isdisjoint(listening_sockets(f, nl)) for f in (socket.AF_INET, socket.AF_INET6))


def cpu_s(pid):
    with open(f'/proc/{pid}/stat') as f:
        st = f.read()
    fields = st[st.rindex(')') + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def main_thread_cpu_s(pid):
    """CPU seconds of the JVM's main thread: the busiest thread named like the process's command (java's launcher
    runs main() in a thread of its own, which inherits the name; the JIT and GC threads have names of their own).
    Unlike the process's CPU, it leaves out the JIT compilers, which run beside it on another core when there is
    one: it is the figure that sets the time to listening on a quiet machine."""
    try:
        with open(f'/proc/{pid}/comm') as f:
            comm = f.read().strip()
        best = 0
        for tid in os.listdir(f'/proc/{pid}/task'):
            with open(f'/proc/{pid}/task/{tid}/comm') as f:
                if f.read().strip() != comm:
                    continue
            with open(f'/proc/{pid}/task/{tid}/schedstat') as f:   # nanoseconds on a CPU, then wait, slices
                best = max(best, int(f.read().split()[0]))
        return best / 1e9
    except OSError:
        return float('nan')


def rss_mib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return float('nan')


def one_start(argv, env, settle, timeout, logf, stop_timeout=10):
    patterns = listen_patterns(IP, PORT)
    if listening(patterns):
        raise RuntimeError(f'{IP}:{PORT} is already in use')
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                         start_new_session=True)
    # the rest of the machine meanwhile, from exec to the RSS read: all CPUs' busy time less this process group's and
    # this script's (its probe); the group is its own session, just started
    others = bench.CpuWindow([p.pid])
    try:
        with diag_socket() as nl:
            while not listening(patterns, nl):
                if p.poll() is not None:
                    raise RuntimeError(f'exited with {p.returncode} before listening (see {logf.name})')
                if time.monotonic() - t0 > timeout:
                    raise RuntimeError(f'not listening after {timeout} s')
                time.sleep(0.002)
        t_listen = time.monotonic() - t0
        cpu_listen = cpu_s(p.pid)
        main_listen = main_thread_cpu_s(p.pid)
        time.sleep(settle)
        rss = rss_mib(p.pid)
        return {'listen_s': round(t_listen, 3), 'cpu_s': round(cpu_listen, 2), 'main_cpu_s': round(main_listen, 3),
                'rss_mib': round(rss, 1), 'cpu_settled_s': round(cpu_s(p.pid), 2),
                'others_pct_core': others.end()['other_pct_core']}
    finally:
        for sig, wait in ((signal.SIGTERM, stop_timeout), (signal.SIGKILL, 5)):
            try:
                os.killpg(p.pid, sig)
                p.wait(timeout=wait)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
        deadline = time.monotonic() + 10
        while listening(patterns) and time.monotonic() < deadline:
            time.sleep(0.05)


def uptime_s():
    with open('/proc/uptime') as f:
        return float(f.read().split()[0])


def one_docker_start(image, cfg_dir, java_opts, settle, timeout):
    """Starts the image (its own network namespace) and times its java process from its own start time."""
    argv = ['docker', 'create', '--read-only', '--tmpfs', '/tmp:exec', '-v', f'{cfg_dir}:/etc/svcproxy:ro']
    if java_opts is not None:
        argv += ['-e', f'JAVA_OPTS={java_opts}']
    cid = subprocess.run(argv + [image], capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    try:
        subprocess.run(['docker', 'start', cid], capture_output=True, check=True, timeout=60)
        pid = int(subprocess.run(['docker', 'inspect', '-f', '{{.State.Pid}}', cid], capture_output=True,
                                 text=True, check=True, timeout=30).stdout.strip())
        with open(f'/proc/{pid}/stat') as f:
            st = f.read()
        started = int(st[st.rindex(')') + 2:].split()[19]) / CLK     # field 22: start time after boot
        patterns = listen_patterns('127.0.0.1', PORT)
        deadline = time.monotonic() + timeout
        with diag_socket(netns_pid=pid) as nl:   # the container's own network namespace (2026-12-06: it read
            while not listening(patterns, nl):    # /proc/PID/net/tcp, which walks the host's shared hash)
                if time.monotonic() > deadline:
                    raise RuntimeError(f'container {cid[:12]} not listening after {timeout} s')
                time.sleep(0.002)
        t_listen = uptime_s() - started
        cpu_listen = cpu_s(pid)
        main_listen = main_thread_cpu_s(pid)
        time.sleep(settle)
        return {'listen_s': round(t_listen, 3), 'cpu_s': round(cpu_listen, 2), 'main_cpu_s': round(main_listen, 3),
                'rss_mib': round(rss_mib(pid), 1),
                'cpu_settled_s': round(cpu_s(pid), 2)}
    finally:
        subprocess.run(['docker', 'rm', '-f', cid], capture_output=True, timeout=60)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('-n', '--runs', type=int, default=10, help='starts per variant (default 10)')
    ap.add_argument('--settle', type=float, default=5.0, help='seconds after listening before RSS is read')
    ap.add_argument('--timeout', type=float, default=30.0, help='seconds to wait for listening, per start')
    ap.add_argument('--launcher', default=os.path.join(ROOT, 'svcproxy'),
                    help='the command before "run --config FILE" (default: the ./svcproxy launcher)')
    ap.add_argument('--variant', action='append', default=[], metavar='NAME=JAVA_OPTS',
                    help='also start with JAVA_OPTS set to this, replacing the launcher\'s defaults (repeatable); '
                         'leading words env:VAR=VALUE set environment variables instead (env:SVCPROXY_NO_CDS=1), '
                         'launcher:PATH starts another launcher, image:NAME (with --docker) another image; '
                         'a variant of only such words keeps the launcher\'s or image\'s JAVA_OPTS; '
                         '"default" is always run (with --docker: the image\'s JAVA_OPTS, -e JAVA_OPTS=...)')
    ap.add_argument('--docker', metavar='IMAGE',
                    help='start this image (docker/Dockerfile) instead, with the config mounted at /etc/svcproxy; '
                         'its Service listens on 127.0.0.1 inside the container; the time is counted from '
                         'the start of its java process (docker\'s own start-up excluded)')
    ap.add_argument('--no-prime', action='store_true', help='do not start each variant once unmeasured first')
    ap.add_argument('--json', help='write every start to this file')
    opts = ap.parse_args()

    variants = [('default', None)] + [tuple(v.split('=', 1)) for v in opts.variant]
    tmp = tempfile.mkdtemp(prefix='svcproxy-startup-')
    cfg = os.path.join(tmp, 'startup.yaml')
    with open(cfg, 'w') as f:
        f.write(CONFIG)
    argv = shlex.split(opts.launcher) + ['run', '--config', cfg]
    results = {name: [] for name, _ in variants}
    def parse_variant(jo):
        """Returns (environment, JAVA_OPTS or None, launcher or image or None) of a variant's words."""
        env = dict(os.environ)
        env.pop('JAVA_OPTS', None)
        java_opts, other = None, None
        if jo is not None:
            words = jo.split()
            prefixed = False
            while words and words[0].split(':', 1)[0] in ('env', 'launcher', 'image'):
                kind, _, rest = words.pop(0).partition(':')
                prefixed = True
                if kind == 'env':
                    k, _, v = rest.partition('=')
                    env[k] = v
                else:
                    other = rest
            if words or not prefixed:
                java_opts = ' '.join(words)
                env['JAVA_OPTS'] = java_opts
        return env, java_opts, other

    if opts.docker:
        with open(os.path.join(tmp, 'svcproxy.yaml'), 'w') as f:
            f.write(CONFIG.replace(IP, '127.0.0.1').replace('127.0.0.41', '127.0.0.1'))
        os.chmod(tmp, 0o755)
        argv = ['docker', 'run', opts.docker]

    def start(jo, settle, prime=False):
        env, java_opts, other = parse_variant(jo)
        if opts.docker:
            return one_docker_start(other or opts.docker, tmp, java_opts, settle, opts.timeout)
        cmd = argv if other is None else [os.path.abspath(other)] + argv[-3:]
        # the first start may build the jar (the launcher does when a source is newer than it)
        # a prime start also writes the archive or AOT cache as it exits (Java 25: a second JVM, seconds)
        return one_start(cmd, env, settle, max(opts.timeout, 600.0) if prime else opts.timeout, logf,
                         120 if prime else 10)

    with open(os.path.join(tmp, 'svcproxy.log'), 'ab') as logf:
        if not opts.no_prime:
            for name, jo in variants:
                start(jo, 0.5, prime=True)
        for i in range(opts.runs):
            for name, jo in variants:
                r = start(jo, opts.settle)
                results[name].append(r)
                print(f'{time.strftime("%H:%M:%S")} {name:>12} run {i + 1}: listening {r["listen_s"]:.3f} s, '
                      f'cpu {r["cpu_s"]:.2f} s (main {r["main_cpu_s"]:.3f}), RSS {r["rss_mib"]:.1f} MiB'
                      + (f', others {r["others_pct_core"]:.1f}% of a core' if 'others_pct_core' in r else ''),
                      file=sys.stderr, flush=True)

    print(f'\n{opts.runs} starts each of `{opts.docker or " ".join(argv[:-2]) + " CONFIG"}`; RSS {opts.settle:g} s after listening')
    print('| variant | JAVA_OPTS | listening, s: median (min–max) | CPU to listening, s | main thread, s '
          '| RSS, MiB: median (min–max) | others, % of a core: median (max) |')
    print('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
    for name, jo in variants:
        rs = results[name]
        ls = [r['listen_s'] for r in rs]
        cs = [r['cpu_s'] for r in rs]
        mts = [r['main_cpu_s'] for r in rs]
        ms = [r['rss_mib'] for r in rs]
        os_ = [r['others_pct_core'] for r in rs if 'others_pct_core' in r]   # not with --docker: dockerd is others
        print(f'| {name} | {("(image defaults)" if opts.docker else "(launcher defaults)") if jo is None else "`" + jo + "`"} | '
              f'{statistics.median(ls):.3f} ({min(ls):.3f}–{max(ls):.3f}) | {statistics.median(cs):.2f} | '
              f'{statistics.median(mts):.3f} | {statistics.median(ms):.1f} ({min(ms):.1f}–{max(ms):.1f}) | '
              + (f'{statistics.median(os_):.1f} ({max(os_):.1f}) |' if os_ else '– |'))
    if opts.json:
        with open(opts.json, 'w') as f:
            json.dump({'argv': argv, 'variants': dict(variants), 'results': results}, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
