#!/usr/bin/python3
"""Draws a flame graph PNG from collapsed stacks (async-profiler's `collapsed` output: `frame;frame;... count`).

Standard library and gnuplot (pngcairo) only, so that the picture can be committed to docs/: frames narrower
than --min-pct of all samples are left out, labels are cut to the width of their frame. Colours: Java frames
green, Netty blue, svcproxy orange, JVM/native red, kernel yellow.

    bench/flamegraph.py bulk1.collapsed docs/flame-bulk1.png --title 'bulk, 1 stream'
"""
import argparse
import subprocess
import sys


def load(path):
    root = {'n': 0, 'c': {}}
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if not line:
                continue
            stack, _, count = line.rpartition(' ')
            try:
                n = int(count)
            except ValueError:
                continue
            root['n'] += n
            node = root
            for frame in stack.split(';'):
                node = node['c'].setdefault(frame, {'n': 0, 'c': {}})
                node['n'] += n
    return root


def colour(frame):
    if frame.endswith('_[k]'):
        return '#e6c229'
    if frame.startswith('io/netty') or frame.startswith('io.netty'):
        return '#6fa8dc'
    if frame.startswith('io/svcproxy') or frame.startswith('io.svcproxy'):
        return '#f39c34'
    if '/' in frame or '.' in frame.split('(')[0] and not frame.endswith('_[j]') and '::' not in frame:
        return '#7cc47c' if not frame.startswith('[') else '#b0b0b0'
    return '#e06666'


def short(frame):
    f = frame.replace('_[j]', '').replace('_[i]', '').replace('_[k]', ' [k]')
    if '.' in f and '/' in f:
        cls, _, meth = f.rpartition('.')
        f = cls.rsplit('/', 1)[-1] + '.' + meth
    return f.replace('"', "'")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('collapsed')
    ap.add_argument('png')
    ap.add_argument('--title', default='')
    ap.add_argument('--min-pct', type=float, default=0.4)
    ap.add_argument('--width', type=int, default=1600)
    opts = ap.parse_args()
    root = load(opts.collapsed)
    total = root['n']
    if not total:
        sys.exit(f'flamegraph: no samples in {opts.collapsed}')
    rects = []
    depth_max = [0]

    def walk(node, x, depth):
        for frame, child in sorted(node['c'].items()):
            w = child['n'] / total
            if w * 100 >= opts.min_pct:
                rects.append((x, depth, w, frame, child['n']))
                depth_max[0] = max(depth_max[0], depth + 1)
                walk(child, x, depth + 1)
            x += w

    walk(root, 0.0, 0)
    row_px = 16
    height = (depth_max[0] + 3) * row_px + 40
    chars_per_unit = opts.width / 7.0      # about 7 px per character at font size 8
    lines = [f"set terminal pngcairo size {opts.width},{height} font ',8' noenhanced",
             f"set output '{opts.png}'",
             'set xrange [0:1]', f'set yrange [0:{depth_max[0] + 1}]', 'unset xtics', 'unset ytics',
             'unset border', 'unset key', 'set lmargin 0.5', 'set rmargin 0.5', 'set bmargin 0.5',
             f"set title \"{opts.title.replace(chr(34), chr(39))} ({total:,} samples; frames under "
             f"{opts.min_pct}% left out)\""]
    for i, (x, d, w, frame, n) in enumerate(rects, 1):
        lines.append(f"set object {i} rect from {x:.6f},{d} to {x + w:.6f},{d + 0.92} "
                     f"fc rgb '{colour(frame)}' fs solid 1.0 noborder")
        room = int(w * chars_per_unit) - 1
        if room >= 4:
            label = f'{short(frame)} {100 * n / total:.1f}%'
            if len(label) > room:
                label = label[:room - 2] + '..'
            lines.append(f'set label "{label}" at {x + 0.002:.6f},{d + 0.45} left front')
    lines.append('plot -1 notitle')
    subprocess.run(['gnuplot'], input='\n'.join(lines) + '\n', text=True, check=True, timeout=120)
    print(f'{opts.png}: {len(rects)} frames, {total:,} samples')


if __name__ == '__main__':
    main()
