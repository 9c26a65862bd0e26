"""Unit tests of bench/ingress_pair.py's arithmetic (run by test.sh: python3 -m unittest discover -s bench)."""
import math
import unittest

import connlog
import ingress_pair


def rnd(row, a, a2, b, **extra):
    """One round: each target's (req/s, CPU per 10k)."""
    out = {'row': row, 'others_max': 0.0, **extra}
    for t, (rps, cpu) in (('a', a), ('a2', a2), ('b', b)):
        out[t] = {'rps': rps, 'cpu_per_10k': cpu, 'loop_cpu_per_10k': cpu * 0.9}
    return out


class SummaryTest(unittest.TestCase):
    def test_b_is_compared_with_the_geometric_mean_of_both_a_processes_of_its_round(self):
        rounds = [rnd('h2', (40000, 0.30), (36000, 0.40), (38000, 0.33)),
                  rnd('h2', (30000, 0.40), (30000, 0.40), (33000, 0.36))]

        s = ingress_pair.summarize(rounds, ['h2'])['h2']

        self.assertEqual(s['rounds'], 2)
        cpu = s['cpu_per_10k']['b_a']
        self.assertAlmostEqual(cpu['min'], 0.9)                           # 0.36 / 0.40
        self.assertAlmostEqual(cpu['max'], 0.33 / math.sqrt(0.30 * 0.40))  # 0.953
        self.assertAlmostEqual(s['rps']['a2_a']['min'], 0.9)               # 36,000 / 40,000
        self.assertEqual(s['rps']['median'], {'a': 35000, 'a2': 33000, 'b': 35500})

    def test_a_round_with_a_failed_measurement_is_left_out_and_rows_are_apart(self):
        bad = rnd('h2', (40000, 0.30), (36000, 0.40), (38000, 0.33))
        bad['b'] = {'error': 'b exited with 1'}
        rounds = [bad, rnd('h2', (30000, 0.40), (30000, 0.40), (33000, 0.36)),
                  rnd('http', (20000, 0.5), (20000, 0.5), (10000, 1.0))]

        s = ingress_pair.summarize(rounds, ['h2', 'http', 'close'])

        self.assertEqual(s['h2']['rounds'], 1)
        self.assertAlmostEqual(s['h2']['cpu_per_10k']['b_a']['geomean'], 0.9)
        self.assertAlmostEqual(s['http']['rps']['b_a']['geomean'], 0.5)
        self.assertNotIn('close', s, 'no rounds: no row')


class PeerTest(unittest.TestCase):
    def test_against_the_peer_reads_as_the_bench_summary_requests_a_over_b_and_cpu_b_over_a(self):
        # b (HAProxy) does 10% more requests per second than svcproxy at 0.9 of its CPU in both rounds
        rounds = [rnd('http', (30000, 0.40), (30000, 0.40), (33000, 0.36)),
                  rnd('http', (20000, 0.50), (20000, 0.50), (22000, 0.45))]

        s = ingress_pair.against_peer(ingress_pair.summarize(rounds, ['http']))['http']

        self.assertAlmostEqual(s['rps']['geomean'], 1 / 1.1)
        self.assertAlmostEqual(s['rps']['min'], 1 / 1.1)
        self.assertAlmostEqual(s['cpu_per_10k']['geomean'], 0.9)
        self.assertEqual(connlog.verdict(s['rps']), 'below')   # no spread: the interval is the point
        self.assertEqual(connlog.verdict(s['cpu_per_10k']), 'below')

    def test_the_user_and_system_split_reads_as_cpu_and_only_where_every_round_has_it(self):
        # b's user CPU 0.6 of a's and its system CPU the same; the round of a run before the split has neither
        rounds = [rnd('h2', (40000, 0.30), (40000, 0.30), (40000, 0.26)),
                  rnd('h2', (30000, 0.40), (30000, 0.40), (30000, 0.34))]
        for r in rounds:
            for t in ingress_pair.TARGETS:
                user = 0.06 if t == 'b' else 0.10
                r[t]['user_per_10k'], r[t]['sys_per_10k'] = user, r[t]['cpu_per_10k'] - user

        s = ingress_pair.against_peer(ingress_pair.summarize(rounds, ['h2']))['h2']
        old = ingress_pair.against_peer(ingress_pair.summarize(
            rounds + [rnd('h2', (30000, 0.40), (30000, 0.40), (30000, 0.34))], ['h2']))['h2']

        self.assertAlmostEqual(s['user_per_10k']['geomean'], 0.6)
        self.assertAlmostEqual(s['sys_per_10k']['geomean'], math.sqrt((0.20 / 0.20) * (0.28 / 0.30)))
        self.assertEqual(set(old), {'rps', 'cpu_per_10k', 'loop_cpu_per_10k'})

    def test_requests_per_second_are_inverted_and_cpu_passed_as_it_is(self):
        i = {'median': 0.8, 'geomean': 0.8, 'min': 0.5, 'max': 1.25, 'ci95': [0.64, 1.25]}
        summary = {'h2': {'rps': {'b_a': i}, 'cpu_per_10k': {'b_a': i}, 'loop_cpu_per_10k': {'b_a': i}}}

        s = ingress_pair.against_peer(summary)['h2']

        self.assertAlmostEqual(s['rps']['geomean'], 1.25)
        self.assertIs(s['cpu_per_10k'], i)
        self.assertEqual(connlog.verdict(s['cpu_per_10k']), 'within the interval')

    def test_the_report_names_the_peer_and_gives_its_table(self):
        rounds = [rnd('http', (30000, 0.40), (31000, 0.40), (33000, 0.36)),
                  rnd('http', (20000, 0.50), (21000, 0.48), (22000, 0.45))]
        meta = {'started': 'now', 'rounds': 2, 'seconds': 5, 'settle': 1, 'warmup': 30, 'jar_sha256': 'a' * 64,
                'jar_b_sha256': 'a' * 64, 'peer': 'haproxy', 'peer_warmup': 5}

        text = ingress_pair.report(meta, ingress_pair.summarize(rounds, ['http']))

        self.assertIn('# svcproxy against haproxy', text)
        self.assertIn('b: haproxy', text)
        self.assertIn('svcproxy ÷ haproxy', text)
        self.assertIn('| http | req/s |', text.split('svcproxy ÷ haproxy')[1])


if __name__ == '__main__':
    unittest.main()
