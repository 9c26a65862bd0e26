"""bench/startup.py's listening probe: the kernel's socket diagnostics, listening sockets only (plain python3)."""
import socket
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


if __name__ == '__main__':
    unittest.main()
