"""Paused mode and the blocking style: ``'readable'``, ``read([n])``, ``unshift()``, ``for chunk in sock``.

A ``'readable'`` listener puts the socket in Node's paused mode: the reader
greenlet still reads and holds, up to the high-water mark, and emits
``'readable'`` when there is something new to read (and once more at EOF);
``read()`` takes from what is held, from any greenlet, and the reader reads on
as room is made -- the same back-pressure as ``pause()``.

``for chunk in sock`` (Node's ``for await (const chunk of socket)``) iterates
the data, blocking only the calling greenlet, ends at the peer's FIN and
raises the socket's error if it fails; leaving the loop early destroys the
socket, as in Node.  It works from any greenlet: from another one it consumes
in paused mode; from the socket's own reader greenlet -- inside the
``'connection'`` handler, say -- it receives itself, since no one else can.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import TYPE_CHECKING

import greenlet
from gevent.event import Event

from ._gevent import os_socket, readiness
from .encodings import Chunk, to_bytes
from .errors import (
    ERR_STREAM_PREMATURE_CLOSE,
    ERR_STREAM_UNSHIFT_AFTER_END_EVENT,
    invalid_arg_type,
    os_error,
)
from .state import CLOSED, ENDED, EOF, READING, SocketBase

if TYPE_CHECKING:
    from .encodings import Decoder

__all__ = ["PausedMode"]


class PausedMode(SocketBase):
    __slots__ = ()

    if TYPE_CHECKING:
        def _wake_reader(self) -> None: ...

    def read(self, size: int | None = None) -> bytes | str | None:
        """What is held: all of it, or exactly *size* bytes (characters after
        ``setEncoding``) when that many are held -- the rest at the end.
        ``None`` when there is nothing (or not enough) yet."""
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
            raise invalid_arg_type("size", "of type number", size)
        held = self._held
        if not held or (size is not None and size <= 0):
            return None
        if self._decoder is not None:
            _decode_held(held, self._decoder)
            self._held_size = sum(map(len, held))
            if not held:
                return None  # only part of a character so far
        total = self._held_size
        if size is None or size >= total:
            if size is not None and size > total and self._read_state is READING:
                return None  # more may come: Node waits for the whole size
            data = held[0] if len(held) == 1 else held[0][:0].join(held)  # type: ignore[arg-type]
            held.clear()
            self._held_size = 0
        else:
            data = _take(held, size)
            self._held_size -= size
        self._wake_reader()  # there is room again, or the end can come
        return data

    def unshift(self, chunk: Chunk, encoding: str | None = None) -> None:
        """Put *chunk* back in front of what is held: it is read (or emitted) first."""
        if self._read_state is ENDED:
            self._destroy(ERR_STREAM_UNSHIFT_AFTER_END_EVENT())
            return
        if self._state is CLOSED:
            return
        data: bytes | str
        if isinstance(chunk, str) and self._decoder is not None:
            data = chunk
        elif isinstance(chunk, (str, bytes, bytearray, memoryview)):
            data = to_bytes(chunk, encoding if encoding is not None else self._default_encoding)
        else:
            raise invalid_arg_type("chunk", "of type string or an instance of Buffer or Uint8Array", chunk)
        if not data:
            return
        if self._held is None:
            self._held = collections.deque()
        self._held.appendleft(data)
        self._held_size += len(data)
        self._wake_reader()  # flowing: the reader delivers it next

    # ------------------------------------------------------------------
    # iteration

    def __iter__(self) -> Iterator[bytes | str]:
        if greenlet.getcurrent() is self._reader:
            return self._receive_in_reader()
        return self._consume_paused()

    def _consume_paused(self) -> Iterator[bytes | str]:
        """Iterate from a greenlet other than the reader: paused mode, read()."""
        changed = Event()

        def on_change(*_: object) -> None:
            changed.set()

        events = ("readable", "end", "error", "close")
        for event in events:
            self.on(event, on_change)
        finished = False
        try:
            while True:
                chunk = self.read()
                if chunk is not None:
                    yield chunk
                    continue
                self._raise_if_failed()
                if self._read_state is ENDED:
                    finished = True
                    return
                changed.clear()
                changed.wait()
        finally:
            for event in events:
                self.remove_listener(event, on_change)
            if not finished:
                self._destroy()  # as Node: leaving the loop early (or failing) destroys the socket

    def _receive_in_reader(self) -> Iterator[bytes | str]:
        """Iterate in the socket's own reader greenlet: receive here, one chunk per step.

        At the peer's FIN it stops with the read side at EOF; the reader finishes
        reading ('end', and the FIN without allowHalfOpen) once the handler that
        iterated returns.
        """
        finished = False
        try:
            while True:
                chunk = self.read()
                if chunk is not None:
                    yield chunk
                    continue
                self._raise_if_failed()
                if self._read_state is not READING:
                    finished = True
                    return
                data = self._receive_one()
                if data is None:  # EOF
                    tail = self._decoder.end() if self._decoder is not None else ""
                    if tail:
                        yield tail
                    finished = True
                    return
                if data:
                    yield data
        finally:
            if not finished:
                self._destroy()

    def _receive_one(self) -> bytes | str | None:
        """One chunk from the kernel, waiting for it cooperatively; ``None`` at EOF."""
        handle = self._handle
        wait, read_event = readiness(handle)
        while True:
            try:
                data = os_socket(handle).recv(self.READ_SIZE)
            except BlockingIOError:
                try:
                    wait(read_event)
                except OSError as error:
                    self._fail_read(error)
                continue
            except OSError as error:
                self._fail_read(error)
            break
        if not data:
            self._read_state = EOF
            return None
        self._bytes_read += len(data)
        if self._idle is not None:
            self._idle.touch()
        return self._decoder.write(data) if self._decoder is not None else data

    def _fail_read(self, error: OSError) -> None:
        if self._state is not CLOSED:
            self._destroy(os_error(error, "read"))
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._errored is not None:
            raise self._errored
        if self._state is CLOSED and self._read_state is READING:
            raise ERR_STREAM_PREMATURE_CLOSE()


def _decode_held(held: collections.deque[bytes | str], decoder: Decoder) -> None:
    """Decode every held chunk in place, in order (decoded text passes through)."""
    if all(type(chunk) is str for chunk in held):
        return
    text = "".join(decoder.write(chunk) for chunk in held)
    held.clear()
    if text:
        held.append(text)


def _take(held: collections.deque[bytes | str], size: int) -> bytes | str:
    """Exactly *size* bytes (or characters) from the front of *held*, which has more."""
    parts = []
    needed = size
    while needed:
        chunk = held.popleft()
        if len(chunk) > needed:
            held.appendleft(chunk[needed:])
            chunk = chunk[:needed]
        parts.append(chunk)
        needed -= len(chunk)
    return parts[0] if len(parts) == 1 else parts[0][:0].join(parts)  # type: ignore[arg-type]  # all of one type
