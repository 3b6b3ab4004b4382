"""``AbortController``, ``AbortSignal`` and ``AbortError``, as Node has them.

* ``controller.abort(reason)`` aborts ``controller.signal`` at once: the
  ``'abort'`` listeners run synchronously, in the caller's greenlet, before
  ``abort()`` returns (as in Node), each with one argument, an :class:`Event`
  (``event.type == 'abort'``, ``event.target`` the signal).  A listener that
  raises does not stop the others and is not raised into ``abort()``'s caller:
  the exception is re-raised in a fresh greenlet, where gevent reports it (Node
  reports it as an uncaught exception on the next tick).
* A signal is an :class:`~nodenet_gevent.emitter.EventEmitter`: ``on``,
  ``once``, ``remove_listener``, and the EventTarget spellings
  ``addEventListener(type, listener, {'once': True})`` /
  ``removeEventListener``; ``onabort`` too.
* With no reason, the reason is Node's: a :class:`DOMException` named
  ``'AbortError'`` (``code`` 20, ``'This operation was aborted'``).
  :meth:`AbortSignal.timeout` aborts with one named ``'TimeoutError'``
  (``code`` 23, ``'The operation was aborted due to timeout'``).
* :meth:`AbortSignal.timeout` never keeps the program alive (``net.run()``
  returns without waiting for it; Node unrefs the timer too), and its timer
  fires in the gevent hub, which only hands over to a new greenlet: listeners
  never run in the hub.
* As in Node, a signal of :meth:`AbortSignal.timeout` or :meth:`AbortSignal.any`
  that nobody references is garbage, timer and all, unless it has ``'abort'``
  listeners: then it is kept until it aborts, so that they run.
* Python's ``None`` is JavaScript's ``undefined``: ``abort(None)`` is
  ``abort()``.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from gevent.hub import get_hub

from .emitter import EventEmitter, Listener
from .errors import ERR_ILLEGAL_CONSTRUCTOR, NodeError, invalid_arg_type
from .loop import next_tick
from .validators import UINT32_MAX, validate_integer

if TYPE_CHECKING:
    from typing_extensions import Self  # for the type checker only: not a runtime dependency

__all__ = ["AbortController", "AbortSignal", "AbortError", "DOMException", "Event"]

# WebIDL's legacy DOMException codes, which Node's DOMException.code reports.
_DOM_EXCEPTION_CODES = {
    "IndexSizeError": 1, "HierarchyRequestError": 3, "WrongDocumentError": 4, "InvalidCharacterError": 5,
    "NoModificationAllowedError": 7, "NotFoundError": 8, "NotSupportedError": 9, "InUseAttributeError": 10,
    "InvalidStateError": 11, "SyntaxError": 12, "InvalidModificationError": 13, "NamespaceError": 14,
    "InvalidAccessError": 15, "TypeMismatchError": 17, "SecurityError": 18, "NetworkError": 19,
    "AbortError": 20, "URLMismatchError": 21, "QuotaExceededError": 22, "TimeoutError": 23,
    "InvalidNodeTypeError": 24, "DataCloneError": 25,
}


class DOMException(Exception):
    """The web platform's ``DOMException``: a ``message``, a ``name`` and its legacy ``code``."""

    def __init__(self, message: str = "", name: str = "Error") -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.code = _DOM_EXCEPTION_CODES.get(name, 0)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return "DOMException [%s]: %s" % (self.name, self.message)

    def __reduce__(self) -> tuple[type[DOMException], tuple[str, str]]:
        return (type(self), (self.message, self.name))


class AbortError(NodeError):
    """Node's ``AbortError``: what an operation cancelled by a signal fails with.

    ``name`` is ``'AbortError'``, ``code`` ``'ABORT_ERR'``, ``cause`` the
    signal's reason (also Python's ``__cause__`` when it is an exception).
    Node's form ``AbortError(message, {'cause': reason})`` works, as does
    ``AbortError(cause=reason)``.
    """

    def __init__(
        self, message: str = "The operation was aborted", options: Mapping[str, Any] | None = None, *,
        cause: object = None,
    ) -> None:
        if options is not None and not isinstance(options, Mapping):
            raise invalid_arg_type("options", "of type object", options)
        super().__init__("ABORT_ERR", message)
        self.name = "AbortError"
        self.cause = options.get("cause", cause) if options is not None else cause
        if isinstance(self.cause, BaseException):
            self.__cause__ = self.cause

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,), self.__dict__)


def _abort_reason() -> DOMException:
    return DOMException("This operation was aborted", "AbortError")


def _timeout_reason() -> DOMException:
    return DOMException("The operation was aborted due to timeout", "TimeoutError")


class Event:
    """What ``'abort'`` listeners get: ``type`` (``'abort'``) and ``target`` (the signal)."""

    __slots__ = ("type", "target")

    def __init__(self, type: str, target: object) -> None:
        self.type = type
        self.target = target

    @property
    def current_target(self) -> object:
        return self.target

    @property
    def is_trusted(self) -> bool:
        """Always ``True``: made by the library, not by user code (``isTrusted``)."""
        return True

    currentTarget = current_target
    isTrusted = is_trusted

    def __repr__(self) -> str:
        return "Event { type: %r }" % (self.type,)


def _raise(error: BaseException) -> None:
    raise error


_dependent_keys = itertools.count()


class AbortSignal(EventEmitter):
    """Node's ``AbortSignal``; made by :class:`AbortController` or the static methods.

    ``AbortSignal()`` itself raises ``ERR_ILLEGAL_CONSTRUCTOR``, as in Node.
    """

    # Timeout and any() signals with 'abort' listeners, which only weak
    # references would otherwise reach (see the module docstring).
    _listened: ClassVar[set[AbortSignal]] = set()

    _aborted: bool
    _reason: object
    _onabort: Listener | None
    _onabort_caller: Listener | None
    # Strong references up (an any() signal keeps what feeds it), weak ones down
    # (a long-lived signal does not keep every any() made of it).
    _dependents: weakref.WeakValueDictionary[int, AbortSignal] | None  # any() signals fed by this one
    _sources: list[AbortSignal]  # for an any() signal: what feeds it
    _composite: bool  # an any() signal
    _weakly_held: bool  # a timeout or any() signal
    _close_timer: Callable[[], object] | None

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise ERR_ILLEGAL_CONSTRUCTOR()

    @classmethod
    def _create(cls) -> AbortSignal:
        signal = cls.__new__(cls)
        EventEmitter.__init__(signal)
        signal._aborted = False
        signal._reason = None
        signal._onabort = None
        signal._onabort_caller = None
        signal._dependents = None  # made by the first any() of this signal
        signal._sources = []
        signal._composite = False
        signal._weakly_held = False
        signal._close_timer = None
        return signal

    @property
    def aborted(self) -> bool:
        return self._aborted

    @property
    def reason(self) -> Any:
        """Why it was aborted (what ``abort(reason)`` got); ``None`` until then."""
        return self._reason

    def throw_if_aborted(self) -> None:
        """Raise the reason if aborted.

        A reason that is not an exception (``abort('why')``: Node throws the
        string) is raised as an :class:`AbortError` whose ``cause`` it is.
        """
        if not self._aborted:
            return
        if isinstance(self._reason, BaseException):
            raise self._reason
        raise AbortError(cause=self._reason)

    throwIfAborted = throw_if_aborted

    # -- aborting ------------------------------------------------------------

    def _abort(self, reason: object) -> None:
        if self._aborted:
            return
        self._aborted = True
        self._reason = reason
        self._sources = []
        AbortSignal._listened.discard(self)
        if self._close_timer is not None:
            self._close_timer()
            self._close_timer = None
        event = Event("abort", self)
        # A listener removed by an earlier one is skipped, one added meanwhile
        # waits for the next dispatch (the DOM's rules, which Node follows).
        for key, listener in list((self._events.get("abort") or {}).items()):
            if (self._events.get("abort") or {}).get(key) is not listener:
                continue
            try:
                listener(event)
            except Exception as error:  # BaseExceptions (gevent.Timeout...) are the caller's
                next_tick(_raise, error)
        # Node 20 aborts the any() signals after this signal's own listeners ran.
        if self._dependents:
            for dependent in list(self._dependents.values()):
                dependent._abort(reason)
        self._dependents = None

    # -- listeners -------------------------------------------------------------

    WATCHED_EVENTS = frozenset(["abort"])

    def _listener_added(self, event: str) -> None:
        self._hold_if_listened()

    def _listener_removed(self, event: str) -> None:
        self._hold_if_listened()

    def _hold_if_listened(self) -> None:
        if self._weakly_held and not self._aborted and self.listener_count("abort"):
            AbortSignal._listened.add(self)
        else:
            AbortSignal._listened.discard(self)

    def remove_all_listeners(self, event: str | None = None) -> Self:  # type: ignore[override]
        super().remove_all_listeners(event)
        if event in (None, "abort"):
            self._onabort = self._onabort_caller = None
        self._hold_if_listened()
        return self

    removeAllListeners = remove_all_listeners

    def add_event_listener(
        self, type: str, listener: Listener, options: Mapping[str, Any] | bool | None = None
    ) -> None:
        """EventTarget's ``addEventListener``; ``{'once': True}`` is honoured, ``capture`` means nothing here."""
        if isinstance(options, Mapping) and options.get("once"):
            self.once(type, listener)
        else:
            self.on(type, listener)

    def remove_event_listener(self, type: str, listener: Listener, options: object = None) -> None:
        self.remove_listener(type, listener)

    addEventListener = add_event_listener
    removeEventListener = remove_event_listener

    @property
    def onabort(self) -> Listener | None:
        """An ``'abort'`` listener set as a property; ``None`` removes it."""
        return self._onabort

    @onabort.setter
    def onabort(self, listener: Listener | None) -> None:
        # An event handler keeps its place among the listeners when replaced.
        self._onabort = listener if callable(listener) else None
        if self._onabort is None:
            if self._onabort_caller is not None:
                self.remove_listener("abort", self._onabort_caller)
                self._onabort_caller = None
        elif self._onabort_caller is None:

            def call_onabort(event: Event) -> None:
                if self._onabort is not None:
                    self._onabort(event)

            self._onabort_caller = call_onabort
            self.on("abort", call_onabort)

    def __repr__(self) -> str:
        return "AbortSignal { aborted: %s }" % ("true" if self._aborted else "false")

    # -- the static constructors -----------------------------------------------

    @staticmethod
    def abort(reason: object = None) -> AbortSignal:
        """A signal already aborted with *reason* (Node's default reason if ``None``)."""
        signal = AbortSignal._create()
        signal._aborted = True
        signal._reason = _abort_reason() if reason is None else reason
        return signal

    @staticmethod
    def timeout(delay: int) -> AbortSignal:
        """A signal that aborts after *delay* milliseconds (an integer, 0 to 2**32-1).

        The reason is a ``TimeoutError`` :class:`DOMException`.  The timer does
        not keep the program alive.
        """
        milliseconds = validate_integer(delay, "delay", 0, UINT32_MAX)
        signal = AbortSignal._create()
        signal._weakly_held = True
        # libuv counts whole milliseconds (and warns about less).
        watcher = get_hub().loop.timer(max(milliseconds / 1000.0, 0.001), 0, ref=False)
        watcher.start(_timeout_fired, weakref.ref(signal))
        # The timer goes with the signal when it is collected unfired.
        signal._close_timer = weakref.finalize(signal, watcher.close)
        return signal

    @staticmethod
    def any(signals: list[AbortSignal] | tuple[AbortSignal, ...]) -> AbortSignal:
        """A signal that aborts, with the same reason, when the first of *signals* does."""
        if not isinstance(signals, (list, tuple)):
            raise invalid_arg_type("signals", "an instance of Array", signals)
        for index, signal in enumerate(signals):
            if not isinstance(signal, AbortSignal):
                raise invalid_arg_type("signals[%d]" % index, "an instance of AbortSignal", signal)
        for signal in signals:
            if signal._aborted:
                return AbortSignal.abort(signal._reason)
        combined = AbortSignal._create()
        combined._composite = combined._weakly_held = True
        for signal in signals:
            # An any() signal stands for its own sources, so that a chain of
            # them does not depend on the middle links staying alive.
            for source in signal._sources if signal._composite else [signal]:
                if source not in combined._sources:
                    if source._dependents is None:
                        source._dependents = weakref.WeakValueDictionary()
                    source._dependents[next(_dependent_keys)] = combined
                    combined._sources.append(source)
        return combined


def _timeout_fired(signal_ref: weakref.ref[AbortSignal]) -> None:
    # In the hub: no user code here, only the hand-over to a greenlet.
    signal = signal_ref()
    if signal is not None and not signal._aborted:
        if signal._close_timer is not None:
            signal._close_timer()
            signal._close_timer = None
        next_tick(signal._abort, _timeout_reason())


class AbortController:
    """Node's ``AbortController``: ``signal``, and ``abort(reason)`` to abort it."""

    __slots__ = ("_signal",)

    def __init__(self) -> None:
        self._signal = AbortSignal._create()

    @property
    def signal(self) -> AbortSignal:
        return self._signal

    def abort(self, reason: object = None) -> None:
        """Abort the signal now (its listeners run before this returns); later calls do nothing."""
        self._signal._abort(_abort_reason() if reason is None else reason)

    def __repr__(self) -> str:
        return "AbortController { signal: %r }" % (self._signal,)
