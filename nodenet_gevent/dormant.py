"""Dormant readers: an idle connection holds no greenlet; a few pooled greenlets serve the wake-ups.

A greenlet waiting for readability costs about 7.5 KiB (its saved C stack, and
the frame data stack CPython gives every greenlet that runs Python code), and
making a new greenlet for every wake-up costs about 5 µs (that data stack is
allocated afresh, with mmap, each time).  So a reader with nothing to do lets go
of its greenlet (``reading.py``: the connection is *dormant*), and the
connection's read watcher is started with this hub's *dispatcher* as its
callback::

    readable --the hub--> dispatcher.switch(sock) --> a pooled runner: sock._read_loop()

The dispatcher is one greenlet per hub that only hands the socket to an idle
runner (it never runs a handler, nor blocks on anything but that hand-over), so
the hub itself only switches -- in C, no Python frame of its own.  A runner is a
plain greenlet, the socket's reader while it serves it (``sock._reader``), in
the socket's ``contextvars`` context; when the read loop returns (dormant
again, or the socket is done) it goes back to the pool -- at most
:data:`POOL_SIZE` wait there, the rest end.  A handler that blocks keeps its
runner busy, and the next wake-up takes another one, so it stalls only its own
connection, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from gevent.hub import get_hub
from greenlet import getcurrent
from greenlet import greenlet as RawGreenlet

from .linger import _LINGERING

if TYPE_CHECKING:
    from .reading import ReadSide
    from .server import Server

__all__ = ["POOL_SIZE", "dispatcher", "pooled_greenlets"]

#: Idle runners kept per hub; more than this many finishing at once end instead.
POOL_SIZE = 64

# hub -> the switch of its dispatcher greenlet (what a dormant watcher calls), and its idle runners.
_DISPATCHERS: dict[Any, Callable[..., Any]] = {}
_POOLS: dict[Any, list[RawGreenlet]] = {}


def pooled_greenlets() -> int:
    """How many live greenlets this machinery keeps while no connection needs them: the
    dispatchers, the idle runners and the sweepers (``linger.py``) (for leak checks: ``benchmarks/soak.py``)."""
    return len(_DISPATCHERS) + len(_LINGERING) + sum(len(pool) for pool in _POOLS.values())


def dispatcher(hub: Any) -> Callable[..., Any]:
    """What starts reading in *hub*'s loop, from a pooled runner: ``callback(sock, server)``.

    ``callback(sock, None)``: a dormant socket is readable (its read watcher's
    callback); ``callback(sock, server)``: *server* just accepted *sock*, whose
    reader starts with ``'connection'`` (scheduled by ``Socket._accepted``, so
    that a connection does not make a greenlet of its own either).  Looked up
    as ``_DISPATCHERS.get(hub) or dispatcher(hub)``: this function runs once
    per hub.  The dispatcher starts with the first call the hub makes.
    """
    switch = _DISPATCHERS.get(hub)
    if switch is None:
        _POOLS[hub] = []
        switch = _DISPATCHERS[hub] = RawGreenlet(_dispatch, hub).switch
    return switch


def _dispatch(sock: ReadSide | None, server: Server | None) -> None:
    """Body of a hub's dispatcher: hand each socket to an idle runner."""
    hub = get_hub()
    pool = _POOLS[hub]
    while True:
        if sock is None:
            try:
                sock, server = hub.switch()  # the hub switches back with the next socket
            except Exception:
                pass
            continue
        runner = pool.pop() if pool else RawGreenlet(_serve, hub)
        try:
            # Returns when the hub switches here next, with the next socket.
            sock, server = runner.switch(sock, server, pool)
        except Exception:  # thrown in by gevent closing an active watcher (_gevent.stop_dormant_wait says why not)
            sock = None


def _serve(sock: ReadSide, server: Server | None, pool: list[RawGreenlet]) -> None:
    """Body of a runner: be *sock*'s reader until its read loop returns, then wait in the pool."""
    current = getcurrent()
    hub = get_hub()
    while True:
        current.gr_context = sock._context
        sock._reader = current
        if server is None:
            sock._read_loop()  # it catches and reports what handlers raise
        else:
            sock._run_reader(server, None)
        if sock._reader is current:  # done (it is None if dormant again)
            sock._reader = None
        del sock, server  # let go before waiting
        current.gr_context = None
        if len(pool) >= POOL_SIZE:
            return
        pool.append(current)
        sock, server, pool = hub.switch()  # the dispatcher switches back with the next socket
