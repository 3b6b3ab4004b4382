"""``net.Socket``: a Node stream over a gevent socket, one reader and one writer greenlet.

How the pieces move
-------------------
* The **reader greenlet** owns receiving.  For a client it first resolves and
  connects (emitting ``'lookup'`` and ``'connect'``); for an accepted socket it
  first emits the server's ``'connection'``.  Then it loops on ``recv`` and
  emits ``'data'`` -- so ``'data'``/``'end'`` handlers run in it and a handler
  that blocks only holds up its own connection.  ``pause()`` parks it (no
  ``recv`` at all, so TCP flow control slows the peer); ``resume()`` wakes it.
  Until someone consumes data (a ``'data'`` listener, ``resume()`` or
  ``pipe()``) it holds what it reads, up to a high-water mark, then parks: no
  data is lost for want of a listener.
* ``write()`` sends at once from the caller when nothing is queued (one
  non-blocking ``send``, as asyncio does) and queues only the rest.  The
  **writer greenlet** exists only while something is queued: it coalesces the
  queue into large sends, runs write callbacks, emits ``'drain'``, and after
  ``end()`` sends the FIN (``shutdown(SHUT_WR)``) once the queue is empty and
  emits ``'finish'``.
* ``'close'`` is emitted once, after ``'end'`` and ``'finish'``: by the reader
  (or writer) greenlet at the end of a normal lifecycle, after one yield if a
  handler of the user's ran since it last yielded (so what the handlers
  scheduled, such as adding a ``'close'`` listener, runs first); from a fresh
  greenlet after ``destroy()``.

State is explicit: ``_state`` is one of NEW, CONNECTING, OPEN, CLOSED; the
readable side is ``_read_state`` (FLOWING decisions live in ``_flowing``) and the
writable side ``_write_state``.
"""

from __future__ import annotations

import collections
import errno
import os
import socket as _stdlib_socket
import stat
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional, TypedDict, TypeVar, Union, overload

import gevent
import greenlet
from gevent import socket as gsocket
from gevent.event import Event
from gevent.hub import Waiter
from greenlet import greenlet as RawGreenlet

from . import args as _args
from .emitter import _NO_LOCK, EventEmitter, Listener
from .encodings import Chunk, Decoder, normalize_encoding, to_bytes
from .errors import NodeError, NodeTypeError, NodeValueError, invalid_arg_type, lookup_error, os_error
from .ip import is_ip
from .loop import getaddrinfo, next_tick, set_ref
from .pipe import Pipe, Writable
from .timers import IdleTimer

if TYPE_CHECKING:
    from typing_extensions import Self  # for the type checker only: not a runtime dependency

    from .server import Server

__all__ = ["Socket", "Stream", "connect", "create_connection", "createConnection", "AddressInfo"]


class AddressInfo(TypedDict, total=False):
    """What ``address()`` returns: ``{'address', 'family', 'port'}`` for TCP
    (``family`` is ``'IPv4'`` or ``'IPv6'``), ``{'address'}`` for a Unix socket,
    ``{}`` for a socket that is not connected."""

    address: str
    family: str
    port: int


#: ``write()``'s callback: ``callback(None)`` once the bytes went to the kernel, or ``callback(error)``.
WriteCallback = Callable[[Optional[Exception]], object]

# What the writer queues: a chunk and its write() callback.
_QueueItem = tuple[Union[bytes, memoryview], Optional[WriteCallback]]

# A peer's address as getpeername()/accept() give it: a tuple for TCP, a path for Unix.
_Peer = Union[tuple[Any, ...], str, bytes, None]

_W = TypeVar("_W", bound=Writable)

# Connection states.
NEW = "new"  # constructed, never connected (or connected and closed: see connect())
CONNECTING = "connecting"
OPEN = "open"
CLOSED = "closed"

# Readable side.
READING = "reading"  # peer may still send
EOF = "eof"  # peer sent FIN; held data and 'end' may still be owed
ENDED = "ended"  # 'end' emitted

# Writable side.
WRITABLE = "writable"
ENDING = "ending"  # end() called; FIN goes out once the queue is empty
FINISHED = "finished"  # FIN sent, 'finish' emitted

_SHUT_WR = _stdlib_socket.SHUT_WR
_EMPTY = b""

# Errors on a socket that mean "the peer went away" rather than a bug here.
_CLOSED_BY_US = (errno.EBADF, errno.ENOTSOCK)


def _family_name(family: int) -> str:
    return "IPv6" if family == _stdlib_socket.AF_INET6 else "IPv4"


class Socket(EventEmitter):
    """Node's ``net.Socket`` (also ``net.Stream``).

    ``Socket(options)`` or ``Socket(**options)``; options (both spellings):
    ``fd`` (an open socket descriptor to adopt), ``allowHalfOpen``,
    ``readable``/``writable`` (with ``fd``), ``highWaterMark`` (bytes;
    write back-pressure and read hold limit).
    """

    # Slots keep an idle connection small (a dict per socket costs ~1 KiB).
    __slots__ = (
        "_allow_half_open", "_hwm", "_server", "_handle", "_refed", "_no_delay", "_keep_alive",
        "_idle", "_state", "_read_state", "_write_state",
        "_flowing", "_held", "_held_size", "_decoder", "_park", "_wake", "_reader", "_writer", "_queue",
        "_queued", "_need_drain", "_bytes_read", "_bytes_written", "_had_error", "_peer", "_pipes",
    )

    #: Bytes asked of the kernel per ``recv``.
    READ_SIZE = 65536
    #: Default high-water mark (bytes) for ``write()``'s return value and for
    #: data held before anybody reads.
    HIGH_WATER_MARK = 16384
    #: Largest buffer the writer builds by joining queued chunks.
    COALESCE_LIMIT = 262144
    #: A reader that never has to wait yields to others after this many reads in a row.
    READS_BEFORE_YIELD = 16

    # The slots' types.  A gevent socket is untyped (gevent ships no type
    # information), so _handle is Any: a gevent socket, or None.
    _allow_half_open: bool
    _hwm: int
    _server: Server | None
    _handle: Any
    _refed: bool
    _no_delay: bool | None
    _keep_alive: tuple[bool, float] | None
    _idle: IdleTimer | None
    _state: str
    _read_state: str
    _write_state: str
    _flowing: bool | None
    _held: collections.deque[bytes] | None
    _held_size: int
    _decoder: Decoder | None
    _park: Event | None
    _wake: Waiter | None
    _reader: greenlet.greenlet | None
    _writer: greenlet.greenlet | None
    _queue: collections.deque[_QueueItem] | None
    _queued: int
    _need_drain: bool
    _bytes_read: int
    _bytes_written: int
    _had_error: bool
    _peer: _Peer
    _pipes: list[Pipe] | None

    def __init__(self, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__()
        if options is not None and not isinstance(options, dict):
            raise invalid_arg_type("options", "of type dict", options)
        options = _args.canonical_options({**(options or {}), **kwargs})
        for mode in ("objectMode", "readableObjectMode", "writableObjectMode"):
            if options.get(mode):
                raise NodeTypeError(
                    "ERR_INVALID_ARG_VALUE",
                    "The property 'options.%s' is not supported. Received %r" % (mode, options[mode]),
                )
        self._allow_half_open = bool(_args.option(options, "allowHalfOpen", False))
        hwm = _args.option(options, "highWaterMark", self.HIGH_WATER_MARK)
        self._hwm = _args.validate_int(hwm, "options.highWaterMark")
        self._server = None
        self._handle = None
        self._refed = True
        self._no_delay = None
        self._keep_alive = None
        self._idle = None  # IdleTimer while setTimeout is armed
        self._reset()
        self._apply_socket_options(options)
        fd = options.get("fd")
        if fd is not None:
            handle = _adopt_fd(fd)
            try:
                handle.getpeername()
            except OSError:
                # Bound but not connected: connect() will use this very descriptor.
                self._handle = handle
                return
            self._open(handle)
            if options.get("readable") is False:
                self._read_state = ENDED
            if options.get("writable") is False:
                self._write_state = FINISHED
            self._reader = next_tick(self._run_reader, None)

    def _apply_socket_options(self, options: Mapping[str, Any]) -> None:
        """``noDelay``, ``keepAlive``, ``keepAliveInitialDelay`` (Node >= 17 socket options)."""
        if options.get("noDelay"):
            self.set_no_delay(True)
        if options.get("keepAlive"):
            delay = options.get("keepAliveInitialDelay") or 0
            self.set_keep_alive(True, delay if isinstance(delay, (int, float)) and delay > 0 else 0)

    def _reset(self) -> None:
        self._state = NEW
        self._read_state = READING
        self._write_state = WRITABLE
        # None: nobody asked yet; True: flowing; False: paused.  Like Node, a
        # socket connected again keeps its flowing mode (and its listeners).
        self._flowing = getattr(self, "_flowing", None)
        self._held = None  # deque of chunks read before anybody consumed them; made on demand
        self._held_size = 0
        self._decoder = getattr(self, "_decoder", None)
        self._park = None
        self._wake = None
        self._reader = None
        self._writer = None
        self._queue = None  # deque of (bytes-like, callback) not yet sent; made on demand
        self._queued = 0
        self._need_drain = False
        self._bytes_read = 0
        self._bytes_written = 0
        self._had_error = False
        self._peer = None
        self._pipes = None

    @classmethod
    def _accepted(
        cls, handle: Any, peer: _Peer, server: Server, allow_half_open: bool, pause_on_connect: bool, hub: Any
    ) -> Self:
        """A socket for a connection the server just accepted, its reader greenlet scheduled.

        What ``__init__``, ``_reset()``, ``_open()`` and ``next_tick()`` would
        do, in one function: every accepted connection pays for this.
        """
        self = cls.__new__(cls)
        self._events = {}  # EventEmitter's state (see emitter.py)
        self._lock = _NO_LOCK
        self._allow_half_open = allow_half_open
        self._hwm = cls.HIGH_WATER_MARK
        self._server = server
        self._handle = handle
        self._refed = True
        self._no_delay = None
        self._keep_alive = None
        self._idle = None
        self._state = OPEN
        self._read_state = READING
        self._write_state = WRITABLE
        self._flowing = False if pause_on_connect else None
        self._held = None
        self._held_size = 0
        self._decoder = None
        self._park = None
        self._wake = None
        self._writer = None
        self._queue = None
        self._queued = 0
        self._need_drain = False
        self._bytes_read = 0
        self._bytes_written = 0
        self._had_error = False
        self._peer = peer
        self._pipes = None
        reader = self._reader = RawGreenlet(self._run_reader, hub)
        hub.loop.run_callback(reader.switch, server)
        return self

    def _open(self, handle: Any) -> None:
        self._handle = handle
        self._state = OPEN
        if not self._refed:
            set_ref(handle, False)
        if self._no_delay is not None:
            self._apply_no_delay()
        if self._keep_alive is not None:
            self._apply_keep_alive()

    # ------------------------------------------------------------------
    # connect

    def connect(self, *args: Any, **kwargs: Any) -> Self:
        """``connect(port, [host], [cb])``, ``connect(path, [cb])``, ``connect(options, [cb])``.

        Options: ``port``, ``host`` (default ``'localhost'``), ``localAddress``,
        ``localPort``, ``family`` (4 or 6), ``path``; also ``allowHalfOpen``.
        Returns the socket; ``'connect'`` (or ``'error'``) follows.
        """
        options, callback = _args.normalize_args(args, kwargs)
        target = _validate_connect_options(options)
        if self._state in (CONNECTING, OPEN):
            raise NodeError("ERR_SOCKET_CONNECTED", "Socket is already connected or connecting")
        if self._state is CLOSED:
            self._handle = None
            self._reset()
        if "allowHalfOpen" in options:
            self._allow_half_open = bool(options["allowHalfOpen"])
        if callback is not None:
            self.once("connect", callback)
        self._state = CONNECTING
        self._reader = next_tick(self._run_reader, target)
        return self

    def _connect(self, target: tuple[Any, ...]) -> bool:
        """In the reader greenlet: resolve, connect, emit ``'connect'``.  True on success."""
        kind = target[0]
        try:
            if kind == "path":
                path = target[1]
                handle = self._handle  # a descriptor given as Socket({'fd': n}), if any
                if handle is None or handle.family != _stdlib_socket.AF_UNIX:
                    handle = self._handle = gsocket.socket(_stdlib_socket.AF_UNIX, _stdlib_socket.SOCK_STREAM)
                try:
                    handle.connect(path)
                except OSError as error:
                    raise os_error(error, "connect", path) from error
            else:
                handle = self._connect_tcp(*target[1:])
                if handle is None:
                    return False
        except OSError as error:
            if self._state is not CLOSED:
                self._destroy(os_error(error, "connect"))
            return False
        if self._state is CLOSED:  # destroyed while connecting
            handle.close()
            return False
        self._open(handle)
        self.emit("connect")
        self.emit("ready")
        if self._queue or self._write_state is ENDING:
            self._start_writer()
        return self._state is OPEN

    def _connect_tcp(self, host: str, port: int, family: int, local_address: str | None, local_port: int | None) -> Any:
        failure: OSError | None
        addresses: list[tuple[int, str]]
        if is_ip(host):
            addresses = [(_stdlib_socket.AF_INET6 if ":" in host else _stdlib_socket.AF_INET, host)]
        else:
            try:
                host.encode("idna")  # fail here: gevent's resolver thread would print the error
                infos = getaddrinfo(
                    host, port, family, _stdlib_socket.SOCK_STREAM, _stdlib_socket.IPPROTO_TCP
                )
            except (_stdlib_socket.gaierror, UnicodeError) as error:
                failure = lookup_error(error, host)
                self.emit("lookup", failure, None, None, host)
                self._destroy(failure)
                return None
            addresses = []
            for info in infos:
                if (info[0], info[4][0]) not in addresses:
                    addresses.append((info[0], info[4][0]))
            first = addresses[0]
            self.emit("lookup", None, first[1], 6 if first[0] == _stdlib_socket.AF_INET6 else 4, host)
            if self._state is CLOSED:
                return None
        failure = None
        for family_, address in addresses:
            handle = gsocket.socket(family_, _stdlib_socket.SOCK_STREAM)
            self._handle = handle
            try:
                if local_address is not None or local_port:
                    try:
                        any_address = "::" if family_ == _stdlib_socket.AF_INET6 else "0.0.0.0"
                        handle.bind((local_address or any_address, local_port or 0))
                    except OSError as error:
                        raise os_error(error, "bind", local_address, local_port) from error
                try:
                    handle.connect((address, port))
                except OSError as error:
                    raise os_error(error, "connect", address, port) from error
                return handle
            except OSError as error:
                handle.close()
                if self._state is CLOSED:
                    return None
                failure = failure or error
                if error.errno not in (errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH,
                                       errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.ETIMEDOUT):
                    break
        assert failure is not None  # there is at least one address, and each one failed
        raise failure

    # ------------------------------------------------------------------
    # the reader greenlet

    def _run_reader(self, start: tuple[Any, ...] | Server | None) -> None:
        """Body of the reader greenlet: connect or announce, then read until EOF."""
        try:
            if isinstance(start, tuple):
                if not self._connect(start):
                    return
            elif start is not None:  # the accepting server: announce the connection
                start.emit("connection", self)
                if self._state is not OPEN:
                    return
            # Whether a handler of the user's ran since this greenlet last
            # yielded: then it yields before sending the FIN (see _finish_reading).
            fresh = True
            if self._read_state is READING:
                fresh = self._read_loop()
            if self._state is OPEN and self._read_state is EOF:
                self._finish_reading(fresh)
        except gevent.GreenletExit:
            self._destroy()
        except BaseException:
            # A user handler raised (or an 'error' nobody listened to): this
            # socket is done; gevent reports the exception; others go on.
            self._destroy(had_error=True)
            raise

    def _read_loop(self) -> bool:
        # Straight to the OS socket: gevent's recv() wrapper would cost a Python
        # frame per chunk.  After a short read the kernel buffer is (almost
        # surely) empty, so wait for readiness before the next recv instead of
        # paying for an EAGAIN, as libuv does.  A reader whose socket is always
        # ready yields after a streak, so it cannot starve other connections.
        #
        # At EOF returns whether 'data' (or 'connection'/'connect') handlers
        # ran since the last yield ("fresh"): what they scheduled has not run yet.
        handle = self._handle
        recv = handle._sock.recv
        wait, read_event = handle._wait, handle._read_event
        size = self.READ_SIZE
        streak = 0
        must_wait = False
        fresh = True
        while True:
            if (self._flowing is not True or self._held) and not self._wait_for_reader_turn():
                return False
            if must_wait:
                streak = 0
                try:
                    if self._held:
                        # Nobody consumes yet: a consumer arriving must end this wait too.
                        self._wait_readable_or_consumer(read_event)
                    else:
                        wait(read_event)
                except OSError as error:  # includes gevent's "closed in another greenlet"
                    if self._state is not CLOSED:
                        self._destroy(os_error(error, "read"))
                    return False
                fresh = False
                if (self._flowing is not True or self._held) and not self._wait_for_reader_turn():
                    return False
            try:
                data = recv(size)
            except BlockingIOError:
                must_wait = True
                continue
            except OSError as error:
                if self._state is not CLOSED:
                    self._destroy(os_error(error, "read"))
                return False
            if not data:
                if self._state is OPEN:
                    self._read_state = EOF
                return fresh
            nbytes = len(data)
            must_wait = nbytes < size
            self._bytes_read += nbytes
            if self._idle is not None:
                self._idle.touch()
            if self._flowing and not self._held:  # held data goes first
                decoder = self._decoder
                fresh = True
                if decoder is not None:
                    data = decoder.write(data)
                    if data:
                        self.emit("data", data)
                else:
                    self.emit("data", data)
            else:
                if self._held is None:
                    self._held = collections.deque()
                self._held.append(data)
                self._held_size += nbytes
            if self._state is not OPEN:
                return False
            streak += 1
            if streak >= self.READS_BEFORE_YIELD:
                streak = 0
                gevent.sleep(0)
                fresh = False

    def _wait_readable_or_consumer(self, read_event: Any) -> None:
        """Wait until the socket is readable or a consumer arrives (``resume()``).

        gevent's own wait, with its waiter kept in ``_wake`` so that resume()
        can end it from any greenlet: the held data must reach a consumer that
        comes while no more bytes (and no FIN) are on their way.  The waiter is
        gevent's ``Waiter``, as gevent's wait uses, so that closing the socket
        from another greenlet still throws gevent's "closed" error in here.
        """
        waiter = self._wake = Waiter()
        read_event.start(waiter.switch, waiter)
        try:
            waiter.get()
        finally:
            read_event.stop()
            self._wake = None

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
            if self._flowing is None and (self._held_size < self._hwm or not self._held_size):
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

    def _finish_reading(self, fresh: bool) -> None:
        """After EOF: deliver what is held (waiting for a consumer if need be), then 'end'.

        Then, without allowHalfOpen, our FIN, 'finish' and 'close' -- here, with
        no writer greenlet, when nothing is left to flush.  As in Node, what
        the handlers scheduled must run before that: so this greenlet yields
        once first if a handler of the user's ran since it last yielded (*fresh*,
        from the read loop, or an 'end' listener).  When none did, nothing can
        be waiting to run and the yield -- two greenlet switches per connection
        -- is skipped.
        """
        while self._held:
            fresh = True
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
                fresh = True
                self.emit("data", tail)
                if self._state is not OPEN:
                    return
        self._read_state = ENDED
        handlers = self._events.get("end")
        if handlers:
            # Looked at before emitting: once() listeners remove themselves.
            fresh = fresh or _runs_user_code(handlers)
            self.emit("end")
            if self._state is not OPEN:
                return
        if self._write_state is WRITABLE and not self._allow_half_open:
            self._write_state = ENDING
        if self._write_state is ENDING and self._writer is None and not self._queue:
            # Nothing left to flush: finish here rather than start a writer
            # greenlet just for the FIN.
            if fresh:
                gevent.sleep(0)
                if self._state is not OPEN or self._write_state is not ENDING:
                    return
            if self._writer is None and not self._queue:
                self._send_fin(always_yield=False)
            else:
                self._start_writer()
        elif self._write_state is ENDING:
            self._start_writer()
        elif self._write_state is FINISHED:
            self._close_after_yield(fresh)

    # ------------------------------------------------------------------
    # flow control of the readable side

    def pause(self) -> Self:
        """Stop reading: the reader parks and stops calling ``recv``."""
        if self._flowing is not False:
            self._flowing = False
            self.emit("pause")
        return self

    def resume(self) -> Self:
        """Start (or restart) delivering ``'data'``."""
        if self._flowing is not True:
            self._flowing = True
            if "resume" in self._events:  # (emit() would look too: one Python call less per connection)
                self.emit("resume")
            if self._park is not None:
                self._park.set()  # wake a parked reader (inline for the same reason)
            elif self._wake is not None:  # a reader holding data, waiting for more
                self._wake.hub.loop.run_callback(self._wake.switch, None)
        return self

    def is_paused(self) -> bool:
        return self._flowing is False

    def _listener_added(self, event: str) -> None:
        if event == "data" and self._flowing is None:
            self.resume()

    def set_encoding(self, encoding: str | None = None) -> Self:
        """Deliver ``'data'`` as ``str`` decoded with *encoding* (Node's names)."""
        self._decoder = Decoder(normalize_encoding(encoding))
        return self

    # ------------------------------------------------------------------
    # writing

    @property
    def buffer_size(self) -> int:
        """Bytes written but not yet taken by the kernel."""
        return self._queued

    def write(
        self, data: Chunk, encoding: str | WriteCallback | None = None, callback: WriteCallback | None = None
    ) -> bool:
        """Queue *data* (bytes-like, or ``str`` in *encoding*); return the back-pressure flag.

        Returns ``False`` once the bytes not yet taken by the kernel reach the
        high-water mark; ``'drain'`` follows when they are gone.  ``callback(err)``
        runs once the bytes were handed to the kernel (``err`` is ``None``) or failed.
        """
        if callback is None and callable(encoding):
            callback, encoding = encoding, None
        if callback is not None and not callable(callback):
            raise invalid_arg_type("callback", "of type function", callback)
        if data is None:
            raise NodeTypeError("ERR_STREAM_NULL_VALUES", "May not write null values to stream")
        chunk: bytes | memoryview = to_bytes(data, encoding) if type(data) is not bytes else data
        if self._write_state is not WRITABLE or self._state is CLOSED:
            self._write_refused(callback)
            return False
        self._bytes_written += len(chunk)
        if (
            self._state is OPEN
            and not self._queue
            and self._writer is None
            and callback is None
            and chunk
        ):
            try:
                sent = self._handle._sock.send(chunk)  # non-blocking: the OS socket itself
            except BlockingIOError:
                sent = 0
            except OSError as error:
                self._destroy(os_error(error, "write"))
                return False
            if self._idle is not None:
                self._idle.touch()
            if sent == len(chunk):
                return True
            chunk = memoryview(chunk)[sent:]
        if self._queue is None:
            self._queue = collections.deque()
        self._queue.append((chunk, callback))
        self._queued += len(chunk)
        if self._state is OPEN:
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
            error = NodeError("ERR_STREAM_DESTROYED", "Cannot call write after a stream was destroyed")
        else:
            error = NodeError("ERR_STREAM_WRITE_AFTER_END", "write after end")
        if callback is not None:
            next_tick(callback, error)
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
        if self._write_state is WRITABLE and self._state is not CLOSED:
            self._write_state = ENDING
            if self._state is OPEN and not (
                # end() from an 'end' handler: the reader sends the FIN once handlers return.
                self._read_state is ENDED
                and self._writer is None
                and not self._queue
                and greenlet.getcurrent() is self._reader
            ):
                self._start_writer()
        return self

    def _start_writer(self) -> None:
        if self._queue is None:
            self._queue = collections.deque()
        if self._writer is None:
            self._writer = next_tick(self._run_writer)

    def _run_writer(self) -> None:
        """Body of the writer greenlet: flush the queue, drain, FIN, finish."""
        try:
            self._flush_queue()
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
                self._send_fin()
            return

    def _send_some(self, queue: collections.deque[_QueueItem]) -> bool:
        """Send the head of the queue (joined with what follows, when small)."""
        chunk, callback = queue[0]
        count = 1
        if len(queue) > 1 and len(chunk) < self.COALESCE_LIMIT:
            parts = [chunk]
            total = len(chunk)
            for next_chunk, _ in list(queue)[1:]:
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
                        next_tick(callback, failure)
                self._destroy(failure)
            return False
        if self._state is not OPEN:
            return False
        self._queued -= len(chunk)
        if self._idle is not None:
            self._idle.touch()
        for _ in range(count):
            _, callback = queue.popleft()
            if callback is not None:
                callback(None)
        return True

    def _send_fin(self, always_yield: bool = True) -> None:
        """In the writer (or the reader after 'end'): FIN, 'finish', and close if both sides are done.

        Before 'close' it yields if 'finish' handlers ran -- or always, in the
        writer, where write callbacks and 'drain' handlers may have just run.
        """
        both_done = self._read_state is ENDED
        if not both_done:
            # With the peer's FIN already read, close() sends ours: skip the syscall.
            try:
                self._handle._sock.shutdown(_SHUT_WR)
            except OSError as error:
                if error.errno != errno.ENOTCONN:
                    self._destroy(os_error(error, "shutdown"))
                    return
        self._write_state = FINISHED
        handlers = self._events.get("finish")
        if handlers:
            always_yield = always_yield or _runs_user_code(handlers)  # before: once() listeners go
            self.emit("finish")
        if self._state is OPEN and self._read_state is ENDED:
            if always_yield:
                self._close_after_yield(True)
            else:
                self._destroy(inline=True)

    def _close_after_yield(self, yield_first: bool) -> None:
        """Both sides are done: 'close' from this greenlet, after one yield if *yield_first*.

        The yield lets whoever awaited the last event ('end' or 'finish') run
        and add a 'close' listener first -- Node's 'close' is a later tick too --
        without the cost of a greenlet just to emit it.  When no handler of the
        user's ran since this greenlet last yielded, nobody can be waiting to
        run, and 'close' follows at once.
        """
        if yield_first:
            gevent.sleep(0)
        if self._state is OPEN:
            self._destroy(inline=True)

    # ------------------------------------------------------------------
    # closing

    def destroy(self, error: BaseException | None = None) -> Self:
        """Close at once: pending writes fail, ``'error'`` (if *error*) then ``'close'``."""
        self._destroy(error)
        return self

    destroy_soon = destroy

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
        if self._idle is not None:
            self._idle.stop()
        if self._handle is not None:
            if self._peer is None:
                self._peer_cache()  # remoteAddress stays known after close
            self._handle.close()
        queue = self._queue
        pending = [cb for _, cb in queue if cb is not None] if queue else ()
        failure: NodeError | None
        self._queue = None
        self._queued = 0
        self._held = None
        self._held_size = 0
        if self._park is not None:
            self._park.set()  # a parked reader sees CLOSED and returns
        if self._pipes:
            self._release_pipes()
        if pending:
            if was_connected or self._handle is None and self._bytes_read:
                failure = NodeError("ERR_STREAM_DESTROYED", "Cannot call write after a stream was destroyed")
            else:
                failure = NodeError(
                    "ERR_SOCKET_CLOSED_BEFORE_CONNECTION", "Socket closed before the connection was established"
                )
        else:
            failure = None
        if not inline:
            next_tick(self._emit_close, error, pending, failure)
        elif pending or error is not None:
            self._emit_close(error, pending, failure)
        else:  # the end of a normal lifecycle: _emit_close's finally clause, inline
            server = self._server
            if server is not None:
                server._connection_closed(self)
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
            if isinstance(destination, Socket) and (
                destination._state is CLOSED or destination._write_state is FINISHED
            ):
                pipe.detach()
            else:
                if kept is None:
                    kept = []
                kept.append(pipe)
        self._pipes = kept

    def _emit_close(
        self, error: BaseException | None, pending: Sequence[WriteCallback], failure: NodeError | None
    ) -> None:
        try:
            for callback in pending:
                callback(failure)
            if error is not None:
                self.emit("error", error)
        finally:
            server = self._server
            if server is not None:
                server._connection_closed(self)
            self.emit("close", self._had_error)

    # ------------------------------------------------------------------
    # timeouts

    def set_timeout(self, msecs: float, callback: Listener | None = None) -> Self:
        """Emit ``'timeout'`` after *msecs* ms without reads or writes; ``0`` disarms.

        The timer never keeps the program alive and closes nothing.
        """
        if callback is None and callable(msecs):
            raise invalid_arg_type("msecs", "of type number", msecs)
        msecs = _args.validate_msecs(msecs)
        if callback is not None:
            if not callable(callback):
                raise invalid_arg_type("callback", "of type function", callback)
            if msecs == 0:
                self.remove_listener("timeout", callback)
            else:
                self.once("timeout", callback)
        if self._idle is not None:
            self._idle.stop()
            self._idle = None
        if msecs and self._state is not CLOSED:
            self._idle = IdleTimer(msecs, self._emit_timeout)
        return self

    def _emit_timeout(self) -> None:
        if self._state is not CLOSED:
            try:
                self.emit("timeout")
            except BaseException:
                # As in the reader and the writer: a handler that raises ends
                # this socket only; gevent reports the exception.
                self._destroy(had_error=True)
                raise

    # ------------------------------------------------------------------
    # options and addresses

    def set_no_delay(self, no_delay: bool = True) -> Self:
        """Disable (``True``, the default argument) or enable Nagle's algorithm."""
        self._no_delay = bool(no_delay)
        if self._handle is not None and self._state is OPEN:
            self._apply_no_delay()
        return self

    def _apply_no_delay(self) -> None:
        assert self._no_delay is not None  # only called once set
        if self._handle.family in (_stdlib_socket.AF_INET, _stdlib_socket.AF_INET6):
            try:
                self._handle.setsockopt(_stdlib_socket.IPPROTO_TCP, _stdlib_socket.TCP_NODELAY, int(self._no_delay))
            except OSError:
                pass

    def set_keep_alive(self, enable: bool = False, initial_delay: float = 0) -> Self:
        """Turn TCP keep-alive on or off; *initial_delay* in ms (``0`` keeps the system's)."""
        if callable(enable) or callable(initial_delay):
            raise invalid_arg_type("enable", "of type boolean", enable)
        delay = _args.validate_msecs(initial_delay or 0, "initialDelay")
        self._keep_alive = (bool(enable), delay)
        if self._handle is not None and self._state is OPEN:
            self._apply_keep_alive()
        return self

    def _apply_keep_alive(self) -> None:
        assert self._keep_alive is not None  # only called once set
        enable, delay = self._keep_alive
        handle = self._handle
        if handle.family not in (_stdlib_socket.AF_INET, _stdlib_socket.AF_INET6):
            return
        try:
            handle.setsockopt(_stdlib_socket.SOL_SOCKET, _stdlib_socket.SO_KEEPALIVE, int(enable))
            seconds = int(delay // 1000)  # Node's whole seconds; 0 keeps the system's delay
            if enable and seconds > 0 and hasattr(_stdlib_socket, "TCP_KEEPIDLE"):
                handle.setsockopt(_stdlib_socket.IPPROTO_TCP, _stdlib_socket.TCP_KEEPIDLE, seconds)
        except OSError:
            pass

    def address(self) -> AddressInfo:
        """``{'port', 'family', 'address'}`` of the local end; ``{}`` when not connected."""
        if self._handle is None or self._state is not OPEN:
            return {}
        try:
            return _describe(self._handle.getsockname(), self._handle.family)
        except OSError:
            return {}

    def _peer_cache(self) -> _Peer:
        if self._peer is None and self._handle is not None:
            try:
                self._peer = self._handle.getpeername()
            except OSError:
                pass
        return self._peer

    @overload
    def _peer_field(self, key: Literal["port"]) -> int | None: ...
    @overload
    def _peer_field(self, key: Literal["address", "family"]) -> str | None: ...

    def _peer_field(self, key: Literal["address", "family", "port"]) -> str | int | None:
        if self._handle is None:
            return None
        peer = self._peer_cache()
        if not peer or isinstance(peer, (str, bytes)):  # a Unix peer: a path, or an abstract name
            return None
        return _describe(peer, self._handle.family)[key]

    @property
    def remote_address(self) -> str | None:
        return self._peer_field("address")

    @property
    def remote_port(self) -> int | None:
        return self._peer_field("port")

    @property
    def remote_family(self) -> str | None:
        return self._peer_field("family")

    @property
    def local_address(self) -> str | None:
        return self.address().get("address")

    @property
    def local_port(self) -> int | None:
        return self.address().get("port")

    @property
    def local_family(self) -> str | None:
        return self.address().get("family")

    @property
    def server(self) -> Server | None:
        """The Server that accepted this socket (``None`` for a client)."""
        return self._server

    @property
    def bytes_read(self) -> int:
        return self._bytes_read

    @property
    def bytes_written(self) -> int:
        """Bytes accepted by ``write()`` (sent or still queued), as Node counts."""
        return self._bytes_written

    # ------------------------------------------------------------------
    # state

    @property
    def connecting(self) -> bool:
        return self._state is CONNECTING

    @property
    def pending(self) -> bool:
        return self._handle is None or self._state is not OPEN

    @property
    def destroyed(self) -> bool:
        return self._state is CLOSED

    @property
    def readable(self) -> bool:
        return self._state is not CLOSED and self._read_state is not ENDED

    @property
    def writable(self) -> bool:
        return self._state is not CLOSED and self._write_state is WRITABLE

    @property
    def ready_state(self) -> str:
        if self._state is CONNECTING:
            return "opening"
        readable, writable = self.readable, self.writable
        if readable and writable:
            return "open"
        if readable:
            return "readOnly"
        if writable:
            return "writeOnly"
        return "closed"

    @property
    def allow_half_open(self) -> bool:
        return self._allow_half_open

    @property
    def timeout(self) -> float | None:
        """The idle timeout in ms (``None`` when not set); assigning calls ``setTimeout``."""
        return self._idle.msecs if self._idle is not None else None

    @timeout.setter
    def timeout(self, msecs: float | None) -> None:
        self.set_timeout(msecs or 0)

    def ref(self) -> Self:
        """Keep ``run()`` alive while this socket is open (the default)."""
        self._refed = True
        if self._handle is not None and self._state is not CLOSED:
            set_ref(self._handle, True)
        return self

    def unref(self) -> Self:
        """Let ``run()`` return even though this socket is open."""
        self._refed = False
        if self._handle is not None and self._state is not CLOSED:
            set_ref(self._handle, False)
        return self

    # ------------------------------------------------------------------
    # pipe

    def pipe(self, destination: _W, end: bool = True) -> _W:
        """Move everything read into *destination*, with back-pressure; returns it."""
        pipe = Pipe(self, destination, end)
        if self._pipes is None:
            self._pipes = []
        self._pipes.append(pipe)
        pipe.attach()
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
        if not self._pipes and not self.listeners("data"):
            self.pause()
        return self

    def __repr__(self) -> str:
        if self._state is OPEN:
            read = "paused" if self._flowing is False else ("flowing" if self._flowing else "held")
            if self._read_state is not READING:
                read = self._read_state
            write = _size(self._queued) if self._write_state is WRITABLE else self._write_state
            state = "open read=%s write=%s" % (read, write)
        else:
            state = self._state
        peer: object = self._peer or ""
        return "<%s %s%s>" % (type(self).__name__, state, " peer=%s" % (peer,) if peer else "")

    # Node's spellings.
    setEncoding = set_encoding
    setTimeout = set_timeout
    setNoDelay = set_no_delay
    setKeepAlive = set_keep_alive
    destroySoon = destroy_soon
    isPaused = is_paused
    bufferSize = buffer_size
    remoteAddress = remote_address
    remotePort = remote_port
    remoteFamily = remote_family
    localAddress = local_address
    localPort = local_port
    localFamily = local_family
    bytesRead = bytes_read
    bytesWritten = bytes_written
    readyState = ready_state
    allowHalfOpen = allow_half_open


Stream = Socket


def _runs_user_code(handlers: Iterable[Listener]) -> bool:
    """Whether an event's listener table holds a listener of the user's.

    Ours is a pipe's 'end' listener into one of our sockets: ending a socket
    schedules nothing of the user's (any other destination's end() might).
    """
    for listener in handlers:
        pipe = getattr(listener, "__self__", None)
        if type(pipe) is not Pipe or not isinstance(pipe.destination, Socket):
            return True
    return False


def _size(nbytes: int) -> str:
    if nbytes < 1024:
        return "%d B" % nbytes
    return "%d KiB" % (nbytes // 1024)


def _describe(sockaddr: Any, family: int) -> AddressInfo:
    if family == _stdlib_socket.AF_UNIX:
        return {"address": sockaddr if isinstance(sockaddr, str) else sockaddr.decode(errors="replace")}
    return {"address": sockaddr[0], "family": _family_name(family), "port": sockaddr[1]}


def _adopt_fd(fd: object) -> Any:
    if isinstance(fd, bool) or not isinstance(fd, int):
        raise invalid_arg_type("fd", "of type int", fd)
    if not 0 <= fd <= 2147483647:
        raise NodeValueError(
            "ERR_OUT_OF_RANGE",
            'The value of "fd" is out of range. It must be >= 0 && <= 2147483647. Received %r' % (fd,),
        )
    kind = _fd_type(fd)
    if kind is not None:
        # Node can also wrap a pipe or a tty in a Socket; we wrap stream sockets only.
        raise NodeTypeError("ERR_INVALID_FD_TYPE", "Unsupported fd type: %s" % kind)
    try:
        return gsocket.socket(fileno=fd)
    except OSError as error:
        raise os_error(error, "open") from error


def _fd_type(fd: int) -> str | None:
    """``None`` for a stream socket, else the name libuv's guess_handle gives *fd*."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return "UNKNOWN"
    if stat.S_ISFIFO(mode):
        return "PIPE"
    if stat.S_ISCHR(mode) and os.isatty(fd):
        return "TTY"
    if not stat.S_ISSOCK(mode):
        return "FILE"
    try:
        with _stdlib_socket.socket(fileno=os.dup(fd)) as probe:
            if probe.type == _stdlib_socket.SOCK_STREAM:
                return None
            return "UDP" if probe.type == _stdlib_socket.SOCK_DGRAM else "UNKNOWN"
    except OSError:
        return "UNKNOWN"


def _validate_connect_options(options: Mapping[str, Any]) -> tuple[Any, ...]:
    """``(kind, ...)`` describing the target: ``('path', path)`` or ``('tcp', host, port, ...)``."""
    path = options.get("path")
    if path is not None:
        if not isinstance(path, (str, bytes)):
            raise invalid_arg_type("options.path", "of type string", path)
        return ("path", _args.validate_unix_path(path))
    if options.get("port") is None:
        raise _MissingArgs()
    port = _args.validate_port(options["port"])
    host = options.get("host")
    if host is not None and not isinstance(host, str):
        raise invalid_arg_type("hostname", "of type string", host)
    family = options.get("family") or 0
    if family == "IPv4" or family == "IPv6":  # as address() reports it
        family = int(family[3])
    if isinstance(family, bool) or family not in (0, 4, 6):
        raise NodeValueError(
            "ERR_INVALID_ARG_VALUE", "The argument 'family' must be one of: 0, 4, 6. Received %r" % (family,)
        )
    af = {0: _stdlib_socket.AF_UNSPEC, 4: _stdlib_socket.AF_INET, 6: _stdlib_socket.AF_INET6}[family]
    local_address = options.get("localAddress")
    if local_address is not None and not is_ip(local_address):
        raise NodeValueError(  # Node: TypeError; a bad value is a ValueError here (SPEC 6)
            "ERR_INVALID_IP_ADDRESS", "Invalid IP address: %s" % (local_address,)
        )
    local_port = options.get("localPort")
    if local_port is not None:
        if isinstance(local_port, bool) or not isinstance(local_port, (int, float)):
            raise invalid_arg_type("options.localPort", "of type number", local_port)
        local_port = _args.to_port(local_port, "options.localPort")
    return ("tcp", host or "localhost", port, af, local_address, local_port)


class _MissingArgs(NodeTypeError):
    def __init__(self) -> None:
        super().__init__(
            "ERR_MISSING_ARGS", 'The "options" or "port" or "path" argument must be specified'
        )


def connect(*args: Any, **kwargs: Any) -> Socket:
    """``net.connect``: a new :class:`Socket` connecting as ``Socket.connect`` takes it."""
    options, callback = _args.normalize_args(args, kwargs)
    socket_options = {
        key: options[key]
        for key in (
            "allowHalfOpen", "highWaterMark", "objectMode", "readableObjectMode", "writableObjectMode",
            "noDelay", "keepAlive", "keepAliveInitialDelay", "fd", "readable", "writable",
        )
        if key in options
    }
    sock = Socket(socket_options)
    if "timeout" in options:
        sock.set_timeout(options["timeout"])
    return sock.connect(options, callback)


create_connection = createConnection = connect
