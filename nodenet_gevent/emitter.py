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
import inspect
from typing import TYPE_CHECKING, Any, Callable, TypeVar, overload

from pyee import EventEmitter as _PyeeEventEmitter

from .errors import ERR_ASYNC_LISTENER

if TYPE_CHECKING:
    from typing_extensions import Self  # for the type checker only: not a runtime dependency

__all__ = ["EventEmitter"]

_NO_LOCK = contextlib.nullcontext()

#: A listener: called with the event's arguments; what it returns is ignored.
Listener = Callable[..., object]
_L = TypeVar("_L", bound=Listener)

# An `async def` (or async generator) function: called as a handler it would only make a coroutine.
_ASYNC_FLAGS = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


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

    #: Events whose listeners being added or removed the subclass watches
    #: (:meth:`_listener_added`, :meth:`_listener_removed`); a set looked up in
    #: C, so that adding any other listener costs no hook call.
    WATCHED_EVENTS: frozenset[str] = frozenset()

    def _add_event_handler(self, event: str, k: Callable[..., Any], v: Callable[..., Any]) -> None:
        # pyee's own, but with a plain dict per event (ordered, and half the
        # size of pyee's OrderedDict: it is kept for every connection), and
        # Node's 'newListener' (before adding, with the listener as given)
        # next to pyee's 'new_listener'.
        code = getattr(k, "__code__", None)  # (a bound method forwards to its function's)
        if code is not None and code.co_flags & _ASYNC_FLAGS:
            raise ERR_ASYNC_LISTENER(getattr(k, "__qualname__", repr(k)), event)
        events = self._events
        if "new_listener" in events:
            self.emit("new_listener", event, k)
        if "newListener" in events:
            self.emit("newListener", event, k)
        handlers = events.get(event)
        if handlers is None:
            events[event] = {k: v}
        else:
            handlers[k] = v
        if event in self.WATCHED_EVENTS:
            self._listener_added(event)

    def _listener_added(self, event: str) -> None:
        """Hook for subclasses: a listener for *event* (one of WATCHED_EVENTS) was just added."""

    def _listener_removed(self, event: str) -> None:
        """Hook for subclasses: a listener for *event* (one of WATCHED_EVENTS) was just removed."""

    def _remove_listener(self, event: str, f: Callable[..., Any]) -> None:
        # pyee's naked removal (also what a once() listener calls as it fires),
        # then Node's 'removeListener'.
        events = self._events
        handlers = events.get(event)
        if handlers is None or handlers.pop(f, None) is None:
            return
        if not handlers:
            del events[event]
        if "removeListener" in events:
            self.emit("removeListener", event, f)
        if event in self.WATCHED_EVENTS:
            self._listener_removed(event)

    def remove_listener(self, event: str, f: Callable[..., Any]) -> Self:  # type: ignore[override]
        """Remove *f* from *event*; removing a listener that is not there is harmless (Node)."""
        self._remove_listener(event, f)
        return self

    def remove_all_listeners(self, event: str | None = None) -> Self:  # type: ignore[override]
        """Remove every listener of *event* (of every event when None); Node's 'removeListener' for each."""
        events = self._events
        names = list(events) if event is None else [event]
        if "removeListener" in events or self.WATCHED_EVENTS.intersection(names):
            # One at a time, last added first as Node does, so each removal is announced;
            # 'removeListener' listeners themselves go last.
            for name in sorted(names, key=lambda n: n == "removeListener"):
                for f in reversed(list(events.get(name, ()))):
                    self._remove_listener(name, f)
            return self
        if event is None:
            self._events = {}
        else:
            events.pop(event, None)
        return self

    def listener_count(self, event: str) -> int:
        return len(self._events.get(event) or ())

    def prepend_listener(self, event: str, f: Listener) -> Self:
        if "newListener" in self._events:
            self.emit("newListener", event, f)
        handlers = self._events.get(event) or {}
        handlers.pop(f, None)
        self._events[event] = {f: f, **handlers}
        if event in self.WATCHED_EVENTS:
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
