"""Unit tests of bench/tcp_packets.py's reading of tcpdump's lines (run by test.sh before Maven)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tcp_packets  # noqa: E402

# `tcpdump -n -tt -r` as tcpdump 4.99 prints it: one connection through a proxy on 127.0.10.1:8080 to an endpoint on
# 127.0.0.11:8080; the endpoint's answer and FIN come apart, the proxy passes both on in one segment
LINES = """\
1796513573.974894 IP 127.0.0.1.58278 > 127.0.10.1.8080: Flags [S], seq 3239664149, win 65495, options [mss 65495,sackOK,TS val 1 ecr 0,nop,wscale 10], length 0
1796513573.974903 IP 127.0.10.1.8080 > 127.0.0.1.58278: Flags [S.], seq 891180464, ack 3239664150, win 65483, options [mss 65495,sackOK,TS val 2 ecr 1,nop,wscale 10], length 0
1796513573.974907 IP 127.0.0.1.58278 > 127.0.10.1.8080: Flags [.], ack 1, win 64, options [nop,nop,TS val 3 ecr 2], length 0
1796513573.974910 IP 127.0.0.1.58278 > 127.0.10.1.8080: Flags [P.], seq 1:61, ack 1, win 64, options [nop,nop,TS val 4 ecr 2], length 60: HTTP: GET / HTTP/1.1
1796513573.974911 IP 127.0.0.1.55510 > 127.0.0.11.8080: Flags [S], seq 1, win 65495, options [mss 65495], length 0
1796513573.974912 IP 127.0.0.11.8080 > 127.0.0.1.55510: Flags [S.], seq 7, ack 2, win 65483, options [mss 65495], length 0
1796513573.974844 IP 127.0.0.1.55510 > 127.0.0.11.8080: Flags [P.], seq 1:61, ack 1, win 64, options [nop,nop,TS val 5 ecr 6], length 60: HTTP: GET / HTTP/1.1
1796513573.974898 IP 127.0.0.11.8080 > 127.0.0.1.55510: Flags [P.], seq 1:245, ack 61, win 64, options [nop,nop,TS val 7 ecr 5], length 244: HTTP: HTTP/1.1 200 OK
1796513573.974918 IP 127.0.0.11.8080 > 127.0.0.1.55510: Flags [F.], seq 245, ack 61, win 64, options [nop,nop,TS val 8 ecr 5], length 0
1796513573.974920 IP 127.0.10.1.8080 > 127.0.0.1.58278: Flags [FP.], seq 1:245, ack 61, win 64, options [nop,nop,TS val 9 ecr 4], length 244: HTTP: HTTP/1.1 200 OK
1796513573.974925 IP 127.0.0.1.58278 > 127.0.10.1.8080: Flags [F.], seq 61, ack 246, win 64, options [nop,nop,TS val 10 ecr 9], length 0
1796513573.974930 IP 127.0.0.1.55510 > 127.0.0.11.8080: Flags [R.], seq 61, ack 246, win 64, length 0
reading from file x.pcap, link-type EN10MB (Ethernet), snapshot length 96
"""


class TcpPacketsTest(unittest.TestCase):
    def test_counts_each_legs_segments_by_direction_and_kind_and_the_clients_syns_as_connections(self):
        counts, connections = tcp_packets.tally(LINES.splitlines())
        self.assertEqual(connections, 1)  # the SYN-ACK is a SYN segment, not a connection
        self.assertEqual(counts[('client', 'to proxy', 'SYN')], 1)
        self.assertEqual(counts[('client', 'from proxy', 'SYN')], 1)
        self.assertEqual(counts[('client', 'to proxy', 'ack')], 1)
        self.assertEqual(counts[('client', 'to proxy', 'data')], 1)
        self.assertEqual(counts[('client', 'from proxy', 'FIN+data')], 1)
        self.assertEqual(counts[('client', 'to proxy', 'FIN')], 1)
        self.assertEqual(counts[('endpoint', 'to endpoint', 'SYN')], 1)
        self.assertEqual(counts[('endpoint', 'from endpoint', 'SYN')], 1)
        self.assertEqual(counts[('endpoint', 'to endpoint', 'data')], 1)
        self.assertEqual(counts[('endpoint', 'from endpoint', 'data')], 1)
        self.assertEqual(counts[('endpoint', 'from endpoint', 'FIN')], 1)
        self.assertEqual(counts[('endpoint', 'to endpoint', 'RST')], 1)
        self.assertEqual(sum(counts.values()), 12)  # tcpdump's own message line is no segment

    def test_reports_segments_per_request_by_leg(self):
        counts, connections = tcp_packets.tally(LINES.splitlines())
        lines = tcp_packets.report('svcproxy', 'close', counts, connections, 1)
        self.assertEqual(lines[0], 'close svcproxy: 1 requests, 1 connections, 12.00 segments per request')
        self.assertEqual(lines[2], '  client leg, from proxy: SYN 1.00, FIN+data 1.00')
        self.assertEqual(lines[4], '  endpoint leg, from endpoint: SYN 1.00, data 1.00, FIN 1.00')


if __name__ == '__main__':
    unittest.main()
