"""Unit tests of bench/sched_trace.py's reading of a perf trace (run by test.sh before Maven)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sched_trace  # noqa: E402

# `perf script -F comm,pid,tid,event,trace` as perf 6.1 prints it: the proxy is process 500 (a JVM: threads 501 and
# 502, and its compiler 503), nginx 600, wrk 700/701
TRACE = """\
 svcproxy-io-1-1   500/501   syscalls:sys_exit_epoll_pwait2: 0xc
 svcproxy-io-1-1   500/501   sched:sched_wakeup: comm=nginx pid=600 prio=120 target_cpu=000
 svcproxy-io-1-1   500/501   sched:sched_switch: prev_comm=svcproxy-io-1-1 prev_pid=501 prev_prio=120 prev_state=R+ ==> next_comm=nginx next_pid=600 next_prio=120
           nginx   600/600   syscalls:sys_exit_epoll_wait: 0x2
           nginx   600/600   syscalls:sys_exit_recvfrom: 0x28
           nginx   600/600   syscalls:sys_exit_recvfrom: 0x28
           nginx   600/600   syscalls:sys_exit_recvfrom: 0xfffffffffffffff5
           nginx   600/600   syscalls:sys_exit_epoll_wait: 0x0
           nginx   600/600   sched:sched_switch: prev_comm=nginx prev_pid=600 prev_prio=120 prev_state=S ==> next_comm=svcproxy-io-1-1 next_pid=501 next_prio=120
 svcproxy-io-1-2   500/502   sched:sched_wakeup: comm=wrk pid=701 prio=120 target_cpu=001
 svcproxy-io-1-2   500/502   sched:sched_wakeup: comm=C2 CompilerThre pid=503 prio=120 target_cpu=001
 svcproxy-io-1-2   500/502   syscalls:sys_exit_epoll_pwait2: 0x4
 svcproxy-io-1-2   500/502   sched:sched_switch: prev_comm=svcproxy-io-1-2 prev_pid=502 prev_prio=120 prev_state=S ==> next_comm=wrk next_pid=701 next_prio=120
             wrk   700/701   syscalls:sys_exit_epoll_wait: 0x1
             wrk   700/701   sched:sched_switch: prev_comm=wrk prev_pid=701 prev_prio=120 prev_state=R ==> next_comm=C2 CompilerThre next_pid=503 next_prio=120
 C2 CompilerThre   500/503   sched:sched_switch: prev_comm=C2 CompilerThre prev_pid=503 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120
            perf   900/900   syscalls:sys_exit_epoll_pwait2: 0x1
"""


class SchedTraceTest(unittest.TestCase):
    def test_counts_each_groups_waits_events_sleeps_preemptions_and_the_proxys_wakeups(self):
        t = sched_trace.tally(TRACE.splitlines(), proxy_pids={500})
        self.assertEqual(t['requests'], 2)  # nginx's reads that returned bytes; EAGAIN (-11) is not a request
        self.assertEqual((t['proxy']['waits'], t['proxy']['events'], t['proxy']['empty']), (2, 16, 0))
        self.assertEqual((t['nginx']['waits'], t['nginx']['events'], t['nginx']['empty']), (2, 2, 1))
        self.assertEqual(t['wrk']['waits'], 1)
        # the compiler thread is the proxy's (by its process), so its sleep counts; a loop preempted by nginx
        self.assertEqual(t['proxy']['preempted'], {'nginx': 1})
        self.assertEqual(t['proxy']['sleeps'], 2)
        self.assertEqual(t['nginx']['sleeps'], 1)
        # wrk switched away while runnable (state R): preempted by one of the proxy's threads
        self.assertEqual(t['wrk']['preempted'], {'proxy': 1})
        self.assertEqual(t['woke'], {'nginx': 1, 'wrk': 1, 'proxy': 1})

    def test_the_report_is_per_request(self):
        lines = sched_trace.report(sched_trace.tally(TRACE.splitlines(), proxy_pids={500}))
        self.assertEqual(lines[0], 'proxy: 1.000 waits (8.00 events each, 0.000 empty), 1.000 sleeps, '
                                   '0.500 preempted (by nginx 0.500); woke nginx 0.500, wrk 0.500; woken by proxy 0.500')
        self.assertEqual(lines[1], 'nginx: 1.000 waits (2.00 events each, 0.500 empty), 0.500 sleeps, 0.000 preempted')
        self.assertEqual(sched_trace.report(sched_trace.tally([], proxy_pids={1})), ['no requests traced (nginx read none)'])

    def test_a_wakee_is_named_by_its_thread_when_the_proxy_was_not_seen_running(self):
        line = '           nginx   600/600   sched:sched_wakeup: comm=svcproxy-io-1-1 pid=501 prio=120 target_cpu=0'
        t = sched_trace.tally([line], proxy_pids={500}, proxy_tids={501})
        self.assertEqual(t['woke'], {})  # only the proxy's wake-ups are counted
        self.assertEqual(t['woken_by'], {'nginx': 1})  # who woke the proxy's threads, by group
        switch = ('           nginx   600/600   sched:sched_switch: prev_comm=nginx prev_pid=600 prev_prio=120 '
                  'prev_state=R+ ==> next_comm=svcproxy-io-1-1 next_pid=501 next_prio=120')
        t = sched_trace.tally([switch], proxy_pids={500}, proxy_tids={501})
        self.assertEqual(t['nginx']['preempted'], {'proxy': 1})


if __name__ == '__main__':
    unittest.main()
