"""A real Node.js peer for the interop tests (``test_modern_interop.py``, ``test_tls_interop.py``).

A peer is a small script written to a temporary file and run with ``node``; it reports
what it observed as JSON lines on stdout, which :meth:`NodePeer.message` reads one at a
time.  A test module makes its fixture of :func:`node_peers`, which kills every peer it
started when the test ends (as ``check_greenlet_errors`` is used in ``test_modern_support``)::

    from node_peer_support import NODE, node_peers

    @pytest.fixture
    def node_peer(tmp_path):
        yield from node_peers(tmp_path)

    def test_x(node_peer):
        peer = node_peer(SCRIPT, port)
        assert peer.message() == {...}

This module holds no tests of its own.
"""

import json
import os

import gevent
import gevent.subprocess

from conftest import NODE, kill_process

__all__ = ["NODE", "NodePeer", "node_peers", "stop_process"]


def stop_process(proc):
    """Kill *proc* if it still runs (it may exit, and be reaped, at any moment), wait, close its pipes."""
    kill_process(proc)
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


class NodePeer:
    """One ``node script.js args...`` process; ``message()`` reads its next JSON line."""

    def __init__(self, directory, name, source, *args):
        path = os.path.join(str(directory), name)
        with open(path, "w") as script:
            script.write(source)
        self.proc = gevent.subprocess.Popen(
            [NODE, path] + [str(a) for a in args],
            stdout=gevent.subprocess.PIPE,
            stderr=gevent.subprocess.PIPE,
        )

    def message(self, timeout=30):
        with gevent.Timeout(timeout, AssertionError("node peer said nothing for %ss" % timeout)):
            line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise AssertionError("node peer exited (%s): %s" % (self.proc.returncode, self.proc.stderr.read().decode()))
        return json.loads(line)

    def finish(self, timeout=30):
        """Wait for the peer to exit by itself (it closes everything when done)."""
        with gevent.Timeout(timeout, AssertionError("node peer did not exit")):
            code = self.proc.wait()
        assert code == 0, self.proc.stderr.read().decode()

    def kill(self):
        stop_process(self.proc)


def node_peers(directory):
    """The body of a ``node_peer`` fixture: yields ``start(source, *args)``, which writes the
    script to *directory* and starts it; every peer started is killed when the test ends."""
    peers = []

    def start(source, *args):
        peer = NodePeer(directory, "peer%d.js" % len(peers), source, *args)
        peers.append(peer)
        return peer

    try:
        yield start
    finally:
        for peer in peers:
            peer.kill()
