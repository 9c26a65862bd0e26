"""Unit tests of bench/ingress_pair.py's arithmetic (run by test.sh: python3 -m unittest discover -s bench)."""
import math
import unittest

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


if __name__ == '__main__':
    unittest.main()
