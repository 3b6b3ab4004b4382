"""The event emitter shared by ``Server`` and ``Socket``: pyee, with Node's names.

pyee's ``EventEmitter`` provides ``on``/``once``/``emit``/``remove_listener``.
This subclass adds Node's camelCase spellings and a leaner ``emit``: events are
emitted once per received chunk, so the common case (one listener) must not
copy the listener list or take a lock.  Everything runs in greenlets of one
thread, so pyee's thread lock is replaced by a shared no-op context (which also
saves a lock object per connection).

pyee keeps its state in ``self._events`` and ``self._lock`` (slots here);
subclasses must not use those names for anything else.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Callable, TypeVar, overload

from pyee import EventEmitter as _PyeeEventEmitter

if TYPE_CHECKING:
    from typing_extensions import Self  # for the type checker only: not a runtime dependency

__all__ = ["EventEmitter"]

_NO_LOCK = contextlib.nullcontext()

#: A listener: called with the event's arguments; what it returns is ignored.
Listener = Callable[..., object]
_L = TypeVar("_L", bound=Listener)


class EventEmitter(_PyeeEventEmitter):
    """pyee's EventEmitter with Node's method names and a fast ``emit``."""

    # pyee's two fields as slots: an instance's __dict__ (pyee's base has no
    # __slots__, so every instance has one) then stays empty and unallocated.
    __slots__ = ("_events", "_lock")

    # Where these differ from pyee's declarations, it is on purpose (so the
    # "type: ignore"s below): a plain dict per event and a no-op lock (see the
    # module docstring), and Node's return values -- on(), once(),
    # remove_listener() and friends return the emitter, for chaining, where
    # pyee returns the listener or None; emit() takes no keyword arguments.
    _events: dict[str, dict[Callable[..., Any], Callable[..., Any]]]  # type: ignore[assignment]
    _lock: contextlib.AbstractContextManager[object]  # type: ignore[assignment]

    def __init__(self) -> None:
        # pyee's own state, set up as pyee would but without a per-instance lock.
        self._events = {}
        self._lock = _NO_LOCK

    def emit(self, event: str, *args: Any) -> bool:
        """Call every listener of *event* with *args*; ``True`` if there was one.

        An ``'error'`` with no listener raises the error (pyee's rule), in the
        greenlet that emitted it.
        """
        handlers = self._events.get(event)
        if handlers:
            if len(handlers) == 1:
                for handler in handlers.values():  # noqa: B007 - the one listener, used below
                    break
                handler(*args)
            else:
                for handler in list(handlers.values()):
                    handler(*args)
            return True
        if event == "error":
            error = args[0] if args else None
            if isinstance(error, BaseException):
                raise error
            raise RuntimeError("Uncaught, unspecified 'error' event: %r" % (error,))
        return False

    @overload  # type: ignore[override]
    def on(self, event: str) -> Callable[[_L], _L]: ...
    @overload
    def on(self, event: str, f: Listener) -> Self: ...

    def on(self, event: str, f: Listener | None = None) -> Self | Callable[[_L], _L]:
        """Add listener *f* and return the emitter (Node chains: ``s.on(...).on(...)``).

        Without *f*, a decorator (pyee's form): ``@sock.on('data')``.
        """
        if f is None:

            def decorator(f: _L) -> _L:
                self._add_event_handler(event, f, f)
                return f

            return decorator
        self._add_event_handler(event, f, f)
        return self

    @overload  # type: ignore[override]
    def once(self, event: str) -> Callable[[_L], _L]: ...
    @overload
    def once(self, event: str, f: Listener) -> Self: ...

    def once(self, event: str, f: Listener | None = None) -> Self | Callable[[_L], _L]:
        """Like :meth:`on`, for one call only."""
        if f is None:
            return super().once(event)
        super().once(event, f)
        return self

    def _add_event_handler(self, event: str, k: Callable[..., Any], v: Callable[..., Any]) -> None:
        # pyee's own, but with a plain dict per event (ordered, and half the
        # size of pyee's OrderedDict: it is kept for every connection).
        if "new_listener" in self._events:
            self.emit("new_listener", event, k)
        handlers = self._events.get(event)
        if handlers is None:
            self._events[event] = {k: v}
        else:
            handlers[k] = v
        self._listener_added(event)

    def _listener_added(self, event: str) -> None:
        """Hook for subclasses: a listener for *event* was just added."""

    def remove_listener(self, event: str, f: Callable[..., Any]) -> Self:  # type: ignore[override]
        """Remove *f* from *event*; removing a listener that is not there is harmless (Node)."""
        handlers = self._events.get(event)
        if handlers and f in handlers:
            super().remove_listener(event, f)
        return self

    def remove_all_listeners(self, event: str | None = None) -> Self:  # type: ignore[override]
        if event is None:
            self._events = {}
        else:
            self._events.pop(event, None)
        return self

    def listener_count(self, event: str) -> int:
        return len(self._events.get(event) or ())

    def prepend_listener(self, event: str, f: Listener) -> Self:
        handlers = self._events.get(event) or {}
        handlers.pop(f, None)
        self._events[event] = {f: f, **handlers}
        self._listener_added(event)
        return self

    def set_max_listeners(self, n: int) -> Self:
        """Accepted for Node compatibility; pyee has no listener limit."""
        return self

    def event_names(self) -> list[str]:  # type: ignore[override]
        return list(self._events)

    # Node's spellings.
    addListener = add_listener = on  # type: ignore[assignment]

    removeListener = off = remove_listener
    removeAllListeners = remove_all_listeners
    listenerCount = listener_count
    prependListener = prepend_listener
    setMaxListeners = set_max_listeners
    eventNames = event_names
