"""Node's event-loop contract on gevent: next tick, ``run()``, blocking ``once()``.

* :func:`next_tick` runs a function in a fresh greenlet after the current one
  yields -- Node's ``process.nextTick`` rule that an event is never emitted
  synchronously from the call that causes it.  It never runs user code in the
  hub: the hub only switches into the new greenlet.
* :func:`run` blocks until nothing *ref'd* is left.  ``ref()``/``unref()`` on
  servers and sockets map onto the ``ref`` flag of their gevent watchers, so
  "nothing ref'd left" is exactly gevent's "the loop has nothing to wait for",
  and ``gevent.wait()`` sees the same thing.
* :func:`once` is Node's ``events.once`` for code written in the blocking style.
"""

from __future__ import annotations

import _socket
from typing import TYPE_CHECKING, Any, Callable

import gevent
import greenlet
from gevent import socket as gsocket
from gevent.event import AsyncResult
from gevent.hub import get_hub
from greenlet import greenlet as RawGreenlet

from .errors import NodeError

if TYPE_CHECKING:
    from pyee import EventEmitter

__all__ = ["next_tick", "run", "once", "getaddrinfo", "set_ref"]


def next_tick(function: Callable[..., object], *args: Any) -> greenlet.greenlet:
    """Call ``function(*args)`` in a new greenlet once the caller yields.

    An exception it raises is reported by gevent (printed with its traceback)
    and does not disturb anything else.

    What ``gevent.spawn_raw`` does, minus its bookkeeping: spawn_raw also reads
    a config setting and records the spawning greenlet (a weakref and two dict
    entries per greenlet) for gevent's debugging tools.  Every connection gets
    a greenlet, so that is time and memory per connection for nothing we use.
    """
    hub = get_hub()
    glet = RawGreenlet(function, hub)
    hub.loop.run_callback(glet.switch, *args)
    return glet


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


def run(timeout: float | None = None) -> bool:
    """Run the loop until no ref'd server, socket or other gevent work is left.

    Returns ``True`` when everything finished, ``False`` if *timeout* (seconds)
    expired first.  Call it from the main greenlet, as a Node program's event
    loop runs after the main script; only there can gevent tell that the loop
    is empty, so elsewhere it raises ``ERR_INVALID_STATE`` rather than hang.
    """
    hub = get_hub()
    if greenlet.getcurrent() is not hub.parent:
        raise NodeError("ERR_INVALID_STATE", "net.run() must be called from the main greenlet")
    return bool(hub.join(timeout=timeout))


def once(emitter: EventEmitter, event: str, timeout: float | None = None) -> tuple[Any, ...]:
    """Block the calling greenlet until *emitter* emits *event*; return its args.

    Raises the error if ``'error'`` is emitted first (unless *event* is
    ``'error'``), and ``gevent.Timeout`` if *timeout* seconds pass.
    """
    result = AsyncResult()

    def on_event(*args: Any) -> None:
        result.set(args)

    def on_error(error: object = None, *_: object) -> None:
        result.set_exception(error if isinstance(error, BaseException) else RuntimeError(error))

    emitter.on(event, on_event)
    if event != "error":
        emitter.on("error", on_error)
    try:
        with gevent.Timeout(timeout):
            args: tuple[Any, ...] = result.get()
            return args
    finally:
        emitter.remove_listener(event, on_event)
        if event != "error":
            emitter.remove_listener("error", on_error)


# The C function, never gevent's (which monkey-patching puts in ``socket``):
# it runs in a worker thread.
_system_getaddrinfo = _socket.getaddrinfo

# What getaddrinfo() returns one of: (family, type, proto, canonname, sockaddr).
_AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]


def _getaddrinfo_quietly(*args: Any) -> tuple[list[_AddrInfo] | None, BaseException | None]:
    try:
        return _system_getaddrinfo(*args), None
    except (OSError, UnicodeError) as error:
        return None, error


def getaddrinfo(host: str | bytes | None, port: str | int | None, family: int = 0, type: int = 0, proto: int = 0
                ) -> list[_AddrInfo]:
    """Cooperative ``getaddrinfo`` that raises its failure in the caller only.

    gevent's default (thread) resolver reports a failed lookup from its worker
    thread as well, printing a traceback for an error the caller handles; a
    lookup that cannot fail in the worker keeps stderr for real problems.
    Other resolvers (ares, dnspython) are used as gevent is configured.
    """
    hub = get_hub()
    if type_name(hub.resolver) != "gevent.resolver.thread.Resolver":
        infos: list[_AddrInfo] = gsocket.getaddrinfo(host, port, family, type, proto)
        return infos
    result: list[_AddrInfo]  # None only with an error
    error: BaseException | None
    result, error = hub.threadpool.apply(_getaddrinfo_quietly, (host, port, family, type, proto))
    if error is not None:
        raise error
    return result


def type_name(obj: object) -> str:
    cls = type(obj)
    return "%s.%s" % (cls.__module__, cls.__qualname__)
