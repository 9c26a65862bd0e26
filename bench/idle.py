#!/usr/bin/python3
"""Idle-connection memory test: a holding backend (--serve) and the client.

The backend listens on every --backend address and holds each accepted connection open (it reads and
discards, never writes); on --control it answers each connection with the number it holds. The client opens --warm
connections through --target, waits until the backend holds them, closes them, then measures the RSS of the proxy
(every process of process group --pgid), opens --n connections in --steps equal batches, waiting after each until the
backend holds them all (so the proxy has really connected each one to an endpoint) and measuring again, closes them
all, waits until the backend has seen every close, and measures once more. Prints one JSON object on stdout. Bounded
by --timeout seconds. No byte is sent either way: the connections are idle, as in the reference measurement.

Every RSS reading waits --settle seconds, then until the RSS has stayed within --settle-kib for --settle seconds
(at most --settle-max seconds): a proxy that is still compiling, collecting or growing its heap after the last
connection is read when it has come to rest, as a user's `ps` would show it a moment later, not in the middle of a
step. Nothing is asked of the proxy (no forced collection): the figure is what the process holds.
rss_per_conn_kib is (RSS with --n held - RSS before) / held; rss_slope_kib is the least-squares slope of RSS over the
batches (before included), which a one-off step at one batch moves less.
"""
import argparse
import asyncio
import json
import os
import resource
import sys
import time


def pgid_rss_kib(pgid):
    """Sum of VmRSS (KiB) over every process whose process group is pgid."""
    total, procs = 0, 0
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open(f'/proc/{d}/stat') as f:
                st = f.read()
            fields = st[st.rindex(')') + 2:].split()
            if int(fields[2]) != pgid:          # field 5 of stat: pgrp
                continue
            with open(f'/proc/{d}/status') as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        total += int(line.split()[1])
                        procs += 1
                        break
        except (OSError, ValueError):
            continue
    return total, procs


class Hold(asyncio.Protocol):
    def __init__(self, state):
        self.state = state

    def connection_made(self, transport):
        self.state['held'] += 1

    def data_received(self, data):
        pass

    def eof_received(self):
        return False  # close our side too

    def connection_lost(self, exc):
        self.state['held'] -= 1


class Client(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        pass


async def open_many(loop, host, port, n, deadline, conc=64):
    conns, errors = [], []
    sem = asyncio.Semaphore(conc)

    async def one():
        async with sem:
            for attempt in range(3):
                try:
                    tr, _ = await asyncio.wait_for(
                        loop.create_connection(Client, host, port),
                        timeout=max(0.1, deadline - time.monotonic()))
                    conns.append(tr)
                    return
                except Exception as e:  # noqa: BLE001
                    if attempt == 2 or time.monotonic() > deadline:
                        errors.append(repr(e))
                        return
                    await asyncio.sleep(0.1)

    await asyncio.gather(*(one() for _ in range(n)))
    return conns, errors


class Held:
    """The backend's count, asked over its control port."""

    def __init__(self, control):
        h, p = control.rsplit(':', 1)
        self.addr = (h, int(p))

    async def get(self):
        r, w = await asyncio.open_connection(*self.addr)
        line = await r.readline()
        w.close()
        return int(line)


async def settled_rss_kib(pgid, settle, settle_max, tol_kib):
    """RSS of the group once it has stayed within tol_kib for `settle` seconds (at most settle_max); (kib, waited s)."""
    t0 = time.monotonic()
    await asyncio.sleep(settle)
    window = [(time.monotonic(), pgid_rss_kib(pgid)[0])]
    while True:
        await asyncio.sleep(0.25)
        now = time.monotonic()
        window.append((now, pgid_rss_kib(pgid)[0]))
        window = [(t, v) for t, v in window if t >= now - settle - 1e-6]
        values = [v for _, v in window]
        if (window[0][0] <= now - settle + 0.26 and max(values) - min(values) <= tol_kib) or now - t0 >= settle_max:
            return values[-1], round(now - t0, 2)


def slope(points):
    """Least-squares slope of y over x."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else float('nan')


async def wait_held(held, pred, deadline, what):
    while True:
        n = await held.get()
        if pred(n):
            return n
        if time.monotonic() > deadline:
            raise TimeoutError(f'{what} (backend holds {n})')
        await asyncio.sleep(0.05)


async def serve(a):
    loop = asyncio.get_running_loop()
    state = {'held': 0}
    for b in a.backend:
        h, p = b.rsplit(':', 1)
        await loop.create_server(lambda: Hold(state), h, int(p), backlog=4096, reuse_address=True)

    async def control(r, w):
        w.write(f"{state['held']}\n".encode())
        await w.drain()
        w.close()
    h, p = a.control.rsplit(':', 1)
    await asyncio.start_server(control, h, int(p), reuse_address=True)
    print('ready', file=sys.stderr, flush=True)
    await asyncio.sleep(a.timeout)


async def main(a):
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + a.timeout
    held = Held(a.control)
    host, port = a.target.rsplit(':', 1)
    port = int(port)
    out = {'n': a.n, 'warm': a.warm}
    t0 = time.monotonic()
    # warm-up
    conns, errs = await open_many(loop, host, port, a.warm, deadline)
    await wait_held(held, lambda n: n >= len(conns), deadline, 'warm-up connections reach the backend')
    for c in conns:
        c.close()
    await wait_held(held, lambda n: n == 0, deadline, 'warm-up connections close at the backend')
    out['rss_before_kib'], out['settle_before_s'] = await settled_rss_kib(a.pgid, a.settle, a.settle_max, a.settle_kib)
    out['procs'] = pgid_rss_kib(a.pgid)[1]
    # the measured connections, in batches
    t1 = time.monotonic()
    conns, errs, steps, n = [], [], [[0, out['rss_before_kib']]], 0
    for i in range(a.steps):
        batch = a.n * (i + 1) // a.steps - a.n * i // a.steps
        c, e = await open_many(loop, host, port, batch, deadline)
        conns += c
        errs += e
        try:
            n = await wait_held(held, lambda n: n >= len(conns), deadline, 'connections reach the backend')
        except TimeoutError as e:
            out['timeout'] = str(e)
            n = await held.get()
            break
        rss, waited = await settled_rss_kib(a.pgid, a.settle, a.settle_max, a.settle_kib)
        steps.append([n, rss])
        out.setdefault('settle_held_s', []).append(waited)
    out['opened'] = len(conns)
    out['open_errors'] = len(errs)
    out['open_error_samples'] = errs[:3]
    out['held_at_backend'] = n
    out['open_seconds'] = round(time.monotonic() - t1, 3)
    out['rss_held_kib'] = steps[-1][1]
    out['steps'] = steps
    out['rss_per_conn_kib'] = round((out['rss_held_kib'] - out['rss_before_kib']) / max(1, n), 3)
    out['rss_slope_kib'] = round(slope(steps), 3) if len(steps) > 2 else out['rss_per_conn_kib']
    for c in conns:
        c.close()
    try:
        await wait_held(held, lambda n: n == 0, deadline, 'connections close at the backend')
    except TimeoutError as e:
        out['timeout_close'] = str(e)
    out['rss_closed_kib'], _ = await settled_rss_kib(a.pgid, a.settle, a.settle_max, a.settle_kib)
    out['seconds'] = round(time.monotonic() - t0, 3)
    print(json.dumps(out))


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--target', help='IP:PORT of the proxy')
    ap.add_argument('--serve', action='store_true', help='be the holding backend')
    ap.add_argument('--backend', action='append', default=[], help='backend: IP:PORT to listen on (repeat)')
    ap.add_argument('--control', default='127.0.0.11:8099', help="IP:PORT of the backend's count")
    ap.add_argument('--pgid', type=int, default=0, help='process group of the proxy (RSS summed over it)')
    ap.add_argument('--n', type=int, default=5000)
    ap.add_argument('--warm', type=int, default=200)
    ap.add_argument('--settle', type=float, default=1.0,
                    help='seconds to wait before each RSS reading, and for which it must stay within --settle-kib')
    ap.add_argument('--settle-kib', type=int, default=256, help='how far the RSS may move while settling (KiB)')
    ap.add_argument('--settle-max', type=float, default=6.0, help='seconds a reading waits for the RSS to settle, at most')
    ap.add_argument('--steps', type=int, default=5, help='batches the --n connections are opened in (default 5)')
    ap.add_argument('--timeout', type=float, default=90, help='seconds (backend: how long it serves)')
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        asyncio.run(serve(args) if args.serve else main(args))
    except TimeoutError as e:
        print(json.dumps({'error': f'timed out: {e}'}))
        sys.exit(1)
