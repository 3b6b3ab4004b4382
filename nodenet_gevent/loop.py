"""Node's event-loop contract on gevent: next tick, ``run()``, blocking ``once()``.

* :func:`next_tick` runs a function in a fresh greenlet after the current one
  yields -- Node's ``process.nextTick`` rule that an event is never emitted
  synchronously from the call that causes it.  It never runs user code in the
  hub: the hub only switches into the new greenlet.
* :func:`run` blocks until nothing *ref'd* is left.  ``ref()``/``unref()`` on
  servers and sockets map onto the ``ref`` flag of their gevent watchers
  (``_gevent.set_ref``), so
  "nothing ref'd left" is exactly gevent's "the loop has nothing to wait for",
  and ``gevent.wait()`` sees the same thing.
* :func:`once` is Node's ``events.once`` for code written in the blocking style.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any, Callable

import gevent
import greenlet
from gevent.event import AsyncResult
from gevent.hub import get_hub
from greenlet import greenlet as RawGreenlet

from .errors import ERR_INVALID_STATE

if TYPE_CHECKING:
    from pyee import EventEmitter

__all__ = ["next_tick", "run", "once"]


def next_tick(function: Callable[..., object], *args: Any, context: contextvars.Context | None = None
              ) -> greenlet.greenlet:
    """Call ``function(*args)`` in a new greenlet once the caller yields -- in *context*, if given.

    A socket's greenlets all run in the socket's own ``contextvars.Context``
    (what the code that made it had), so that a ``ContextVar`` set in one
    handler is seen by all the later ones -- Node's AsyncLocalStorage.

    An exception it raises is reported by gevent (printed with its traceback)
    and does not disturb anything else.

    What ``gevent.spawn_raw`` does, minus its bookkeeping: spawn_raw also reads
    a config setting and records the spawning greenlet (a weakref and two dict
    entries per greenlet) for gevent's debugging tools.  Every connection gets
    a greenlet, so that is time and memory per connection for nothing we use.
    """
    hub = get_hub()
    glet = RawGreenlet(function, hub)
    if context is not None:
        glet.gr_context = context
    hub.loop.run_callback(glet.switch, *args)
    return glet


def run(timeout: float | None = None) -> bool:
    """Run the loop until no ref'd server, socket or other gevent work is left.

    Returns ``True`` when everything finished, ``False`` if *timeout* (seconds)
    expired first.  Call it from the main greenlet, as a Node program's event
    loop runs after the main script; only there can gevent tell that the loop
    is empty, so elsewhere it raises ``ERR_INVALID_STATE`` rather than hang.
    """
    hub = get_hub()
    if greenlet.getcurrent() is not hub.parent:
        raise ERR_INVALID_STATE("net.run() must be called from the main greenlet")
    return bool(hub.join(timeout=timeout))


def once(emitter: EventEmitter, event: str, timeout: float | None = None) -> tuple[Any, ...]:
    """Block the calling greenlet until *emitter* emits *event*; return its args.

    Raises the error if ``'error'`` is emitted first (unless *event* is
    ``'error'``), and ``gevent.Timeout`` if *timeout* seconds pass.
    """
    result = AsyncResult()

    # The first emission decides.  The waiting greenlet runs only after the
    # emitter yields, so an 'error' followed by 'close' in the same handler
    # run (what destroy(err) does) must not have 'close' overwrite the error.
    def on_event(*args: Any) -> None:
        if not result.ready():
            result.set(args)

    def on_error(error: object = None, *_: object) -> None:
        if not result.ready():
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
