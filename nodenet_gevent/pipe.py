"""``source.pipe(destination)``: listeners that move data with back-pressure.

When ``destination.write()`` returns ``False`` the source is paused, and resumed
on the destination's ``'drain'``; the source's ``'end'`` ends the destination
unless ``end=False``.  A pipe is a pair of ordinary listeners, so ``unpipe()``
is just removing them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

from .emitter import EventEmitter
from .state import WRITABLE, SocketBase

if TYPE_CHECKING:
    from .socket import Socket

__all__ = ["Pipe", "Writable"]


class Writable(Protocol):
    """What ``pipe()`` needs of a destination: a :class:`Socket`, or anything with these."""

    def write(self, chunk: Any, /) -> object: ...

    def end(self) -> object: ...

    def on(self, event: str, f: Callable[..., Any], /) -> object: ...

    def remove_listener(self, event: str, f: Callable[..., Any], /) -> object: ...


class Pipe:
    """One ``source.pipe(destination)``: listeners that move data with back-pressure."""

    __slots__ = ("source", "destination", "end", "waiting", "to_socket")

    source: Socket
    destination: Writable
    end: bool
    waiting: bool
    to_socket: bool  # the destination is one of ours (checked once: Socket's MRO is long)

    def __init__(self, source: Socket, destination: Writable, end: bool) -> None:
        self.source = source
        self.destination = destination
        self.end = end
        self.waiting = False  # we paused the source until the destination drains
        self.to_socket = isinstance(destination, SocketBase)
        # Attached at once (a method of its own would be a Python call more per
        # c.pipe(c) connection).  The listeners are bound methods made afresh
        # when registered and when removed: a bound method equals (and hashes
        # as) any other of the same function and object, which is all the
        # listener tables need.  Keeping them on the pipe would make a
        # reference cycle of every pipe, freed only by the cyclic garbage collector.
        if (
            isinstance(destination, EventEmitter)
            and "new_listener" not in source._events
            and "new_listener" not in destination._events
        ):
            # Nobody watches listeners being added, so adding ours is three
            # dict stores: done here rather than through three on() calls (nine
            # Python calls, paid by every connection of a ``c.pipe(c)`` server).
            # The source's pipe() resumes it, as on('data') would have.
            on_data, on_end, on_drain = self.on_data, self.on_end, self.on_drain  # bound here
            source._events.setdefault("data", {})[on_data] = on_data
            source._events.setdefault("end", {})[on_end] = on_end
            destination._events.setdefault("drain", {})[on_drain] = on_drain
        else:
            source.on("data", self.on_data)
            source.on("end", self.on_end)
            destination.on("drain", self.on_drain)

    def detach(self) -> None:
        source, destination = self.source, self.destination
        if isinstance(destination, EventEmitter):
            # Three dict deletions, as pyee's remove_listener makes them (with
            # three Python calls each); no empty table is kept.
            for events, event, listener in (
                (source._events, "data", self.on_data),
                (source._events, "end", self.on_end),
                (destination._events, "drain", self.on_drain),
            ):
                handlers = events.get(event)
                if handlers is not None and handlers.pop(listener, None) is not None and not handlers:
                    del events[event]
        else:
            source.remove_listener("data", self.on_data)
            source.remove_listener("end", self.on_end)
            destination.remove_listener("drain", self.on_drain)

    def on_data(self, chunk: Any) -> None:
        destination = self.destination
        if self.to_socket and destination._write_state is not WRITABLE:  # type: ignore[attr-defined]
            # As Node's pipe, which unpipes when its destination finishes: the
            # chunk goes back to the source (held, as nobody consumes it now),
            # rather than into a write after end.
            source = self.source
            source.unshift(chunk)
            source.unpipe(destination)
            return
        if destination.write(chunk) is False:
            self.waiting = True
            self.source.pause()

    def on_drain(self) -> None:
        if self.waiting:
            self.waiting = False
            self.source.resume()

    def on_end(self) -> None:
        if self.end:
            self.destination.end()

