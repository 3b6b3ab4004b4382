"""What a stream is, and where it stands: the stream-state reads of ``finished()`` and ``pipeline()``.

Node's end-of-stream reads the stream-state properties (``closed``,
``errored``, ``readableEnded``, ``writableFinished``, ``writableEnded``).
Each helper below uses the property when the stream has it -- the Socket has
them all (state.py) -- through getattr(), and otherwise falls back on what
any Socket-like has -- ``destroyed``, ``readable``, ``writable`` -- and on the
events finished() sees: a duck-typed stream, or a Socket from before those
properties (streams.py was written against one).  The fallback cannot tell
everything apart; each helper says what it cannot tell and which way it errs.

The names are those of Node's ``lib/internal/streams/utils.js`` where it has one.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "is_readable_stream",
    "is_writable_stream",
    "is_destroyed",
    "is_closed",
    "is_readable_finished",
    "is_writable_finished",
    "stream_error",
    "is_readable",
    "is_writable",
    "never_writable",
]


def is_readable_stream(stream: Any, strict: bool = False) -> bool:
    """Node's ``isReadableNodeStream``: has ``pipe()`` and ``on()`` (and, *strict*, ``pause``/``resume``)."""
    return (
        callable(getattr(stream, "pipe", None))
        and callable(getattr(stream, "on", None))
        and (not strict or (callable(getattr(stream, "pause", None)) and callable(getattr(stream, "resume", None))))
    )


def is_writable_stream(stream: Any) -> bool:
    """Node's ``isWritableNodeStream``: has ``write()`` and ``on()``."""
    return callable(getattr(stream, "write", None)) and callable(getattr(stream, "on", None))


def _flag(stream: Any, name: str) -> bool | None:
    value = getattr(stream, name, None)
    return value if isinstance(value, bool) else None


def is_destroyed(stream: Any) -> bool:
    return bool(getattr(stream, "destroyed", False))


def is_closed(stream: Any) -> bool:
    """Whether the stream closed (Node's ``closed``).

    Fallback: ``destroyed`` (the Socket's ``closed`` is that too).  A Socket
    is destroyed as it schedules its ``'close'`` (and ``'error'``) for the
    next tick; the check finished() schedules for a closed stream runs after
    those, so it never gets ahead of them.
    """
    closed = _flag(stream, "closed")
    return closed if closed is not None else is_destroyed(stream)


def is_readable_finished(stream: Any) -> bool:
    """Whether ``'end'`` was emitted (Node's ``readableEnded``).

    Fallback: a Socket-like that is still open stops being readable exactly when it
    emits ``'end'``.  Once destroyed it is not readable either way, and nothing
    says whether ``'end'`` came first: taken as not finished.
    """
    ended = _flag(stream, "readableEnded")
    if ended is not None:
        return ended
    return not is_destroyed(stream) and _flag(stream, "readable") is False


def is_writable_finished(stream: Any) -> bool:
    """Whether ``'finish'`` was emitted (Node's ``writableFinished``).

    Fallback: none.  A Socket-like stops being writable at ``end()``, before its FIN
    went out and ``'finish'`` came, so ``writable`` says nothing here: only the
    ``'finish'`` event itself counts.  finished() called on such a stream after
    its ``'finish'`` therefore waits for ``'close'`` and reports a premature close.
    """
    finished_ = _flag(stream, "writableFinished")
    return bool(finished_)


def stream_error(stream: Any) -> BaseException | None:
    """The error the stream was destroyed with (Node's ``errored``); fallback: unknown (``None``)."""
    for name in ("writableErrored", "readableErrored", "errored"):
        value = getattr(stream, name, None)
        if isinstance(value, BaseException):
            return value
    return None


def is_readable(stream: Any) -> bool | None:
    """Node's ``isReadable``: it may still emit ``'data'``/``'end'``; ``None`` when it cannot say."""
    readable = _flag(stream, "readable")
    if readable is None:
        return None
    if is_destroyed(stream):
        return False
    return is_readable_stream(stream) and readable and not is_readable_finished(stream)


def is_writable(stream: Any) -> bool | None:
    """Node's ``isWritable``: it may still be written to; ``None`` when it cannot say."""
    writable = _flag(stream, "writable")
    if writable is None:
        return None
    if is_destroyed(stream):
        return False
    return is_writable_stream(stream) and writable and not _flag(stream, "writableEnded")


def never_writable(stream: Any) -> bool:
    """Not writable, and not because of ``end()``.

    An ``end()``-ed stream that has not finished waits for ``'finish'`` (Node:
    its pending callbacks).  Fallback: without ``writableEnded`` nothing
    tells the two apart, so finished() waits for ``'finish'`` or ``'close'``.
    """
    return is_writable(stream) is False and _flag(stream, "writableEnded") is False
