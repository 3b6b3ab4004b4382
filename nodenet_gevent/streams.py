"""``net.finished()`` and ``net.pipeline()``: Node's ``stream.finished`` and ``stream.pipeline``.

Both are ports of Node 20's ``lib/internal/streams/end-of-stream.js`` and
``pipeline.js``, restricted to what a ``net.Socket`` is: a Node stream (no
iterables, generators, web streams or ``AbortSignal``).  They are built on the
socket's public API only -- its events (``'end'``, ``'finish'``, ``'error'``,
``'close'``), ``pipe()``, ``end()``, ``destroy()`` and its state properties
(read, with their fallbacks, by ``stream_state.py``) -- so anything with those
works too (see :func:`finished` for what counts as a stream).

Where the callbacks run
-----------------------
As in Node, a callback that an event decides runs inside that event's emission:
in the socket's own greenlet (its reader or writer, or the greenlet that emits
``'error'``/``'close'``), never in the hub.  Where Node defers to the next tick
-- ``finished()`` on a stream that is already closed or done, and
``pipeline()``'s callback -- it runs in a fresh greenlet (:func:`next_tick`),
never inside the call that caused it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Optional

from .errors import (
    ERR_INVALID_ARG_VALUE,
    ERR_MISSING_ARGS,
    ERR_STREAM_DESTROYED,
    ERR_STREAM_PREMATURE_CLOSE,
    invalid_arg_type,
)
from .loop import next_tick
from .stream_state import (
    is_closed,
    is_destroyed,
    is_readable,
    is_readable_finished,
    is_readable_stream,
    is_writable_finished,
    is_writable_stream,
    never_writable,
    stream_error,
)

__all__ = ["finished", "pipeline", "FinishedCallback", "Cleanup"]

#: ``finished()``'s and ``pipeline()``'s callback: ``callback(None)`` or ``callback(error)``.
FinishedCallback = Callable[[Optional[BaseException]], object]
#: What ``finished()`` returns: removes its listeners; the callback is then never called.
Cleanup = Callable[[], None]

_UNSET: Any = object()

_PREMATURE_CLOSE = ERR_STREAM_PREMATURE_CLOSE.code
_premature_close = ERR_STREAM_PREMATURE_CLOSE


# ---------------------------------------------------------------------------
# finished()


class _EndOfStream:
    """One ``finished()`` call: its listeners, and the callback they call once."""

    __slots__ = ("stream", "readable", "writable", "readable_finished", "writable_finished", "callback", "on_errors")

    stream: Any
    readable: bool
    writable: bool
    readable_finished: bool
    writable_finished: bool
    callback: FinishedCallback | None
    on_errors: bool

    def __init__(
        self, stream: Any, readable: bool, writable: bool, on_errors: bool, callback: FinishedCallback
    ) -> None:
        self.stream = stream
        self.readable = readable
        self.writable = writable
        self.on_errors = on_errors
        self.callback = callback
        self.readable_finished = is_readable_finished(stream)
        self.writable_finished = is_writable_finished(stream)

    # Listeners are bound methods, made afresh when added and when removed: a
    # bound method equals any other of the same function and object, which is
    # all the listener tables need (as in pipe.py).

    def attach(self) -> None:
        on = self.stream.on
        on("end", self.on_end)
        on("finish", self.on_finish)
        if self.on_errors:
            on("error", self.on_error)
        on("close", self.on_close)

    def cleanup(self) -> None:
        self.callback = None
        remove = self.stream.remove_listener
        remove("end", self.on_end)
        remove("finish", self.on_finish)
        remove("error", self.on_error)
        remove("close", self.on_close)

    def call(self, error: BaseException | None) -> None:
        callback, self.callback = self.callback, None  # once only
        if callback is not None:
            callback(error)

    # A net.Socket emits 'close' by itself (Node's emitClose is false for it),
    # so, unlike for other Node streams, 'end' and 'finish' decide at once:
    # Node's willEmitClose is always false here.

    def on_end(self, *_: object) -> None:
        self.readable_finished = True
        if not self.writable or self.writable_finished:
            self.call(None)

    def on_finish(self, *_: object) -> None:
        self.writable_finished = True
        if not self.readable or self.readable_finished:
            self.call(None)

    def on_error(self, error: object = None, *_: object) -> None:
        self.call(error if isinstance(error, BaseException) else RuntimeError(error))

    def on_close(self, *_: object) -> None:
        stream = self.stream
        errored = stream_error(stream)
        if errored is not None:
            self.call(errored)
        elif (
            self.readable
            and not self.readable_finished
            and is_readable_stream(stream, strict=True)
            and not is_readable_finished(stream)
        ) or (self.writable and not self.writable_finished and not is_writable_finished(stream)):
            self.call(_premature_close())
        else:
            self.call(None)

    def on_closed(self) -> None:
        """Already done when finished() was called: only an error is left to report."""
        self.call(stream_error(self.stream))


def finished(stream: Any, options: Any = _UNSET, callback: Any = _UNSET, **kwargs: Any) -> Cleanup:
    """``net.finished(stream, [options], callback)``: Node's ``stream.finished`` (end-of-stream).

    Calls ``callback(None)`` once *stream* is done -- ``'end'`` emitted (its
    readable side) and ``'finish'`` emitted (its writable side) --
    ``callback(error)`` on its ``'error'``, and ``callback(error)`` with code
    ``ERR_STREAM_PREMATURE_CLOSE`` (``'Premature close'``) when it closes
    before that.  Once only.  A stream already closed or done gets its callback
    on the next tick.

    Options (a dict or keyword arguments): ``readable`` / ``writable``
    (``False``: do not wait for that side; by default each side the stream has),
    ``error`` (``False``: do not listen to ``'error'``: the stream's error
    stays unhandled unless somebody else listens, and is reported at
    ``'close'``).  The callback may also be given as ``callback=``.

    Returns a function that removes the listeners; after it, the callback is
    never called.  *stream* is a :class:`Socket`, or anything with ``on()``
    and ``pipe()`` or ``write()``.
    """
    if callback is _UNSET and "callback" in kwargs:
        callback = kwargs.pop("callback")
    if callback is _UNSET:
        # Node: with two arguments, the second is the callback.
        callback, options = (None if options is _UNSET else options), None
    if options is _UNSET or options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise invalid_arg_type("options", "of type object", options)
    options = {**options, **kwargs}
    if not callable(callback):
        raise invalid_arg_type("callback", "of type function", callback)
    if options.get("signal") is not None:
        raise ERR_INVALID_ARG_VALUE("property", "options.signal", "is not supported", options["signal"])
    if not callable(getattr(stream, "on", None)) or not (
        callable(getattr(stream, "pipe", None)) or callable(getattr(stream, "write", None))
    ):
        raise invalid_arg_type("stream", "an instance of ReadableStream, WritableStream, or Stream", stream)

    # Node's '??': None (undefined) means "whatever the stream has".
    readable = options.get("readable")
    readable = is_readable_stream(stream) if readable is None else bool(readable)
    writable = options.get("writable")
    writable = is_writable_stream(stream) if writable is None else bool(writable)

    eos = _EndOfStream(stream, readable, writable, options.get("error") is not False, callback)
    eos.attach()
    # Already over?  Then the callback follows on the next tick (Node's
    # process.nextTick), as an event would, never from inside this call.
    if is_closed(stream):
        next_tick(eos.on_close)
    elif (not readable and (eos.writable_finished or never_writable(stream))) or (
        not writable and (eos.readable_finished or is_readable(stream) is False)
    ):
        # The one side waited for is done, or the stream does not have it.
        next_tick(eos.on_closed)
    return eos.cleanup


# ---------------------------------------------------------------------------
# pipeline()


class _Pipeline:
    """One ``pipeline()`` call: Node's count of pending finishes, and who to destroy on error."""

    __slots__ = ("callback", "error", "destroys", "pending", "last_cleanup")

    callback: FinishedCallback | None
    error: BaseException | None
    destroys: list[Callable[[BaseException | None], None]]
    pending: int
    last_cleanup: list[Cleanup]

    def __init__(self, callback: FinishedCallback) -> None:
        self.callback = callback
        self.error = None
        self.destroys = []
        self.pending = 0
        self.last_cleanup = []

    def finish(self, error: BaseException | None = None) -> None:
        self.pending -= 1
        self._finish(error, self.pending == 0)

    def _finish(self, error: BaseException | None, final: bool) -> None:
        # The first error wins, except that a real error replaces a premature
        # close (which is often only the echo of the real one elsewhere).
        if error is not None and (self.error is None or getattr(self.error, "code", None) == _PREMATURE_CLOSE):
            self.error = error
        if self.error is None and not final:
            return
        while self.destroys:
            self.destroys.pop(0)(self.error)
        if final:
            if self.error is None:
                for cleanup in self.last_cleanup:
                    cleanup()
            callback, self.callback = self.callback, None
            if callback is not None:
                next_tick(callback, self.error)

    def on_error(self, error: object = None, *_: object) -> None:
        """Any stream's ``'error'``, also after its part is done; its premature closes are counted elsewhere.

        As in Node, this counts as one of the pending finishes too: an error
        may thus call back before every stream reported, but never before every
        stream was destroyed.
        """
        if isinstance(error, BaseException) and getattr(error, "code", None) != _PREMATURE_CLOSE:
            self.finish(error)


def _destroy(stream: Any, error: BaseException) -> None:
    """Node's ``destroyImpl.destroyer``: ``destroy(error)``, or ``close()`` for what has no destroy()."""
    if is_destroyed(stream):
        return
    destroy = getattr(stream, "destroy", None)
    if callable(destroy):
        destroy(error)
    else:
        close = getattr(stream, "close", None)
        if callable(close):
            close()


def _destroyer(stream: Any, reading: bool, writing: bool) -> tuple[Callable[[BaseException | None], None], Cleanup]:
    """Destroys *stream* when the pipeline fails, unless its part finished well or it closed."""
    done = False

    def on_close(*_: object) -> None:
        nonlocal done
        done = True

    def on_finished(error: BaseException | None) -> None:
        nonlocal done
        done = error is None

    stream.on("close", on_close)
    cleanup = finished(stream, {"readable": reading, "writable": writing}, on_finished)

    def destroy(error: BaseException | None) -> None:
        nonlocal done
        if done:
            return
        done = True
        _destroy(stream, error or ERR_STREAM_DESTROYED("pipe"))

    return destroy, cleanup


def _watch_errors(state: _Pipeline, stream: Any) -> Cleanup:
    """Report *stream*'s errors to the pipeline, also those after its part is done; returns the remover.

    A listener of its own for each place a stream has in the pipeline: a
    stream that appears twice (a proxy's client socket) gets two, as in Node
    (the listener tables key by the function).
    """

    def on_error(error: object = None, *_: object) -> None:
        state.on_error(error)

    stream.on("error", on_error)
    return lambda: stream.remove_listener("error", on_error)


def _pipe(source: Any, destination: Any, finish: Callable[[BaseException | None], None]) -> Cleanup:
    """``source.pipe(destination)``, reporting twice to *finish*: source ended, destination finished."""
    ended = False

    def on_close(*_: object) -> None:
        if not ended:  # the destination closed before the source ended it
            finish(_premature_close())

    def end_destination(*_: object) -> None:
        nonlocal ended
        ended = True
        destination.end()

    destination.on("close", on_close)
    # end=False: the pipeline ends the destination itself, so that it knows
    # whether a 'close' came before that.
    source.pipe(destination, end=False)
    if is_readable_finished(source):
        next_tick(end_destination)
    else:
        source.once("end", end_destination)
    # (Node also waits for a late 'end' when a source closes after its EOF but
    # before 'end'; a Socket always emits 'end' first.)
    finished(source, {"readable": True, "writable": False}, finish)
    return finished(destination, {"readable": False, "writable": True}, finish)


def pipeline(*streams: Any, callback: Any = _UNSET) -> Any:
    """``net.pipeline(*streams, callback)``: Node's ``stream.pipeline``; returns the last stream.

    Pipes each stream into the next (``pipe()``, with back-pressure) and ends
    each one when the one before it ends.  ``callback(None)`` once the last
    stream finished (and every other stream's part is done); on an error in
    any of them -- or one closing too early (``ERR_STREAM_PREMATURE_CLOSE``)
    -- every stream not yet done is destroyed with that error and
    ``callback(error)`` follows.  Once only, and always on a later tick.

    The streams may also be given as one list: ``pipeline([a, b, c], cb)``; the
    callback as ``callback=``.  A socket may appear twice: ``pipeline(client,
    upstream, client, cb)`` is a proxy (give both sockets ``allowHalfOpen``,
    as in Node, or the client's end closes it before the upstream answered).
    Every stream but the last needs ``pipe(dest, end=...)`` and ``once()``,
    every stream but the first ``write()`` and ``end()``, and all ``on()`` and
    ``remove_listener()``; ``destroy(error)`` is used where there is one.
    """
    items = list(streams)
    if callback is _UNSET:
        last = items.pop() if items else None
        if not callable(last):
            raise invalid_arg_type("streams[stream.length - 1]", "of type function", last)
        callback = last
    elif not callable(callback):
        raise invalid_arg_type("callback", "of type function", callback)
    if len(items) == 1 and isinstance(items[0], (list, tuple)):
        items = list(items[0])
    if len(items) < 2:
        raise ERR_MISSING_ARGS('"streams"')
    # Every argument is checked before any listener is added, so that a bad
    # one leaves the streams as they were (Node checks each in turn, as it
    # wires it up).
    for index, stream in enumerate(items):
        source, sink = index < len(items) - 1, index > 0
        if not callable(getattr(stream, "on", None)) or (
            source and not callable(getattr(stream, "pipe", None))
        ) or (sink and not (callable(getattr(stream, "write", None)) and callable(getattr(stream, "end", None)))):
            kind = "a duplex" if source and sink else "a readable" if source else "a writable"
            raise invalid_arg_type("streams[%d]" % index, "%s stream" % kind, stream)

    state = _Pipeline(callback)
    last_index = len(items) - 1
    # The last stream may outlive the pipeline (its readable side is not
    # part of it): on success, the listeners put on it are removed again, so
    # that its later errors are its user's to handle (Node issue 35452).
    last_readable = bool(is_readable(items[last_index]))
    for index, stream in enumerate(items):
        is_last = index == last_index
        destroy, cleanup = _destroyer(stream, index < last_index, index > 0)
        state.destroys.append(destroy)
        if is_last and last_readable:
            state.last_cleanup.append(cleanup)
        remove_error_listener = _watch_errors(state, stream)
        if is_last and last_readable:
            state.last_cleanup.append(remove_error_listener)
        if index > 0:
            state.pending += 2
            cleanup = _pipe(items[index - 1], stream, state.finish)
            if is_last and last_readable:
                state.last_cleanup.append(cleanup)
    return items[last_index]
