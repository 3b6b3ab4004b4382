"""The read side: the reader greenlet, holding data for a late consumer, pause/resume, pipe.

The reader greenlet owns receiving.  For a client it first connects
(``connecting.py``); for an accepted socket it first emits the server's
``'connection'``.  Then it loops on ``recv`` and emits ``'data'``, so
``'data'`` handlers run in it and one that blocks holds up only its own
connection.  ``pause()`` parks it (no ``recv`` at all, so TCP flow control
slows the peer); ``resume()`` wakes it.  Until someone consumes data (a
``'data'`` listener, ``resume()`` or ``pipe()``) it holds what it reads, up to
the high-water mark, then parks: no data is lost for want of a listener, and a
consumer arriving from any greenlet gets the held data at once.  At EOF it
hands over to ``closing._finish_reading``.

The reader's lifecycle
----------------------
An idle connection has no live greenlet.  When the reader has to wait for
readability with nothing held (the kernel buffer is empty, nobody is owed
anything), it goes *dormant*: ``_reader`` becomes ``None``, the socket's read
watcher is started with its hub's ready list as the callback (``dormant.py``),
and the reader's greenlet lets go -- the connection's first one ends, a
runner carries on with its next socket.  A waiting greenlet costs about 7.5 KiB
(``benchmarks/README.md``), a dormant connection nothing.  When data arrives,
the hub appends the socket to the ready list (in C); after the iteration's
I/O callbacks, the hub's runner serves every ready socket in turn, as its
``_reader``, in its context: the common case inline (``dormant.py``), the rest
through ``_read_loop``.  No handler ever runs in the hub::

    _run_reader (a greenlet of its own, or the runner for an accepted socket): connect / 'connection' -> _read_loop
    _read_loop --must wait, nothing held--> dormant (_reader None, the watcher on the ready list)
    dormant --readable--> hub: ready.append(sock) --> the runner: recv, 'data'; dormant again
    dormant --readable, but no consumer / paused / held / a full read / EOF--> the runner: _read_loop
    a handler in the runner blocks --> that greenlet stays this socket's reader; another becomes the runner
    dormant --destroy() from anywhere--> the watcher stopped (closing.py), nothing to wake

``self._reader`` is the greenlet reading for this socket right now (``None``
while dormant), so "am I the reader?" checks hold.  Waits with something held
(readability *or* a consumer), parking on pause, and the ``onread`` reader
keep their greenlet.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import gevent
from gevent.event import Event
from gevent.hub import get_hub

from ._gevent import os_socket, readiness, wait_readable_or_woken, wake
from .args import ConnectTarget
from .dormant import _WAKEUPS, wakeups
from .emitter import EventEmitter
from .encodings import Decoder, normalize_encoding
from .errors import os_error
from .pipe import Pipe, Writable
from .proxy_accept import read_proxy_header
from .reporting import report
from .state import CLOSED, EOF, OPEN, READING, SocketBase

if TYPE_CHECKING:
    from typing_extensions import Self  # for the type checker only: not a runtime dependency

    from .server import Server

__all__ = ["ReadSide"]

_W = TypeVar("_W", bound=Writable)


class ReadSide(SocketBase):
    __slots__ = ()

    if TYPE_CHECKING:
        def _connect(self, target: ConnectTarget) -> bool: ...

    def _run_reader(self, server: Server | None, target: ConnectTarget | None) -> None:
        """Body of the reader greenlet: connect to *target*, or announce the
        connection to *server* (neither: an adopted descriptor), then read
        until EOF and finish reading."""
        try:
            if target is not None:
                if not self._connect(target):
                    return
            elif server is not None:
                if server._proxy_protocol is not None and not read_proxy_header(self, server._proxy_protocol):
                    return  # a bad or missing PROXY header: the server was told, the socket is gone
                server.emit("connection", self)
                if self._state is not OPEN:
                    return
            if self._read_state is READING:
                if self._extra is not None and "onread" in self._extra:
                    self._read_into(*self._extra["onread"])
                else:
                    self._read_loop(True)
            elif self._read_state is EOF:  # the 'connection' handler iterated to the end
                self._finish_reading(True)
        except BaseException as error:
            self._reader_failed(error)

    def _reader_failed(self, error: BaseException) -> None:
        if isinstance(error, gevent.GreenletExit):
            self._destroy()
        elif isinstance(error, Exception):
            # A user handler raised (or an 'error' nobody listened to): this
            # socket is done, the exception is reported (reporting.py), others go on.
            report(error, self)  # (first: the report names the connection's addresses)
            self._destroy(had_error=True)
        else:  # KeyboardInterrupt, SystemExit: not ours to swallow
            self._destroy(had_error=True)
            raise error

    def _read_loop(self, started: bool = False) -> None:
        """Read and deliver (or hold) until EOF, then finish reading; return early once closed.

        Straight to the OS socket: gevent's recv() wrapper would cost a Python
        frame per chunk.  After a short read the kernel buffer is (almost
        surely) empty, so wait for readiness before the next recv instead of
        paying for an EAGAIN, as libuv does.  A reader whose socket is always
        ready yields after a streak, so it cannot starve other connections.
        With nothing held, that wait is dormant (see the module docstring).

        *started*: a handler has just run and the read watcher is stopped
        (``_run_reader``, or the runner after an inline wake-up); without it, the
        runner after a dormant wait (``dormant.py``).  It catches what handlers
        raise itself, as ``_run_reader`` does.
        """
        try:
            handle = self._handle
            recv = os_socket(handle).recv
            read_event = readiness(handle)[1]
            if not started:
                read_event.stop()  # first, before anything can switch: no more wake-ups for the runner
            size = self.READ_SIZE
            reads_before_yield = self.READS_BEFORE_YIELD
            streak = 0
            must_wait = False
            # A handler ran ('connect'/'connection' just did) since this greenlet last yielded.
            user_code_ran = started
            while True:
                if (self._flowing is not True or self._held) and not self._wait_for_reader_turn():
                    return
                if must_wait:
                    streak = 0
                    if not self._held:
                        # Dormant: no greenlet waits; the hub's runner serves the wake-up (dormant.py).
                        hub = get_hub()
                        self._reader = None
                        read_event.start((_WAKEUPS.get(hub) or wakeups(hub)).append, self)
                        return
                    try:
                        # Nobody consumes yet: a consumer arriving must end this wait too.
                        wait_readable_or_woken(read_event, self._keep_waiter)
                    except OSError as error:  # includes gevent's "closed in another greenlet"
                        if self._state is not CLOSED:
                            self._destroy(os_error(error, "read"))
                        return
                    user_code_ran = False
                    if (self._flowing is not True or self._held) and not self._wait_for_reader_turn():
                        return
                try:
                    data = recv(size)
                except BlockingIOError:
                    must_wait = True
                    continue
                except OSError as error:
                    if self._state is not CLOSED:
                        self._destroy(os_error(error, "read"))
                    return
                if not data:
                    if self._state is OPEN:
                        self._read_state = EOF
                        self._finish_reading(user_code_ran)
                    return
                nbytes = len(data)
                must_wait = nbytes < size
                self._bytes_read += nbytes
                if self._idle is not None:
                    self._idle.touch()
                if self._flowing and not self._held:  # held data goes first
                    decoder = self._decoder
                    user_code_ran = True
                    if decoder is not None:
                        data = decoder.write(data)
                        if data:
                            self.emit("data", data)
                    else:
                        # emit("data", data), inline for the one-listener case (pipe(), on('data')):
                        # no frame and no argument tuple per chunk.  (dormant.py's inline wake-up
                        # delivers the same way: keep the two in step.)
                        listeners = self._events.get("data")
                        if listeners is not None and len(listeners) == 1:
                            for listener in listeners.values():  # noqa: B007 - the one listener
                                break
                            listener(data)
                        else:
                            self.emit("data", data)
                else:
                    if self._held is None:
                        self._held = collections.deque()
                    self._held.append(data)
                    self._held_size += nbytes
                    self._emitted_readable = False  # new data to announce in 'readable' mode
                if self._state is not OPEN or self._read_state is not READING:
                    if self._state is OPEN:  # a handler iterated the socket to its EOF
                        self._finish_reading(True)
                    return
                streak += 1
                if streak >= reads_before_yield:
                    streak = 0
                    gevent.sleep(0)
                    user_code_ran = False
        except BaseException as error:
            self._reader_failed(error)

    def _read_into(self, supply: Any, callback: Any) -> None:
        """The ``onread`` option: receive into the user's buffer and call ``callback(nread, buffer)``.

        No ``'data'`` and no allocation per read (that is what it is for); a
        callback that returns ``False`` pauses the socket until ``resume()``.
        *supply* is the buffer, or a function that returns one for each read.
        """
        handle = self._handle
        recv_into = os_socket(handle).recv_into
        wait, read_event = readiness(handle)
        fixed = None if callable(supply) else supply
        buffer = fixed
        streak = 0
        while True:
            while self._flowing is not True:
                self._park_reader()
                if self._state is not OPEN:
                    return
            if buffer is None:  # one buffer asked for per read that gives data or EOF (Node's count)
                buffer = supply()
            try:
                nread = recv_into(buffer)
            except BlockingIOError:
                streak = 0
                try:
                    wait(read_event)
                except OSError as error:
                    if self._state is not CLOSED:
                        self._destroy(os_error(error, "read"))
                    return
                continue
            except OSError as error:
                if self._state is not CLOSED:
                    self._destroy(os_error(error, "read"))
                return
            if not nread:
                if self._state is OPEN:
                    self._read_state = EOF
                    self._finish_reading(True)
                return
            self._bytes_read += nread
            if self._idle is not None:
                self._idle.touch()
            if callback(nread, buffer) is False:
                self.pause()
            buffer = fixed
            if self._state is not OPEN:
                return
            streak += 1
            if streak >= self.READS_BEFORE_YIELD:
                streak = 0
                gevent.sleep(0)

    def _keep_waiter(self, waiter: Any) -> None:
        self._wake = waiter

    def _wait_for_reader_turn(self) -> bool:
        """Park until flowing (delivering held data first) or there is room to hold more.

        Returns False if the socket closed meanwhile.
        """
        while True:
            if self._state is not OPEN:
                return False
            if self._flowing:
                if self._held and not self._deliver_held():
                    return False
                if self._flowing:
                    return True
                continue  # type: ignore[unreachable]  # mypy keeps _flowing narrowed, but 'data' handlers may pause()
            if self._readable_mode and self._held and not self._emitted_readable:
                self._emitted_readable = True
                self.emit("readable")
                continue
            if (self._flowing is None or self._readable_mode) and (self._held_size < self._hwm or not self._held_size):
                return True  # room to hold more (at least one chunk, so a FIN is seen)
            self._park_reader()

    def _park_reader(self) -> None:
        # Conditions were checked just before, with no switch since: no wake-up is lost.
        park = self._park
        if park is None:
            park = self._park = Event()
        park.clear()
        park.wait()

    def _deliver_held(self) -> bool:
        """Emit held chunks while flowing.  False if the socket closed meanwhile."""
        held = self._held
        while held and self._flowing:
            data: bytes | str = held.popleft()
            self._held_size -= len(data)
            if self._decoder is not None:
                data = self._decoder.write(data)
            if data:
                self.emit("data", data)
            if self._state is not OPEN:
                return False
        return True

    # ------------------------------------------------------------------
    # flow control

    def pause(self) -> Self:
        """Stop reading: the reader parks and stops calling ``recv``."""
        if self._flowing is not False:
            self._flowing = False
            self.emit("pause")
        return self

    def resume(self) -> Self:
        """Start (or restart) delivering ``'data'``; held data goes first, from the reader."""
        if self._flowing is not True and not self._readable_mode:  # (Node: 'readable' listeners win)
            self._flowing = True
            if "resume" in self._events:  # (emit() would look too: one Python call less per connection)
                self.emit("resume")
            if self._park is not None:
                self._park.set()  # wake a parked reader (inline for the same reason)
            if self._wake is not None:  # a reader holding data, waiting for more
                wake(self._wake)
        return self

    def _wake_reader(self) -> None:
        """From any greenlet: a parked reader, or one holding data and waiting, looks again."""
        if self._park is not None:
            self._park.set()
        if self._wake is not None:
            wake(self._wake)

    def is_paused(self) -> bool:
        return self._flowing is False

    WATCHED_EVENTS = frozenset(["data", "readable"])

    def _listener_added(self, event: str) -> None:
        if event == "data":
            if self._flowing is None and not self._readable_mode:
                # resume(), inline (a Python call less per connection): nothing is parked or held yet,
                # or the reader looks again.
                self._flowing = True
                if "resume" in self._events:
                    self.emit("resume")
                if self._park is not None:
                    self._park.set()
                if self._wake is not None:
                    wake(self._wake)
        elif not self._readable_mode:  # 'readable': paused mode, consumed with read()
            self._readable_mode = True
            self._flowing = False
            self._emitted_readable = False
            self._wake_reader()  # what is held already is announced

    def _listener_removed(self, event: str) -> None:
        if event == "readable" and self._readable_mode and "readable" not in self._events:
            # As Node's updateReadableListening: back to flowing if 'data' listens, else unasked.
            self._readable_mode = False
            self._flowing = None
            if "data" in self._events:
                self.resume()

    def set_encoding(self, encoding: str | None = None) -> Self:
        """Deliver ``'data'`` as ``str`` decoded with *encoding* (Node's names)."""
        self._decoder = Decoder(normalize_encoding(encoding))
        return self

    # ------------------------------------------------------------------
    # pipe

    def pipe(self, destination: _W, end: bool | Mapping[str, Any] = True) -> _W:
        """Move everything read into *destination*, with back-pressure; returns it.

        The source's ``'end'`` ends *destination* unless ``end=False`` (or Node's
        options, ``{'end': False}``).  *destination* gets ``'pipe'`` with the source.
        """
        if end is not True and end is not False and isinstance(end, Mapping):  # (bools first: no ABC check)
            end = end.get("end") is not False
        pipe = Pipe(self, destination, bool(end))  # type: ignore[arg-type]  # a ReadSide is part of a Socket; attaches
        if self._pipes is None:
            self._pipes = []
        self._pipes.append(pipe)
        target: object = destination  # (mypy: a TypeVar bound to a Protocol never narrows to a class)
        if isinstance(target, EventEmitter):  # (a dict lookup rather than a call, per connection)
            if "pipe" in target._events:
                target.emit("pipe", self)
        elif _listens(destination, "pipe"):
            destination.emit("pipe", self)  # type: ignore[attr-defined]
        self.resume()
        return destination

    def unpipe(self, destination: Writable | None = None) -> Self:
        """Stop piping into *destination* (or into every destination)."""
        pipes = self._pipes
        if pipes:
            for pipe in list(pipes):
                if destination is None or pipe.destination is destination:
                    pipe.detach()
                    pipes.remove(pipe)
                    if _listens(pipe.destination, "unpipe"):
                        pipe.destination.emit("unpipe", self)  # type: ignore[attr-defined]
        if not self._pipes and not self.listeners("data"):
            self.pause()
        return self

    # Node's spellings.
    setEncoding = set_encoding
    isPaused = is_paused


def _listens(destination: object, event: str) -> bool:
    """Whether a pipe's destination has a listener for *event* (any emitter; ours cheaply)."""
    if isinstance(destination, EventEmitter):
        return event in destination._events
    listeners = getattr(destination, "listeners", None)
    return callable(listeners) and bool(listeners(event)) and callable(getattr(destination, "emit", None))
