"""``source.pipe(destination)``: listeners that move data with back-pressure.

When ``destination.write()`` returns ``False`` the source is paused, and resumed
on the destination's ``'drain'``; the source's ``'end'`` ends the destination
unless ``end=False``.  A pipe is a pair of ordinary listeners, so ``unpipe()``
is just removing them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

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

    __slots__ = ("source", "destination", "end", "waiting", "on_data", "on_drain", "on_end")

    source: Socket
    destination: Writable
    end: bool
    waiting: bool
    on_data: Callable[[Any], None]
    on_drain: Callable[[], None]
    on_end: Callable[[], None]

    def __init__(self, source: Socket, destination: Writable, end: bool) -> None:
        self.source = source
        self.destination = destination
        self.end = end
        self.waiting = False  # we paused the source until the destination drains
        # Bound once: the listeners are registered and removed by identity, and
        # on_data runs for every chunk.
        self.on_data = self._on_data
        self.on_drain = self._on_drain
        self.on_end = self._on_end

    def attach(self) -> None:
        self.source.on("data", self.on_data)
        self.source.on("end", self.on_end)
        self.destination.on("drain", self.on_drain)

    def detach(self) -> None:
        self.source.remove_listener("data", self.on_data)
        self.source.remove_listener("end", self.on_end)
        self.destination.remove_listener("drain", self.on_drain)

    def _on_data(self, chunk: Any) -> None:
        if self.destination.write(chunk) is False:
            self.waiting = True
            self.source.pause()

    def _on_drain(self) -> None:
        if self.waiting:
            self.waiting = False
            self.source.resume()

    def _on_end(self) -> None:
        if self.end:
            self.destination.end()
