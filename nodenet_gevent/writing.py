"""The write side: ``write()``, the write queue, the writer greenlet and ``'drain'``.

``write()`` sends at once from the caller when nothing is queued (one
non-blocking ``send``, as asyncio and libuv do) and queues only what the
kernel did not take.  The writer greenlet exists only while something is
queued (or a FIN is owed): it coalesces the queue into large sends, runs the
write callbacks, emits ``'drain'``, and once the queue is empty after
``end()`` hands over to ``closing._maybe_close`` for the FIN.  Writes are never reordered and
never lost while the connection lives; a write made before ``'connect'`` waits
in the queue.
"""

from __future__ import annotations

import collections
import errno
import itertools
from typing import TYPE_CHECKING

import greenlet

from ._gevent import os_socket
from .emitter import Listener
from .encodings import Chunk, normalize_encoding, to_bytes
from .errors import ERR_STREAM_DESTROYED, ERR_STREAM_NULL_VALUES, ERR_STREAM_WRITE_AFTER_END, invalid_arg_type, os_error
from .loop import next_tick
from .reporting import report
from .state import CLOSED, ENDED, ENDING, OPEN, WRITABLE, QueueItem, SocketBase, WriteCallback

if TYPE_CHECKING:
    from typing_extensions import Self  # for the type checker only: not a runtime dependency

__all__ = ["WriteSide"]

_EMPTY = b""


class WriteSide(SocketBase):
    __slots__ = ()

    if TYPE_CHECKING:
        def _maybe_close(self, user_code_ran: bool) -> None: ...

    def write(
        self, data: Chunk, encoding: str | WriteCallback | None = None, callback: WriteCallback | None = None
    ) -> bool:
        """Queue *data* (bytes-like, or ``str`` in *encoding*); return the back-pressure flag.

        Returns ``False`` once the bytes not yet taken by the kernel reach the
        high-water mark; ``'drain'`` follows when they are gone.  ``callback(err)``
        runs once the bytes were handed to the kernel (``err`` is ``None``) or failed.
        """
        if encoding is not None or callback is not None:  # (write(chunk) alone skips both checks)
            if callback is None and callable(encoding):
                callback, encoding = encoding, None
            if callback is not None and not callable(callback):
                raise invalid_arg_type("callback", "of type function", callback)
        if type(data) is bytes:
            chunk: bytes | memoryview = data
        elif data is None:
            raise ERR_STREAM_NULL_VALUES()
        else:
            chunk = to_bytes(data, self._default_encoding if encoding is None else encoding)
        state = self._state
        if self._write_state is not WRITABLE or state is CLOSED:
            self._write_refused(callback)
            return False
        size = len(chunk)
        self._bytes_written += size
        if (
            state is OPEN
            and not self._queue
            and self._writer is None
            and callback is None
            and size
            and not self._corked
        ):
            try:
                sent = os_socket(self._handle).send(chunk)  # non-blocking: the OS socket itself
            except BlockingIOError:
                sent = 0
            except OSError as error:
                self._destroy(os_error(error, "write"))
                return False
            if self._idle is not None:
                self._idle.touch()
            if sent == size:
                return True
            chunk = memoryview(chunk)[sent:]
        if self._queue is None:
            self._queue = collections.deque()
        self._queue.append((chunk, callback))
        self._queued += len(chunk)
        if self._state is OPEN and not self._corked:
            self._start_writer()
        if self._queued >= self._hwm:
            self._need_drain = True
            return False
        return True

    def _write_refused(self, callback: WriteCallback | None) -> None:
        error: Exception
        if self._read_state is ENDED and not self._allow_half_open and self._write_state is not WRITABLE:
            # Node's writeAfterFIN: the peer ended, so we did too.
            error = os_error(errno.EPIPE, "write")
            error.message = "This socket has been ended by the other party"
        elif self._state is CLOSED:
            error = ERR_STREAM_DESTROYED("write")
        else:
            error = ERR_STREAM_WRITE_AFTER_END()
        if callback is not None:
            next_tick(callback, error, context=self._context)
        self._destroy(error)  # no-op (and no 'error') when already destroyed

    def end(
        self,
        data: Chunk | Listener | None = None,
        encoding: str | Listener | None = None,
        callback: Listener | None = None,
    ) -> Self:
        """Write *data* (if any), then send FIN once everything queued is flushed.

        ``callback`` (or a trailing function in any position) runs on ``'finish'``.
        """
        if callable(data):
            data, callback = None, data
        elif callable(encoding):
            encoding, callback = None, encoding
        if data is not None:
            self.write(data, encoding)
        if callable(callback):  # as Node: anything else in that place is ignored
            self.once("finish", callback)
        self._corked = 0  # as Node: end() uncorks
        if self._write_state is WRITABLE and self._state is not CLOSED:
            self._write_state = ENDING
            # The writer greenlet sends the FIN once the queue is empty -- but in
            # the reader's own 'end' handler, the reader sends it (or starts the
            # writer) when its handlers return: see EndOfLife._finish_reading.
            if self._state is OPEN and not (self._read_state is ENDED and greenlet.getcurrent() is self._reader):
                self._start_writer()
        return self

    def cork(self) -> None:
        """Hold writes in the queue until as many ``uncork()`` calls (or ``end()``): they leave together."""
        self._corked += 1

    def uncork(self) -> None:
        """Undo one ``cork()``; the last one sends what was written meanwhile, coalesced."""
        if self._corked:
            self._corked -= 1
            if not self._corked and self._queue and self._state is OPEN:
                self._start_writer()

    def set_default_encoding(self, encoding: str) -> Self:
        """The encoding of ``str`` written without one (``'utf8'`` unless set)."""
        self._default_encoding = normalize_encoding(encoding)
        return self

    # ------------------------------------------------------------------
    # the writer greenlet

    def _start_writer(self) -> None:
        if self._queue is None:
            self._queue = collections.deque()
        if self._writer is None:
            self._writer = next_tick(self._run_writer, context=self._context)

    def _flush_when_connected(self) -> None:
        """Just connected: what was written (or ended) before ``'connect'`` goes out now (unless corked)."""
        if (self._queue and not self._corked) or self._write_state is ENDING:
            self._start_writer()

    def _run_writer(self) -> None:
        """Body of the writer greenlet: flush the queue, drain, FIN, finish."""
        try:
            self._flush_queue()
        except Exception as error:  # a write callback's or a 'drain'/'finish' handler's: as in the reader
            self._writer = None
            report(error, self)
            self._destroy(had_error=True)
            return
        except BaseException:
            self._writer = None
            self._destroy(had_error=True)
            raise
        self._writer = None
        if not self._queue:
            self._queue = None  # idle connections keep no deque

    def _flush_queue(self) -> None:
        queue = self._queue
        while self._state is OPEN:
            if queue:
                if not self._send_some(queue):
                    return
                continue
            if self._need_drain:
                self._need_drain = False
                self.emit("drain")
                continue
            if self._write_state is ENDING:
                # Write callbacks and 'drain' handlers may have just run here.
                self._maybe_close(user_code_ran=True)
            return

    def _send_some(self, queue: collections.deque[QueueItem]) -> bool:
        """Send the head of the queue (joined with what follows, when small)."""
        chunk, callback = queue[0]
        count = 1
        if len(queue) > 1 and len(chunk) < self.COALESCE_LIMIT:
            parts = [chunk]
            total = len(chunk)
            for next_chunk, _ in itertools.islice(queue, 1, None):
                if total + len(next_chunk) > self.COALESCE_LIMIT:
                    break
                parts.append(next_chunk)
                total += len(next_chunk)
                count += 1
            chunk = _EMPTY.join(parts) if count > 1 else chunk
        try:
            if chunk:
                self._handle.sendall(chunk)
        except OSError as error:
            if self._state is not CLOSED:
                failure = os_error(error, "write")
                # The writes that failed get their own error (before 'error', as in
                # Node); the ones queued behind them get ERR_STREAM_DESTROYED.
                for _ in range(count):
                    _, callback = queue.popleft()
                    if callback is not None:
                        next_tick(callback, failure, context=self._context)
                self._destroy(failure)
            return False
        if self._state is not OPEN:
            return False
        self._queued -= len(chunk)
        if self._idle is not None:
            self._idle.touch()
        if count == 1:
            _, callback = queue.popleft()
            if callback is not None:
                callback(None)
            return True
        # Every chunk sent leaves the queue before any callback runs: a callback that
        # destroys the socket must not also fail the ones sent with it (they were sent).
        sent = [queue.popleft() for _ in range(count)]
        for _, callback in sent:
            if callback is not None:
                callback(None)
        return True

    # Node's spellings.
    setDefaultEncoding = set_default_encoding
