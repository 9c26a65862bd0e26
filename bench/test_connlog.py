"""Unit tests of bench/connlog.py's paired arithmetic against a peer (run by test.sh: python3 -m unittest discover -s
bench)."""
import unittest

import connlog


def rnd(row, off_a, off_b, on):
    """One round: each process's (req/s, CPU per 10k)."""
    out = {'row': row, 'others_max': 0.0, 'load1_max': 0.5}
    for t, (rps, cpu) in (('off-a', off_a), ('off-b', off_b), ('on', on)):
        out[t] = {'rps': rps, 'cpu_per_10k': cpu, 'loop_cpu_per_10k': cpu}
    return out


class PeerTest(unittest.TestCase):
    def test_the_peer_table_reads_requests_off_over_on_and_cpu_on_over_off(self):
        # "on" (HAProxy) does 1.25x svcproxy's connections per second at 0.8 of its CPU, in both rounds
        rounds = [rnd('close', (8000, 1.0), (8000, 1.0), (10000, 0.8)),
                  rnd('close', (6000, 1.2), (6000, 1.2), (7500, 0.96))]
        meta = {'started': 'now', 'rounds': 2, 'seconds': 3, 'settle': 1, 'jar_sha256': 'a' * 64,
                'jar_b_sha256': None, 'peer': 'haproxy'}

        text = connlog.report(meta, connlog.summarize(rounds, ['close']))

        self.assertIn('# svcproxy against haproxy', text)
        peer_table = text.split("svcproxy ÷ haproxy as bench.py's summary reads it")[1]
        self.assertIn('| close | req/s | 0.800, 0.800 [0.800, 0.800] | below |', peer_table)
        self.assertIn('| close | proxy CPU per 10k | 0.800, 0.800 [0.800, 0.800] | below |', peer_table)
        self.assertNotIn('3% bound', text, "the connection log's bound is not this comparison's")

    def test_the_user_and_system_split_is_shown_when_every_round_has_it(self):
        # HAProxy's user CPU half svcproxy's, its system CPU the same: the split says where the difference is
        rounds = []
        for user_off, user_on in ((0.3, 0.15), (0.4, 0.2)):
            r = rnd('close', (8000, 1.3 + user_off), (8000, 1.3 + user_off), (9000, 1.3 + user_on))
            for t in connlog.TARGETS:
                r[t]['user_per_10k'], r[t]['sys_per_10k'] = user_on if t == 'on' else user_off, 1.3
            rounds.append(r)
        meta = {'started': 'now', 'rounds': 2, 'seconds': 3, 'settle': 1, 'jar_sha256': 'a' * 64,
                'jar_b_sha256': None, 'peer': 'haproxy'}

        text = connlog.report(meta, connlog.summarize(rounds, ['close']))

        peer_table = text.split("svcproxy ÷ haproxy as bench.py's summary reads it")[1]
        self.assertIn('| close | proxy user CPU per 10k | 0.500, 0.500 [0.500, 0.500] | below |', peer_table)
        self.assertIn('| close | proxy system CPU per 10k | 1.000, 1.000 [1.000, 1.000] | at or above |', peer_table)
        self.assertIn('| close | proxy user CPU per 10k | 0.350 | 0.350 | 0.175 |', text)   # the medians

    def test_results_without_the_split_report_without_it(self):
        # a results file of this tool before the split (or a round without it) reads as before: no split rows
        rounds = [rnd('close', (8000, 1.0), (8000, 1.0), (10000, 0.8)),
                  rnd('close', (6000, 1.2), (6000, 1.2), (7500, 0.96))]
        rounds[0]['on']['user_per_10k'] = rounds[0]['on']['sys_per_10k'] = 0.4   # one target of one round only
        meta = {'started': 'now', 'rounds': 2, 'seconds': 3, 'settle': 1, 'jar_sha256': 'a' * 64,
                'jar_b_sha256': None, 'peer': 'haproxy'}

        summary = connlog.summarize(rounds, ['close'])
        text = connlog.report(meta, summary)

        self.assertNotIn('user CPU', text)
        self.assertEqual(set(connlog.against_peer(summary)['close']), {'rps', 'cpu_per_10k', 'loop_cpu_per_10k'})

    def test_inverse_swaps_the_ends_and_verdict_reads_the_interval(self):
        i = connlog.inverse({'n': 3, 'median': 0.8, 'geomean': 0.8, 'min': 0.5, 'max': 1.25, 'ci95': [0.64, 1.25]})

        self.assertAlmostEqual(i['geomean'], 1.25)
        self.assertEqual([round(x, 4) for x in i['ci95']], [0.8, 1.5625])
        self.assertEqual((round(i['min'], 4), round(i['max'], 4)), (0.8, 2.0))
        self.assertEqual(connlog.verdict(i), 'at or above')
        self.assertEqual(connlog.verdict({'geomean': 0.95, 'ci95': [0.9, 1.01]}), 'within the interval')
        self.assertEqual(connlog.verdict({'geomean': 0.95, 'ci95': [0.9, 0.99]}), 'below')


if __name__ == '__main__':
    unittest.main()
