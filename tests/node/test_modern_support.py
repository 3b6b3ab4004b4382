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
import tempfile

import gevent
import pytest

import nodenet_gevent as net


@pytest.fixture(autouse=True)
def greenlet_errors(request, must_call):
    """Fail the test if a handler (or the library) raised in a greenlet, as Node's runner does.

    A test that expects such a report removes it from the yielded list.  Not
    counted: gevent's thread-pool resolver reports every failed ``getaddrinfo`` it
    ran, even one the library catches and turns into an 'error' event (so a failed
    lookup prints a traceback on stderr; that noise is gevent's).  In a test
    marked ``xfail`` (a known library bug) the reports are only printed: failing the
    teardown would turn the expected failure into an error.  For the same reason,
    in an ``xfail`` test ``must_call``'s counts are checked by the test body itself
    (``must_call.check()`` as its last line), not at teardown.  Once the bug is
    fixed and the mark removed, both teardown checks apply again.
    """
    hub = gevent.get_hub()
    errors = []
    original = hub.handle_error

    def handle_error(context, type_, value, tb):
        # gevent's thread pool reports with context (worker, function).
        from_resolver = isinstance(context, tuple) and isinstance(value, (stdlib_socket.gaierror, UnicodeError))
        if type_ is not None and not issubclass(type_, gevent.GreenletExit) and not from_resolver:
            errors.append(value)
        return original(context, type_, value, tb)

    hub.handle_error = handle_error
    try:
        yield errors
    finally:
        try:
            del hub.handle_error
        except AttributeError:
            pass
    expected_failure = request.node.get_closest_marker("xfail") is not None
    if expected_failure:
        must_call.expected.clear()
    if errors and not expected_failure:
        raise AssertionError(
            "%d uncaught exception(s) in greenlets; first: %r" % (len(errors), errors[0])
        ) from errors[0]


def has_ipv6():
    """Node's ``common.hasIPv6``: ``::1`` can be bound here."""
    if not stdlib_socket.has_ipv6:
        return False
    try:
        with stdlib_socket.socket(stdlib_socket.AF_INET6, stdlib_socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not has_ipv6(), reason="no IPv6 (common.hasIPv6 is false)")


@contextlib.contextmanager
def refused_port(host="127.0.0.1"):
    """A port that refuses connections: bound on *host* but never listening."""
    family = stdlib_socket.AF_INET6 if ":" in host else stdlib_socket.AF_INET
    holder = stdlib_socket.socket(family, stdlib_socket.SOCK_STREAM)
    try:
        holder.bind((host, 0))
        yield holder.getsockname()[1]
    finally:
        holder.close()


def pipe_path(name="s"):
    """Node's ``common.PIPE``: a fresh Unix socket path in a new temporary directory."""
    return os.path.join(tempfile.mkdtemp(prefix="nodenet-modern-"), "%s.sock" % name)


def serve(track, handler=None, *listen_args, **options):
    """``net.createServer(options, handler).listen(*listen_args)`` kept by *track*; waits for 'listening'."""
    server = track.server(options, handler) if handler is not None else track.server(options)
    server.listen(*(listen_args or (0, "127.0.0.1")))
    net.once(server, "listening", timeout=5)
    return server


def connect(track, *args, **kwargs):
    """``net.connect(...)`` kept by *track* (destroyed after the test)."""
    return track.connect(*args, **kwargs)


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

