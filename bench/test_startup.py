"""bench/startup.py's listening probe: the kernel's socket diagnostics, listening sockets only (plain python3)."""
import os
import socket
import subprocess
import time
import unittest

import startup


class ListeningProbeTest(unittest.TestCase):
    def test_sees_a_listening_socket_and_only_while_it_listens(self):
        srv = socket.socket()
        self.addCleanup(srv.close)
        srv.bind(('127.0.10.41', 0))
        port = srv.getsockname()[1]
        patterns = startup.listen_patterns('127.0.10.41', port)
        self.assertFalse(startup.listening(patterns), 'bound, not listening yet')
        srv.listen()
        self.assertTrue(startup.listening(patterns))
        self.assertFalse(startup.listening(startup.listen_patterns('127.0.10.42', port)), 'another address')
        # an established connection on the same address and port is not a listener
        cli = socket.create_connection(('127.0.10.41', port))
        conn, _ = srv.accept()
        srv.close()
        try:
            self.assertFalse(startup.listening(patterns))
        finally:
            cli.close()
            conn.close()

    def test_sees_a_dual_stack_listener_by_its_mapped_address(self):
        srv = socket.socket(socket.AF_INET6)
        self.addCleanup(srv.close)
        srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        srv.bind(('::ffff:127.0.10.41', 0))
        with srv:
            srv.listen()
            self.assertTrue(startup.listening(startup.listen_patterns('127.0.10.41', srv.getsockname()[1])))


class NetnsProbeTest(unittest.TestCase):
    """The --docker path: the probe of a process in a network namespace of its own (here one the test makes with
    unshare(1) as root, as Docker does for a container)."""

    def test_sees_a_listener_in_another_network_namespace_and_not_in_this_one(self):
        port = 18000 + os.getpid() % 1000
        script = ('ip link set lo up && exec python3 -c "import socket, time; s = socket.socket(); '
                  f's.bind((\'127.0.0.1\', {port})); s.listen(); time.sleep(30)"')
        p = subprocess.Popen(['unshare', '--net', 'sh', '-c', script])
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        patterns = startup.listen_patterns('127.0.0.1', port)
        deadline = time.monotonic() + 10
        while os.readlink(f'/proc/{p.pid}/ns/net') == os.readlink('/proc/self/ns/net'):   # unshare(1) not there yet
            self.assertLess(time.monotonic(), deadline, 'unshare made no network namespace within 10 s')
            time.sleep(0.01)
        with startup.diag_socket(netns_pid=p.pid) as nl:
            deadline = time.monotonic() + 10
            while not startup.listening(patterns, nl):
                self.assertIsNone(p.poll(), 'the listener in the namespace exited')
                self.assertLess(time.monotonic(), deadline, 'not seen listening within 10 s')
                time.sleep(0.01)
        self.assertFalse(startup.listening(patterns), 'this namespace has no such listener')

    def test_a_process_that_is_gone_is_an_error_naming_it(self):
        p = subprocess.Popen(['true'])
        p.wait()
        with self.assertRaises(OSError) as e:
            startup.diag_socket(netns_pid=p.pid)
        self.assertIn(str(p.pid), str(e.exception.filename or e.exception))


if __name__ == '__main__':
    unittest.main()
