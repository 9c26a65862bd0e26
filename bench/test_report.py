"""Unit tests of the bench's report arithmetic (run by test.sh: python3 -m unittest discover -s bench)."""
import json
import os
import tempfile
import types
import unittest

import bench


def result(workload, target, rep, **fields):
    return dict(workload=workload, target=target, rep=rep, **fields)


class PairedRatiosTest(unittest.TestCase):
    def test_each_repetition_is_compared_with_the_peer_of_the_same_repetition(self):
        # the peer drifts 50k -> 34k during the run; svcproxy is 0.9x of it in every repetition
        data = {'meta': {'targets': ['haproxy', 'svcproxy'], 'workloads': ['http'], 'idle_conns': 0},
                'results': [result('http', 'haproxy', 0, rps=50000, cpu_per_10k=0.20),
                            result('http', 'svcproxy', 0, rps=45000, cpu_per_10k=0.25),
                            result('http', 'haproxy', 1, rps=34000, cpu_per_10k=0.30),
                            result('http', 'svcproxy', 1, rps=30600, cpu_per_10k=0.375),
                            result('http', 'svcproxy', 2, rps=40000, cpu_per_10k=0.30),
                            result('http', 'haproxy', 2, rps=None, error='wrk failed')]}
        rows = {r['key']: r for r in bench.table_data(data)}

        self.assertEqual([round(x, 3) for x in rows['http']['paired']['svcproxy']], [0.9, 0.9],
                         'repetition 3 has no peer figure: left out')
        self.assertEqual([round(x, 3) for x in rows['cpuka']['paired']['svcproxy']], [0.8, 0.8],
                         'a lower-is-better row: peer / target')
        # the medians pair different moments: 40,000 (svcproxy's rep 3) against 42,000 (the peer's reps 1-2)
        self.assertAlmostEqual(rows['http']['ratios']['svcproxy'], 40000 / 42000)

    def test_the_summary_prints_both_ratios_and_pairs_the_ingress_rows_in_run_order(self):
        data = {'meta': {'targets': ['haproxy', 'svcproxy'], 'workloads': ['close'], 'idle_conns': 0},
                'results': [result('close', 'haproxy', 0, rps=10000, cpu_per_10k=1.0),
                            result('close', 'svcproxy', 0, rps=8000, cpu_per_10k=1.25),
                            result('close', 'svcproxy', 1, rps=6000, cpu_per_10k=1.5),
                            result('close', 'haproxy', 1, rps=7000, cpu_per_10k=1.4)]}
        with tempfile.TemporaryDirectory() as out:
            os.makedirs(os.path.join(out, 'ingress'))
            with open(os.path.join(out, 'ingress', 'ingress-results.json'), 'w') as f:
                json.dump({'results': [
                    {'row': 'h2', 'target': 'haproxy', 'rps': 50000, 'cpu_per_10k': 0.25},
                    {'row': 'h2', 'target': 'svcproxy', 'rps': 40000, 'cpu_per_10k': 0.3125},
                    {'row': 'h2', 'target': 'svcproxy', 'rps': 36000, 'cpu_per_10k': 0.40},
                    {'row': 'h2', 'target': 'haproxy', 'rps': 40000, 'cpu_per_10k': 0.32}]}, f)
            table = bench.summary(data, out)

        lines = {line.split(' | ')[0].lstrip('| '): line for line in table.splitlines()}
        self.assertIn('svcproxy ÷ peer by repetition: median (min–max)', table)
        # medians 7,000 / 8,500 = 0.82; by repetition 0.80 and 0.86
        self.assertTrue(lines['new connection per request (Connection: close), conn/s']
                        .endswith('| **0.82** | 0.83 (0.80–0.86) | **below** |'), table)
        # Ingress by run order: 40,000 / 50,000 and 36,000 / 40,000
        self.assertTrue(lines['Ingress h2, req/s'].endswith('| **0.84** | 0.85 (0.80–0.90) | **below** |'), table)
        self.assertTrue(lines['Ingress h2, proxy CPU per 10k requests, s']
                        .endswith('| 0.80 (0.80–0.80) | **below** |'), table)

    def test_a_failed_ingress_measurement_leaves_its_repetition_out_and_shifts_no_pair(self):
        res = [{'row': 'http', 'target': 'haproxy', 'rps': 30000, 'cpu_per_10k': 0.30},
               {'row': 'http', 'target': 'svcproxy', 'error': 'the proxy did not start'},
               {'row': 'http', 'target': 'svcproxy', 'rps': 27000, 'cpu_per_10k': 0.40},
               {'row': 'http', 'target': 'haproxy', 'rps': 20000, 'cpu_per_10k': 0.36},
               {'row': 'h2', 'target': 'haproxy', 'rps': 99999, 'cpu_per_10k': 0.1}]

        ratios = bench.run_order_ratios(res, lambda r: r['row'] == 'http', 'svcproxy', 'haproxy', 'rps', True)

        self.assertEqual([round(x, 3) for x in ratios], [1.35], 'repetition 2 only: 27,000 / 20,000')


class VerdictTest(unittest.TestCase):
    def test_a_row_is_at_or_above_within_the_spread_or_below_in_every_repetition(self):
        self.assertEqual(bench.verdict(1.03, [0.87, 0.90, 1.03]), 'at or above')
        self.assertEqual(bench.verdict(0.996, [0.97, 0.98]), 'at or above', 'reads as 1.00 in the table')
        self.assertEqual(bench.verdict(0.94, [0.69, 0.99, 1.15]), 'within spread')
        self.assertEqual(bench.verdict(0.93, [0.74, 0.78, 0.93]), '**below**')
        self.assertEqual(bench.verdict(0.93, None), '**below**', 'no repetitions: the ratio decides')
        self.assertEqual(bench.verdict(None, [1.2]), '–')

    def test_the_summary_names_the_rows_below_the_peer_in_every_repetition(self):
        data = {'meta': {'targets': ['haproxy', 'svcproxy'], 'workloads': ['http', 'close'], 'idle_conns': 0},
                'results': [result('http', 'haproxy', 0, rps=30000, cpu_per_10k=0.30),
                            result('http', 'svcproxy', 0, rps=33000, cpu_per_10k=0.27),
                            result('close', 'haproxy', 0, rps=9000, cpu_per_10k=1.0),
                            result('close', 'svcproxy', 0, rps=8000, cpu_per_10k=1.1)]}
        with tempfile.TemporaryDirectory() as out:
            table = bench.summary(data, out)

        lines = {line.split(' | ')[0].lstrip('| '): line for line in table.splitlines()}
        self.assertTrue(lines['keep-alive HTTP (wrk -t2 -c64), req/s'].endswith('| at or above |'), table)
        self.assertTrue(table.endswith('Below the peer in every repetition (a paired row: over its whole 95% '
                                       'interval): new connection per request '
                                       '(Connection: close), conn/s (svcproxy); proxy CPU per 10k new connections, '
                                       's (svcproxy).'), table)


class StartupGoalTest(unittest.TestCase):
    def test_the_start_up_goals_are_rows_whose_peer_is_the_goal(self):
        data = {'meta': {'targets': ['haproxy', 'svcproxy'], 'workloads': ['startup'], 'idle_conns': 0},
                'results': []}
        with tempfile.TemporaryDirectory() as out:
            os.makedirs(os.path.join(out, 'startup'))
            with open(os.path.join(out, 'startup', 'startup-results.json'), 'w') as f:
                json.dump({'results': {'default': [{'listen_s': 0.38, 'rss_mib': 61.0},
                                                   {'listen_s': 0.45, 'rss_mib': 62.0},
                                                   {'listen_s': 0.50, 'rss_mib': 61.5}]}}, f)
            table = bench.summary(data, out)

        lines = {line.split(' | ')[0].lstrip('| '): line for line in table.splitlines()}
        # 0.40 / 0.45 = 0.89; one start of three (0.38 s) meets it
        self.assertTrue(lines["time from the launcher's start to listening, s (3 starts)"]
                        .endswith('| goal | 0.400 | 0.450 | **0.89** | 0.89 (0.80–1.05) | within spread |'), table)
        self.assertTrue(lines['RSS with no connection (5 s after listening), MiB (3 starts)']
                        .endswith('| **1.04** | 1.04 (1.03–1.05) | at or above |'), table)


class FailedWorkloadTest(unittest.TestCase):
    def test_a_workload_whose_harness_failed_is_named_under_the_table(self):
        data = {'meta': {'targets': ['haproxy', 'svcproxy'], 'workloads': ['udp'], 'idle_conns': 0}, 'results': []}
        with tempfile.TemporaryDirectory() as out:
            os.makedirs(os.path.join(out, 'run'))
            with open(os.path.join(out, 'run', 'udp.failed'), 'w') as f:
                f.write('rc 1: udp bench: dnsperf is missing')
            table = bench.summary(data, out)
            os.remove(os.path.join(out, 'run', 'udp.failed'))
            self.assertNotIn('Rows missing', bench.summary(data, out))

        self.assertTrue(table.endswith('**Rows missing: these workloads failed**: udp (rc 1: udp bench: dnsperf is '
                                       'missing).'), table)


class RunExtrasTest(unittest.TestCase):
    """run_extras: a harness that failed, or ran without a usable round of a row, is named; stale files go."""

    def run_pair_tcp(self, out, rc, summary):
        def fake(argv, timeout, procs):
            if summary is not None:
                with open(os.path.join(out, 'pair-tcp', 'connlog-results.json'), 'w') as f:
                    json.dump({'summary': summary}, f)
            return rc, '', 'connlog: haproxy exited' if rc else ''
        opts = types.SimpleNamespace(workloads=['pair-tcp'], quick=False, jar='svcproxy.jar')
        saved, bench.run_bounded = bench.run_bounded, fake
        try:
            bench.run_extras(opts, out, None)
        finally:
            bench.run_bounded = saved
        path = os.path.join(out, 'run', 'pair-tcp.failed')
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return f.read()

    def test_a_failed_harness_a_lost_row_and_a_clean_rerun(self):
        with tempfile.TemporaryDirectory() as out:
            os.makedirs(os.path.join(out, 'run'))
            self.assertEqual(self.run_pair_tcp(out, 1, None), 'rc 1: connlog: haproxy exited')
            # rc 0, but every round of `close` was an error: its row is missing from the summary
            self.assertEqual(self.run_pair_tcp(out, 0, {'http': {}}),
                             'no usable rounds of close (see run/pair-tcp.out)')
            self.assertIsNone(self.run_pair_tcp(out, 0, {'http': {}, 'close': {}}))
            # a rerun into the same folder whose harness writes nothing leaves no earlier results behind
            self.assertEqual(self.run_pair_tcp(out, 1, None), 'rc 1: connlog: haproxy exited')
            self.assertFalse(os.path.exists(os.path.join(out, 'pair-tcp', 'connlog-results.json')))


class PairRowsTest(unittest.TestCase):
    """The pair-tcp and pair-ingress workloads' rows: svcproxy ÷ HAProxy over paired rounds, judged on the interval."""

    def test_paired_rows_read_svcproxy_over_haproxy_and_take_their_verdict_from_the_interval(self):
        import connlog
        def row(ratio_key, targets, rps, cpu):
            # one row of a paired tool's summary: per figure the per-round ratios and the targets' medians (the
            # event-loop figure as the process's, which the rows do not show)
            return {'rounds': 4, **{field: {ratio_key: connlog.interval(ratios), 'median': dict(zip(targets, med))}
                                    for field, (ratios, med) in (('rps', rps), ('cpu_per_10k', cpu),
                                                                 ('loop_cpu_per_10k', cpu))}}
        tcp_row = lambda rps, cpu: row('on_off', ('on', 'off-a', 'off-b'), rps, cpu)  # noqa: E731
        ing_row = lambda rps, cpu: row('b_a', ('a', 'a2', 'b'), rps, cpu)  # noqa: E731
        tcp = {  # connlog.py --peer haproxy: `on` is HAProxy; on ÷ off per round
            # HAProxy 1.15-1.19x svcproxy's conn/s in every round: below
            'close': tcp_row(([1.15, 1.17, 1.19, 1.16], (9000, 7700, 7800)),
                             ([0.85, 0.86, 0.84, 0.87], (1.2, 1.4, 1.41))),
            # svcproxy ahead in the mean: at or above
            'http': tcp_row(([0.95, 0.97, 1.01, 0.96], (40000, 41000, 41500)),
                            ([1.02, 1.04, 0.99, 1.03], (0.2, 0.195, 0.196)))}
        ing = {  # ingress_pair.py --peer haproxy: `b` is HAProxy; b ÷ a per round
            # HAProxy ahead by 0.4%: the ratio reads 1.00, as the unpaired rows round it
            'http': ing_row(([1.00, 1.01, 1.002, 1.004], (30000, 30000, 30100)),
                            ([1.0, 1.0, 1.0, 1.0], (0.3, 0.3, 0.3))),
            # HAProxy ahead by 1-5%, svcproxy ahead once: within spread
            'h2': ing_row(([1.05, 0.99, 1.03, 1.01], (40000, 40400, 41000)),
                          ([0.96, 1.01, 0.97, 0.99], (0.3, 0.3, 0.29)))}
        data = {'meta': {'targets': ['haproxy', 'svcproxy'], 'workloads': ['pair-tcp', 'pair-ingress'],
                         'idle_conns': 0}, 'results': []}
        with tempfile.TemporaryDirectory() as out:
            for w, summ in (('pair-tcp', tcp), ('pair-ingress', ing)):
                os.makedirs(os.path.join(out, w))
                with open(bench.results_path(out, w), 'w') as f:
                    json.dump({'summary': summ}, f)
            table = bench.summary(data, out)

        lines = {line.split(' (')[0].lstrip('| '): line for line in table.splitlines() if 'paired with' in line}
        close = lines['TCP new connection per request, conn/s, paired with HAProxy']
        # 1 / geomean(1.15, 1.17, 1.19, 1.16) = 0.86; svcproxy's figure the geometric mean of its two processes
        self.assertIn('| HAProxy | 9,000 | 7,750 | **0.86** |', close)
        lo, hi = connlog.inverse(tcp['close']['rps']['on_off'])['ci95']
        self.assertIn(f'paired with HAProxy (4 rounds; 95% CI {lo:.3f}-{hi:.3f}) |', close)
        self.assertTrue(close.endswith('| **below** |'), close)
        # geomean(0.85, 0.86, 0.84, 0.87) = 0.855: HAProxy's CPU per connection over svcproxy's
        self.assertTrue(lines['TCP new connection per request, proxy CPU per 10k new connections, s, paired with '
                              'HAProxy'].endswith('| **0.85** | – | **below** |'), table)
        self.assertTrue(lines['TCP keep-alive, req/s, paired with HAProxy'].endswith('| at or above |'), table)
        self.assertTrue(lines['TCP keep-alive, proxy CPU per 10k requests, s, paired with HAProxy']
                        .endswith('| at or above |'), table)
        h2 = lines['Ingress h2, req/s, paired with HAProxy']
        # HAProxy is ingress_pair's b; svcproxy the geometric mean of a and a2 (40,000 and 40,400)
        self.assertIn('| HAProxy | 41,000 | 40,200 | **0.98** |', h2)
        self.assertTrue(h2.endswith('| within spread |'), h2)
        self.assertTrue(lines['Ingress h2, proxy CPU per 10k requests, s, paired with HAProxy']
                        .endswith('| within spread |'), table)
        self.assertIn('95% interval): TCP new connection per request, conn/s, paired with HAProxy', table)
        self.assertNotIn('; Ingress h2', table)
        self.assertTrue(lines['Ingress keep-alive, req/s, paired with HAProxy']
                        .endswith('| **1.00** | – | at or above |'), table)


if __name__ == '__main__':
    unittest.main()
