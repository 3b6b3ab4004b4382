"""Shared helpers for the ports of node-v0.x-archive's net tests (``test_v010_*``).

Node's test runner fails a test on any uncaught exception, including one thrown
inside an event handler.  Here handlers run in greenlets, where an exception is
only *reported* by gevent; the autouse fixture :func:`handler_errors` records
those reports and fails the test, so an ``assert`` inside a handler counts as in
Node.  Import it (and what else is needed) into each ``test_v010_*`` module::

    from test_v010_support import handler_errors  # noqa: F401  (autouse fixture)

This module holds no tests of its own.
"""

import socket as stdlib_socket
import sys

import pytest

from conftest import check_greenlet_errors, has_ipv6, refused_port  # noqa: F401 (for the test modules)


@pytest.fixture(autouse=True)
def handler_errors(request, must_call):
    """Fail the test if a handler (or the library) raised in a greenlet (see conftest)."""
    yield from check_greenlet_errors(request, must_call)


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
