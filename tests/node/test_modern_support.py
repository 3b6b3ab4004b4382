"""Shared helpers for the ports of nodejs/node's modern net tests (``test_modern_*``).

The ported files are nodejs/node ``test/parallel/test-net-*.js`` (the current
tree stores them as ``test/parallel/net/<name>.js``; each test names its file
the way Node's docs and issues do, ``test-net-<name>.js``).

Node's test runner fails a test on any uncaught exception, including one thrown
inside an event handler.  Here handlers run in greenlets, where an exception is
only *reported* by gevent; the autouse fixture :func:`greenlet_errors` records
those reports and fails the test, so an ``assert`` inside a handler counts as it
does in Node.  Import it into each ``test_modern_*`` module::

    from test_modern_support import greenlet_errors  # noqa: F401  (autouse fixture)

This module holds no tests of its own.
"""

import contextlib
import os
import socket as stdlib_socket

import pytest

import nodenet_gevent as net
from conftest import check_greenlet_errors, has_ipv6, refused_port, scratch_dir  # noqa: F401 (for the test modules)


@pytest.fixture(autouse=True)
def greenlet_errors(request, must_call):
    """Fail the test if a handler (or the library) raised in a greenlet (see conftest)."""
    yield from check_greenlet_errors(request, must_call)


needs_ipv6 = pytest.mark.skipif(not has_ipv6(), reason="no IPv6 (common.hasIPv6 is false)")


def pipe_path(name="s"):
    """Node's ``common.PIPE``: a fresh Unix socket path in a new temporary directory."""
    return os.path.join(scratch_dir("nodenet-modern-"), "%s.sock" % name)


def serve(track, handler=None, *listen_args, **options):
    """``net.createServer(options, handler).listen(*listen_args)`` kept by *track*; waits for 'listening'."""
    server = track.server(options, handler) if handler is not None else track.server(options)
    server.listen(*(listen_args or (0, "127.0.0.1")))
    net.once(server, "listening", timeout=5)
    return server


def connect(track, *args, **kwargs):
    """``net.connect(...)`` kept by *track* (destroyed after the test)."""
    return track.connect(*args, **kwargs)


def assert_equal(actual, expected):
    """``assert actual == expected`` as a call, for a lambda (where Node's test calls ``assert.strictEqual``)."""
    assert actual == expected


def keep(track, sock):
    """Let *track* destroy a socket made some other way (``net.Socket()``)."""
    track.sockets.append(sock)
    return sock


def raises_now(exception, call):
    """``pytest.raises`` for calls that must raise at once, as Node's ``assert.throws``.

    When the call does not raise (a bug), whatever socket or server it made is
    destroyed/closed before failing, so that it cannot disturb later tests.
    """
    try:
        made = call()
    except exception as error:
        return error
    if isinstance(made, net.Socket):
        made.on("error", lambda *_: None)
        made.destroy()
    elif isinstance(made, net.Server):
        made.on("error", lambda *_: None)
        if made.listening:
            made.close()
    pytest.fail("%r did not raise %s" % (made, exception.__name__))



@contextlib.contextmanager
def refusing(address, port):
    """*port* on *address* (0: any free one) refuses connections for the block: held bound, never listening.

    The test is skipped when something else has that port there already.
    """
    family = stdlib_socket.AF_INET6 if ":" in address else stdlib_socket.AF_INET
    holder = stdlib_socket.socket(family)
    try:
        holder.bind((address, port))
    except OSError:
        holder.close()
        pytest.skip("port %d is taken on %s" % (port, address))
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


@contextlib.contextmanager
def never_answering(address, port):
    """*port* on *address* (a 127.x address) drops SYNs for the block: a listener with a full accept queue.

    Node's tests reach an address that never answers on the Internet; this one is on loopback.
    """
    made = []
    try:
        listener = stdlib_socket.socket()
        made.append(listener)
        try:
            listener.bind((address, port))
        except OSError:
            pytest.skip("port %d is taken on %s" % (port, address))
        listener.listen(0)
        for _ in range(8):  # backlog 0 still queues one or two: fill it, the SYNs beyond are dropped
            filler = stdlib_socket.socket()
            made.append(filler)
            filler.setblocking(False)
            try:
                filler.connect((address, port))
            except BlockingIOError:
                pass
        yield address
    finally:
        for sock in made:
            sock.close()


class RotatingBuffers:
    """Node's onread-static-buffer ``buffer()`` function: three 2-byte buffers in turn, each asked-for counted.

    ``callback`` is the matching ``onread`` callback: it checks that the buffer it is given is
    the one just handed out, and keeps what was read in ``pieces``.
    """

    def __init__(self, kind):
        self.pool = [bytearray(2) for _ in range(3)]
        if kind == "Uint8Array":
            self.pool = [memoryview(buf) for buf in self.pool]
        self.index = -1
        self.usage = 0
        self.pieces = []

    def buffer(self):
        self.usage += 1
        self.index = (self.index + 1) % len(self.pool)
        return self.pool[self.index]

    def callback(self, nread, buf):
        assert buf is self.pool[self.index]
        self.pieces.append(bytes(buf[:nread]))

    def onread(self):
        return {"buffer": self.buffer, "callback": self.callback}
