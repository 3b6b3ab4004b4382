"""Shared helpers for the ports of node-v0.x-archive's net tests (``test_v010_*``).

Node's test runner fails a test on any uncaught exception, including one thrown
inside an event handler.  Here handlers run in greenlets, where an exception is
only *reported* by gevent; the autouse fixture :func:`handler_errors` records
those reports and fails the test, so an ``assert`` inside a handler counts as in
Node.  Import it (and what else is needed) into each ``test_v010_*`` module::

    from test_v010_support import handler_errors  # noqa: F401  (autouse fixture)

This module holds no tests of its own.
"""

import contextlib
import socket as stdlib_socket
import sys

import gevent
import pytest


@pytest.fixture(autouse=True)
def handler_errors():
    """Fail the test if a handler (or the library) raised in a greenlet, as Node's runner does."""
    hub = gevent.get_hub()
    errors = []
    original = hub.handle_error

    def handle_error(context, type_, value, tb):
        # Skip what gevent itself does not count as an error, and errors of
        # functions run in its threadpool (the resolver): those are handed back
        # to the caller as well, and only printed by gevent.
        threadpool_job = isinstance(context, tuple) and type(context[0]).__name__ == "_WorkerGreenlet"
        if type_ is not None and not issubclass(type_, hub.NOT_ERROR) and not threadpool_job:
            errors.append((context, value))
        return original(context, type_, value, tb)

    hub.handle_error = handle_error
    try:
        yield errors
    finally:
        try:
            del hub.handle_error
        except AttributeError:
            pass
    if errors:
        context, value = errors[0]
        raise AssertionError(
            "%d uncaught exception(s) in greenlets; first in %r: %r" % (len(errors), context, value)
        ) from value


def has_ipv6():
    """True when ``::1`` can be bound here (Node's ``common.hasIPv6``)."""
    if not stdlib_socket.has_ipv6:
        return False
    try:
        with stdlib_socket.socket(stdlib_socket.AF_INET6, stdlib_socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def localhost_addresses(family=0):
    """The addresses 'localhost' resolves to here (stream sockets)."""
    try:
        infos = stdlib_socket.getaddrinfo("localhost", 0, family, stdlib_socket.SOCK_STREAM)
    except OSError:
        return []
    return [info[4][0] for info in infos]


def free_port():
    """A TCP port nobody listens on right now, on the dual-stack wildcard (as ``common.PORT``)."""
    if has_ipv6():
        family, address = stdlib_socket.AF_INET6, "::"
    else:
        family, address = stdlib_socket.AF_INET, "0.0.0.0"
    with stdlib_socket.socket(family, stdlib_socket.SOCK_STREAM) as probe:
        if family == stdlib_socket.AF_INET6:
            probe.setsockopt(stdlib_socket.IPPROTO_IPV6, stdlib_socket.IPV6_V6ONLY, 0)
        probe.bind((address, 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def refused_port():
    """A port that refuses connections: bound on 127.0.0.1 but never listening.

    Node's tests use ``common.PORT`` with "hopefully nothing is running"; holding
    the port bound (without ``listen``) makes that certain for the test's life.
    """
    holder = stdlib_socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]
    finally:
        holder.close()


def open_fd_count():
    """Open descriptors of this process (Linux), for leak checks."""
    import os

    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        pytest.skip("no /proc/self/fd on %s" % sys.platform)


def next_ticks(count=3):
    """Let everything already scheduled run, *count* rounds deep.

    Events are emitted on a later tick (``next_tick`` = a new greenlet run by
    the hub in FIFO order), so after this returns an event that was due has been
    emitted: use it before asserting that something did *not* happen.
    """
    import gevent.event

    for _ in range(count):
        done = gevent.event.Event()
        gevent.spawn_raw(done.set)
        done.wait()
