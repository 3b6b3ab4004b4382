"""End of life: ``'end'``, our FIN and ``'finish'``, ``'close'``, ``destroy()``.

The order is Node's: ``'end'`` (after every held byte) -> ``'finish'`` (our
FIN, after the queue flushed) -> ``'close'(had_error)``, ``'close'`` exactly
once.  Without ``allowHalfOpen`` the peer's FIN ends our side too.  Which
greenlet does what is written down in ``state.py``; the decisions are here:

* ``WriteSide.end()`` -- our side is ending: the writer greenlet will send the
  FIN, unless ``end()`` runs in the reader's own ``'end'`` handler: then the
  reader, in :meth:`EndOfLife._finish_reading`, sends it.
* :meth:`EndOfLife._finish_reading` -- the reader after EOF: ``'end'``, and
  without allowHalfOpen our FIN -- from the reader itself when nothing is
  queued, rather than start a greenlet just for the FIN.
* :meth:`EndOfLife._maybe_close` -- the one place that sends our FIN (and
  emits ``'finish'``) and decides "both sides are done, so close" (Node's
  ``finishMaybe`` and ``maybeDestroy``).
* :meth:`EndOfLife._destroy` -- close now, for every reason.
"""

from __future__ import annotations

import collections
import errno
import socket as _stdlib_socket
import struct
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import gevent

from ._gevent import os_socket, readiness, stop_dormant_wait
from .abort import AbortError, AbortSignal
from .addresses import is_inet
from .dormant import DORMANT_OWNERS
from .emitter import Listener
from .errors import (
    ERR_INVALID_HANDLE_TYPE,
    ERR_SOCKET_CLOSED,
    ERR_SOCKET_CLOSED_BEFORE_CONNECTION,
    ERR_STREAM_DESTROYED,
    NodeError,
    invalid_arg_type,
    os_error,
)
from .loop import next_tick
from .pipe import Pipe
from .reporting import report
from .state import CLOSED, CONNECTING, ENDED, ENDING, FINISHED, OPEN, WRITABLE, SocketBase, WriteCallback

if TYPE_CHECKING:
    from typing_extensions import Self  # for the type checker only: not a runtime dependency

__all__ = ["EndOfLife"]

_SHUT_WR = _stdlib_socket.SHUT_WR
# struct linger {l_onoff = 1, l_linger = 0}: close() sends a RST and drops what is unsent.
_LINGER_ZERO = struct.pack("ii", 1, 0)


class EndOfLife(SocketBase):
    __slots__ = ()

    if TYPE_CHECKING:
        def _park_reader(self) -> None: ...
        def _deliver_held(self) -> bool: ...

    # ------------------------------------------------------------------
    # half-close

    def _finish_reading(self, user_code_ran: bool) -> None:
        """The reader after EOF: deliver what is held (waiting for a consumer if need be), then 'end'.

        Then, without allowHalfOpen, our side ends too: with nothing to flush the
        FIN, 'finish' and 'close' follow here, in the reader.
        """
        if self._readable_mode:
            if not self._announce_end_readable():
                return
            user_code_ran = True
        while self._held:
            user_code_ran = True
            if not self._flowing:
                self._park_reader()
                if self._state is not OPEN:
                    return
                continue
            if not self._deliver_held():
                return
        if self._decoder is not None:
            tail = self._decoder.end()
            if tail:
                user_code_ran = True
                self.emit("data", tail)
                if self._state is not OPEN:
                    return
        self._read_state = ENDED
        handlers = self._events.get("end")
        if handlers:
            # Looked at before emitting: once() listeners remove themselves.
            user_code_ran = user_code_ran or _runs_user_code(handlers)
            self.emit("end")
            if self._state is not OPEN:
                return
        if self._write_state is WRITABLE and not self._allow_half_open:
            self._write_state = ENDING  # (end() from an 'end' handler did the same: see WriteSide.end)
        if self._write_state is not ENDING:
            self._maybe_close(user_code_ran)
            return
        # Our side is ending and the FIN is ours to send -- or the writer's,
        # when something is queued (it sends the FIN once it flushed).
        if self._writer is None and not self._queue:
            if user_code_ran:
                gevent.sleep(0)
                if self._state is not OPEN or self._write_state is not ENDING:
                    return
            if self._writer is None and not self._queue:
                self._maybe_close(user_code_ran=False)
                return
        self._start_writer()

    def _announce_end_readable(self) -> bool:
        """Paused ('readable') mode at EOF: 'readable' once more, then wait until read() took it all.

        The decoder's tail joins what is held first, so read() returns it too.
        False if the socket closed meanwhile.
        """
        if self._decoder is not None:
            tail = self._decoder.end()
            if self._held is None:
                self._held = collections.deque()
            if tail:
                self._held.append(tail)
                self._held_size += len(tail)
        announced = False
        while self._readable_mode and (self._held or not announced):
            if not announced or not self._emitted_readable:
                announced = self._emitted_readable = True
                self.emit("readable")
            elif self._held:
                self._park_reader()  # read() wakes it
            if self._state is not OPEN:
                return False
        return True

    def _maybe_close(self, user_code_ran: bool) -> None:
        """The one place that decides the end: our FIN if it is due, then 'close' if both sides are done.

        Called by whichever side just finished: the reader after 'end', or the
        writer once its queue is empty after end().  The FIN is due when our
        side is ending and nothing is queued; 'close' follows (from this
        greenlet) once the peer's 'end' and our 'finish' were both emitted --
        after one yield if a handler of the user's ran since this greenlet last
        yielded, so that whoever awaited the last event runs and may add a
        'close' listener first (Node's 'close' is a later tick too), without
        the cost of a greenlet just to emit it.
        """
        if self._write_state is ENDING and not self._queue:
            if self._read_state is not ENDED:
                # With the peer's FIN already read, close() sends ours: skip the syscall.
                try:
                    os_socket(self._handle).shutdown(_SHUT_WR)
                except OSError as error:
                    if error.errno != errno.ENOTCONN:
                        self._destroy(os_error(error, "shutdown"))
                        return
            self._write_state = FINISHED
            handlers = self._events.get("finish")
            if handlers:
                user_code_ran = user_code_ran or _runs_user_code(handlers)  # before: once() listeners go
                self.emit("finish")
        if self._state is not OPEN or self._read_state is not ENDED or self._write_state is not FINISHED:
            return
        if user_code_ran:
            gevent.sleep(0)
            if self._state is not OPEN:
                return
        self._destroy(inline=True)

    # ------------------------------------------------------------------
    # closing

    def destroy(self, error: BaseException | None = None) -> Self:
        """Close at once: pending writes fail, ``'error'`` (if *error*) then ``'close'``."""
        self._destroy(error)
        return self

    def destroy_soon(self) -> None:
        """End, and destroy once everything written went out (``'finish'``), as Node's ``destroySoon``."""
        if self.writable:
            self.end()
        if self._write_state is FINISHED:
            self._destroy()
        else:
            self.once("finish", self.destroy)

    def reset_and_destroy(self) -> Self:
        """Close with a TCP RST instead of a FIN: the peer sees ``ECONNRESET`` (``SO_LINGER`` 0)."""
        if self._state is CONNECTING:
            self.once("connect", self._destroy_with_reset)
        elif self._state is OPEN:
            if not is_inet(self._handle.family):
                raise ERR_INVALID_HANDLE_TYPE()
            self._destroy_with_reset()
        else:
            self._destroy(ERR_SOCKET_CLOSED())
        return self

    def _follow_signal(self, signal: object) -> None:
        """The ``signal`` option: its abort destroys the socket with an ``AbortError`` (Node's addAbortSignal)."""
        if not isinstance(signal, AbortSignal):
            raise invalid_arg_type("signal", "an instance of AbortSignal", signal)
        if signal.aborted:
            next_tick(self._abort_by, signal, context=self._context)  # at once -- after this call returns
            return

        def on_abort(event: object) -> None:
            self._abort_by(signal)

        signal.add_event_listener("abort", on_abort, {"once": True})
        self._extras()["signal"] = (signal, on_abort)

    def _abort_by(self, signal: AbortSignal) -> None:
        self._destroy(AbortError(cause=signal.reason))

    def _destroy_with_reset(self) -> None:
        if self._state is OPEN:
            try:
                self._handle.setsockopt(_stdlib_socket.SOL_SOCKET, _stdlib_socket.SO_LINGER, _LINGER_ZERO)
            except OSError:
                pass  # closed by the peer meanwhile: a plain close is all there is to do
            self._destroy()

    def _destroy(self, error: BaseException | None = None, had_error: bool = False, inline: bool = False) -> None:
        """Close now; 'error'/'close' follow on the next tick, or at once when *inline*.

        *inline* is for the end of a normal lifecycle inside our own reader or
        writer greenlet, where no user call is waiting to return first.
        """
        if self._state is CLOSED:
            return
        was_connected = self._state is OPEN
        self._state = CLOSED
        self._had_error = had_error or error is not None
        self._errored = error
        if self._idle is not None:
            self._idle.stop()
        if self._handle is not None:
            if self._peer is None:
                self._peer_cache()  # remoteAddress stays known after close
            watcher = readiness(self._handle)[1]
            # Dormant (reading.py), or in the runner's hands: no greenlet waits on the read watcher, so
            # stop it before gevent's close would throw its "closed" error at its callback's owner
            # (dormant.DORMANT_OWNERS).
            if (
                watcher is not None
                and watcher.active
                and isinstance(getattr(watcher.callback, "__self__", None), DORMANT_OWNERS)
            ):
                stop_dormant_wait(self._handle)
            self._handle.close()
        queue = self._queue
        pending = [cb for _, cb in queue if cb is not None] if queue else ()
        failure: NodeError | None = None
        self._queue = None
        self._queued = 0
        self._held = None
        self._held_size = 0
        if self._park is not None:
            self._park.set()  # a parked reader sees CLOSED and returns
        if self._pipes:
            self._release_pipes()
        if self._extra is not None and "signal" in self._extra:
            signal, on_abort = self._extra.pop("signal")
            signal.remove_event_listener("abort", on_abort)  # a closed socket holds no signal, nor it us
        if pending:
            if was_connected or self._handle is None and self._bytes_read:
                failure = ERR_STREAM_DESTROYED("write")
            else:
                failure = ERR_SOCKET_CLOSED_BEFORE_CONNECTION()
        if not inline:
            next_tick(self._emit_close, error, pending, failure, context=self._context)
        elif pending or error is not None:
            self._emit_close(error, pending, failure)
        else:
            # The end of a normal lifecycle: _emit_close's finally clause, inline
            # (a Python call less per connection).  tests/test_house.py keeps
            # the two in step.
            server = self._server
            if server is not None:
                server._connection_closed(self)  # type: ignore[arg-type]  # self is a Socket (EndOfLife is a part)
            if "close" in self._events:
                self.emit("close", self._had_error)

    def _release_pipes(self) -> None:
        """Closed: let go of the pipes whose destination finished or closed.

        Node unpipes when the destination finishes or closes, so by our 'close'
        it would have.  It also breaks the cycle socket -> listener -> pipe ->
        socket: a closed ``c.pipe(c)`` connection is freed at once instead of
        by the cyclic garbage collector, which cost about as much per
        connection as all the rest of the pipe did.
        """
        kept = None
        for pipe in self._pipes or ():
            destination = pipe.destination
            if isinstance(destination, SocketBase) and (
                destination._state is CLOSED or destination._write_state is FINISHED
            ):
                pipe.detach()
                if "unpipe" in destination._events:  # Node's pipe unpipes when its destination finishes
                    destination.emit("unpipe", self)
            else:
                if kept is None:
                    kept = []
                kept.append(pipe)
        self._pipes = kept

    def _emit_close(
        self, error: BaseException | None, pending: Sequence[WriteCallback], failure: NodeError | None
    ) -> None:
        """Failed writes' callbacks, 'error', then 'close' -- which follows whatever they raise.

        What they raise (an 'error' nobody listens to, say) is reported, once.
        """
        try:
            try:
                for callback in pending:
                    callback(failure)
                if error is not None:
                    self.emit("error", error)
            finally:
                server = self._server
                if server is not None:
                    server._connection_closed(self)  # type: ignore[arg-type]  # self is a Socket (a part of it)
                if "close" in self._events:  # (emit() would look too: one Python call less per connection)
                    self.emit("close", self._had_error)
        except Exception as raised:
            report(raised, self)

    # Node's spellings.
    destroySoon = destroy_soon
    resetAndDestroy = reset_and_destroy


def _runs_user_code(handlers: Iterable[Listener]) -> bool:
    """Whether an event's listener table holds a listener of the user's.

    Ours is a pipe's 'end' listener into one of our sockets: ending a socket
    schedules nothing of the user's (any other destination's end() might).
    """
    for listener in handlers:
        pipe = getattr(listener, "__self__", None)
        if type(pipe) is not Pipe or not isinstance(pipe.destination, SocketBase):
            return True
    return False
