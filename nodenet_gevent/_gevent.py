"""The one place where gevent's private attributes are touched.

The read and write paths go around gevent's socket wrapper methods (a Python
frame or a dozen per chunk or per accepted connection) straight to what those
methods use.  Every private name the library relies on is read here, so there
is one list to check against each gevent the matrix supports:
``tests/test_gevent_internals.py`` checks exactly :data:`SOCKET_ATTRIBUTES` and
the libuv watcher attribute on the oldest and the newest gevent.

* ``sock._sock``: the OS socket under a gevent socket (non-blocking): its
  ``recv``, ``send``, ``shutdown`` and, for a listener, ``_accept`` (the C call
  that returns a descriptor and an address).
* ``sock._wait(watcher)``, ``sock._read_event``, ``sock._write_event``: how
  gevent waits for readiness on a socket, and its two watchers.
* ``sock._read_event`` also for a dormant reader (``reading.py``,
  ``dormant.py``): started with a hub's ready list's ``append`` as its
  callback, no greenlet waits on it (:func:`stop_dormant_wait` undoes it).
* ``watcher._watcher_ref`` (libuv only): the poll handle that gevent's libuv
  loop shares among the watchers of one descriptor.
* ``Hub.switch`` does only two things: call the current greenlet's
  ``switch_out`` hook if it has one, then greenlet's own ``switch``.  The
  hub's runner (``dormant.py``) has that hook -- every wait a handler makes
  through gevent calls it, and it hands the other connections over -- and
  switches with greenlet's own (:func:`raw_hub_switch`) where it waits for
  the next wake-ups itself, which must hand nothing over.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

from gevent.hub import Waiter, get_hub
from greenlet import greenlet as RawGreenlet

__all__ = [
    "SOCKET_ATTRIBUTES",
    "os_socket",
    "raw_hub_switch",
    "readiness",
    "write_readiness",
    "set_ref",
    "stop_dormant_wait",
    "wait_readable_or_woken",
    "wake",
]

#: The private attributes of a gevent socket used here.
SOCKET_ATTRIBUTES = ("_sock", "_wait", "_read_event", "_write_event")


# Attribute getters written in C (operator.attrgetter) rather than Python
# functions: they run once per connection or per write, where a Python frame is
# what the read and write paths go around gevent's wrappers to avoid.

#: ``os_socket(sock)``: the non-blocking OS socket under gevent socket *sock*.
os_socket: Callable[[Any], Any] = operator.attrgetter("_sock")

#: ``readiness(sock)`` -> ``(wait, read_watcher)``: ``wait(read_watcher)`` blocks
#: the calling greenlet until *sock* is readable, and raises gevent's "closed
#: in another greenlet" ``OSError`` if the socket is closed meanwhile.
readiness: Callable[[Any], tuple[Callable[[Any], object], Any]] = operator.attrgetter("_wait", "_read_event")


#: ``write_readiness(sock)``: *sock*'s write watcher, for ``wait`` (the TLS channel's sends wait on it).
write_readiness: Callable[[Any], Any] = operator.attrgetter("_write_event")


#: ``raw_hub_switch(hub)``: *hub*'s switch as greenlet's own -- gevent's ``Hub.switch`` minus its
#: call of the current greenlet's ``switch_out`` hook (the runner's, ``dormant.py``, waiting for
#: its next wake-ups; ``loop.next_tick``'s plain greenlets, which have none).  The descriptor's
#: C ``__get__``, so that getting it adds no Python call.
raw_hub_switch: Callable[[Any], Callable[[], Any]] = RawGreenlet.switch.__get__


def set_ref(sock: Any, value: bool) -> None:
    """Whether gevent socket *sock*'s watchers keep the loop (``run()``) alive.

    gevent's ``socket.ref`` sets its read and write watchers' flag, which is all
    libev needs.  gevent's libuv loop multiplexes the watchers of one descriptor
    onto a single libuv poll handle and ignores their flag, so an unref'd socket
    would still hold the loop: there the shared handle's flag is set too (its
    watchers are all this socket's).
    """
    sock.ref = value
    for event in (sock._read_event, sock._write_event):
        shared = getattr(event, "_watcher_ref", None)  # gevent.libuv.watcher.io._multiplexwatcher
        if shared is not None:
            shared.ref = value


def wait_readable_or_woken(read_watcher: Any, keep: Callable[[Waiter | None], object]) -> None:
    """Block until readable, or until :func:`wake` is called on the waiter given to *keep*.

    gevent's own wait (``wait_on_watcher``), with its ``Waiter`` handed to
    ``keep(waiter)`` first and ``keep(None)`` after, so that another greenlet
    can end the wait.  gevent's ``Waiter`` it must be: closing the socket from
    another greenlet makes gevent throw its "closed" error through the
    waiter's ``throw``, into this greenlet, as for gevent's own waits.
    """
    waiter = Waiter()
    keep(waiter)
    read_watcher.start(waiter.switch, waiter)
    try:
        waiter.get()
    finally:
        read_watcher.stop()
        keep(None)


def stop_dormant_wait(sock: Any) -> None:
    """Stop gevent socket *sock*'s read watcher, started for a dormant reader (a no-op if not started).

    Before closing a socket whose reader is dormant: gevent's close throws
    its "closed" error into whatever greenlet a started watcher's callback is
    bound to -- here a ready list (``dormant.py``), which is no greenlet at all.
    """
    sock._read_event.stop()


def wake(waiter: Waiter) -> None:
    """End a :func:`wait_readable_or_woken`, from any greenlet (the switch is made by the hub)."""
    get_hub().loop.run_callback(waiter.switch, None)
