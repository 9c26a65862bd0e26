#!/usr/bin/env python3
"""TCP segments per proxied connection of the TCP rows, by leg, direction and kind: `tcpdump -i lo`.

For each row (close: a new connection per request; http: keep-alive) and each target, starts the bench's backends
and the proxy exactly as bench/bench.py does (svcproxy by the launcher), loads it unmeasured for --warmup seconds
(the JIT settles), then captures the headers of every TCP segment on loopback over --seconds of `wrk -t2 -c64` and
counts them per request (wrk's count; on the close row each has a connection of its own): on the client leg (wrk <-> the proxy's address, 127.0.10.x) and the
endpoint leg (the proxy <-> the backends), each way, as SYN (and SYN-ACK), FIN, FIN+data, RST, data and pure ACKs.
What the kernel moves per request, for every proxy alike; the packets are not timed. Run it under the bench lock:

    flock /work/bench.lock bench/tcp_packets.py --rows close --only haproxy,svcproxy --variant before=/tmp/before.jar
"""
import argparse
import collections
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402

KINDS = ['SYN', 'data', 'FIN+data', 'FIN', 'RST', 'ack']


def classify(line, proxy_net='127.0.10.'):
    """One line of `tcpdump -n -tt -r` as (leg, direction, kind, tcpdump's flags), or None for a line that is not an
    IPv4 TCP segment. The client leg is the one with the proxy's service address (127.0.10.x) at one end."""
    if ' IP ' not in line or 'Flags [' not in line:
        return None
    ends = line.split(' IP ', 1)[1].split(':', 1)[0].split(' > ')
    if len(ends) != 2:
        return None
    src, dst = (e.rsplit('.', 1)[0] for e in ends)
    if dst.startswith(proxy_net):
        leg, way = 'client', 'to proxy'
    elif src.startswith(proxy_net):
        leg, way = 'client', 'from proxy'
    else:
        # the endpoint leg: the side that listens (the backend) is the one the SYN without ACK goes to; by port
        # number it is the lower one in the bench (8080-range backends, ephemeral ports above 32768)
        sport, dport = (int(e.rsplit('.', 1)[1]) for e in ends)
        leg, way = 'endpoint', ('to endpoint' if dport < sport else 'from endpoint')
    flags = line.split('Flags [', 1)[1].split(']', 1)[0]
    length = 0
    if ' length ' in line:
        length = int(line.rsplit(' length ', 1)[1].split()[0].rstrip(':'))
    if 'S' in flags:
        kind = 'SYN'
    elif 'R' in flags:
        kind = 'RST'
    elif 'F' in flags:
        kind = 'FIN+data' if length > 0 else 'FIN'
    else:
        kind = 'data' if length > 0 else 'ack'
    return leg, way, kind, flags


def tally(lines, proxy_net='127.0.10.'):
    """Counts of (leg, direction, kind) over tcpdump's lines, and the connections: the clients' SYNs (without ACK)."""
    counts = collections.Counter()
    connections = 0
    for line in lines:
        c = classify(line, proxy_net)
        if c is None:
            continue
        leg, way, kind, flags = c
        counts[(leg, way, kind)] += 1
        if leg == 'client' and way == 'to proxy' and kind == 'SYN' and '.' not in flags:
            connections += 1
    return counts, connections


def report(target, row, counts, connections, requests):
    """Lines for one capture: segments per request in all (per connection too on the close row, where each
    request has its own), then by leg, direction and kind."""
    n = max(requests, 1)
    out = [f'{row} {target}: {requests} requests, {connections} connections, {sum(counts.values()) / n:.2f} segments '
           'per request']
    for leg, ways in (('client', ('to proxy', 'from proxy')), ('endpoint', ('to endpoint', 'from endpoint'))):
        for way in ways:
            cells = [f'{k} {counts[(leg, way, k)] / n:.2f}' for k in KINDS if counts[(leg, way, k)]]
            out.append(f'  {leg} leg, {way}: ' + ', '.join(cells))
    return out


def capture(pcap, target, row, load, keep=True):
    """Runs load() (a measured load; returns its result with the 'requests' it made) while tcpdump records the
    headers of every TCP segment on loopback into pcap, then counts them per request; logs and returns the report's
    lines. keep=False removes the capture once counted."""
    with open(pcap + '.log', 'w') as err:
        # headers only (-s 96), a large buffer: a second of the close row is ~150,000 segments
        td = subprocess.Popen(['tcpdump', '-i', 'lo', '-n', '-s', '96', '-B', '262144', '-w', pcap, 'tcp'],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        time.sleep(1.0)
        r = load()
        time.sleep(0.3)
        td.send_signal(2)
        td.wait(timeout=30)
    with open(pcap + '.log') as f:
        dropped = [x.strip() for x in f if 'dropped by kernel' in x]
    text = subprocess.run(['tcpdump', '-n', '-tt', '-r', pcap], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    if not keep:
        os.remove(pcap)
    counts, connections = tally(text)
    lines = report(target, row, counts, connections, r.get('requests') or 0)
    if dropped and not dropped[0].startswith('0 '):
        lines.append(f'  tcpdump: {dropped[0]} (the counts are short of those)')
    for x in lines:
        bench.log(x)
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_tool_args(ap, 'close', 'tcp-packets')
    ap.add_argument('--seconds', type=int, default=1)
    ap.add_argument('--warmup', type=int, default=20)
    a = ap.parse_args()
    out, rundir, opts, targets, rows = bench.tool_setup(a)
    lines = []
    for procs, row, target, p, host in bench.tool_runs(rundir, rows, targets, opts):
        bench.run_load('http', row, host, a.warmup, procs)
        lines += capture(os.path.join(out, f'{row}-{target}.pcap'), target, row,
                         lambda: bench.run_load('http', row, host, a.seconds, procs))
    bench.write_summary(out, lines)
    return 0


if __name__ == '__main__':
    sys.exit(main())
