"""A Socket's state, its fields, and the contract between the modules that change them.

``Socket`` is one object (an object graph per connection would cost calls and
memory the benchmarks cannot spare) whose code lives in modules named for
their concern; each contributes a mixin with no fields of its own:

===================  ==================================================
``state.py``         the fields (``__slots__``), the states, the state properties
``connecting.py``    ``connect()``: lookup, connect, ``'connect'``
``reading.py``       the reader greenlet, holding, pause/resume, encodings, pipe
``writing.py``       ``write()``, the write queue, the writer greenlet, ``'drain'``
``closing.py``       end of life: ``'end'``, FIN and ``'finish'``, ``'close'``, destroy
``options.py``       timeouts, TCP options, addresses, ref/unref
``socket.py``        the composition, Node's aliases, ``net.connect()``
===================  ==================================================

The states
----------
``_state`` is the connection::

    NEW --connect()--> CONNECTING --connected--> OPEN --both sides done, or destroy()--> CLOSED
     ^                     |                                                          |
     |                     +---------------- failure, or destroy() ------------------>+
     +------------------------------------ connect() again ------------------------+

``_read_state`` is the readable side, meaningful while OPEN::

    READING --peer's FIN (recv returns b'')--> EOF --held data delivered, 'end' emitted--> ENDED

``_write_state`` is the writable side::

    WRITABLE --end(), or the peer's FIN without allowHalfOpen--> ENDING --queue empty, FIN sent--> FINISHED

Who changes what
----------------
* The **reader greenlet** (``reading.py``; the hub's runner, ``dormant.py``,
  after a wait with nothing held) alone moves ``_read_state``
  (READING -> EOF -> ENDED) and alone calls ``recv``.  After EOF it runs
  ``closing._finish_reading``.
* ``write()`` (any greenlet) appends to the queue; the **writer greenlet**
  (``writing.py``), which exists only while something is queued or a FIN is
  owed, alone takes from it; once it is empty after ``end()`` the writer
  sends the FIN -- except when nothing is queued after the peer's FIN: then
  the reader, already running, sends it (``closing._finish_reading``) rather
  than start a greenlet for it.
* ``end()`` (any greenlet) moves WRITABLE -> ENDING (``writing.py``); so does
  the reader after the peer's FIN without allowHalfOpen.
* One place sends the FIN (ENDING -> FINISHED, ``'finish'``) and decides that
  both sides are done, so ``'close'``: ``closing._maybe_close``, called by
  whichever side finished last.  ``destroy()`` (any greenlet) moves any state
  to CLOSED at once.
* A greenlet that ran a handler of the user's since it last yielded
  (``user_code_ran``) yields once before the FIN or the close, so that what the
  handler scheduled runs first (Node's next tick); when none ran, the yield --
  two greenlet switches per connection -- is skipped.
"""

from __future__ import annotations

import collections
import contextvars
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import greenlet
from gevent.event import Event
from gevent.hub import Waiter

from .emitter import EventEmitter

if TYPE_CHECKING:
    from .addresses import Peer
    from .encodings import Decoder
    from .pipe import Pipe
    from .server import Server
    from .timers import IdleTimer

__all__ = ["SocketBase", "FIELDS", "WriteCallback", "QueueItem"]

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

#: ``write()``'s callback: ``callback(None)`` once the bytes went to the kernel, or ``callback(error)``.
WriteCallback = Callable[[Optional[Exception]], object]

# What the writer queues: a chunk and its write() callback.
QueueItem = tuple[Union[bytes, memoryview], Optional[WriteCallback]]

#: Every per-connection field.  Both constructors (``Socket.__init__`` with
#: ``_reset``, and the accept path's ``Socket._accepted``) set each one;
#: ``tests/test_house.py`` keeps them in step.
FIELDS = (
    "_allow_half_open", "_hwm", "_server", "_handle", "_refed", "_no_delay", "_keep_alive",
    "_idle", "_state", "_read_state", "_write_state",
    "_flowing", "_held", "_held_size", "_decoder", "_park", "_wake", "_reader", "_writer", "_queue",
    "_queued", "_need_drain", "_bytes_read", "_bytes_written", "_had_error", "_peer", "_pipes",
    "_errored", "_corked", "_default_encoding", "_readable_mode", "_emitted_readable", "_extra",
    "_context",
)


class SocketBase(EventEmitter):
    """The fields of a Socket and the state properties; the mixins add behaviour only."""

    __slots__ = FIELDS

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
    _flowing: bool | None  # None: nobody asked yet; True: flowing; False: paused
    _held: collections.deque[bytes | str] | None  # read, not yet consumed (str: decoded by read()); on demand
    _held_size: int
    _decoder: Decoder | None
    _park: Event | None  # a parked reader waits on it
    _wake: Waiter | None  # a reader holding data waits on it and on readiness
    _reader: greenlet.greenlet | None  # the greenlet reading for it now; None while dormant (reading.py)
    _writer: greenlet.greenlet | None
    _queue: collections.deque[QueueItem] | None
    _queued: int
    _need_drain: bool
    _bytes_read: int
    _bytes_written: int
    _had_error: bool
    _peer: Peer
    _pipes: list[Pipe] | None
    _errored: BaseException | None  # what destroy(error) was given: Node's `errored`
    _corked: int  # cork() depth: while > 0, writes wait in the queue
    _default_encoding: str  # for str written without an encoding (setDefaultEncoding)
    _readable_mode: bool  # a 'readable' listener (or an iterator) consumes with read()
    _emitted_readable: bool  # 'readable' was emitted for what is held now
    # What few sockets need, made on demand: 'blockList', 'onread', 'signal',
    # Happy Eyeballs' 'attempted' addresses, and a PROXY header's 'proxyHeader' and
    # 'local' address (proxy_accept.py).
    _extra: dict[str, Any] | None
    # Every greenlet of this socket runs in it: the context of the code that
    # created the socket (connect(); for an accepted one, a copy of the server's).
    _context: contextvars.Context

    if TYPE_CHECKING:
        # What the mixins call of one another (each defines its part).
        def _destroy(self, error: BaseException | None = None, had_error: bool = False,
                     inline: bool = False) -> None: ...
        def _start_writer(self) -> None: ...
        def _flush_when_connected(self) -> None: ...
        def _finish_reading(self, user_code_ran: bool) -> None: ...
        def _apply_no_delay(self) -> None: ...
        def _apply_keep_alive(self) -> None: ...
        def _peer_cache(self) -> Peer: ...
        def resume(self) -> Any: ...
        def pause(self) -> Any: ...
        def end(self, data: Any = None, encoding: Any = None, callback: Any = None) -> Any: ...
        def set_encoding(self, encoding: str | None = None) -> Any: ...
        def set_default_encoding(self, encoding: str) -> Any: ...
        def _follow_signal(self, signal: object) -> None: ...

    def _reset(self) -> None:
        """The per-connection fields of a socket that is not connected (again)."""
        self._state = NEW
        self._read_state = READING
        self._write_state = WRITABLE
        # Like Node, a socket connected again keeps its flowing mode, its
        # encoding (and its listeners).
        self._flowing = getattr(self, "_flowing", None)
        self._held = None
        self._held_size = 0
        self._decoder = getattr(self, "_decoder", None)
        self._park = None
        self._wake = None
        self._reader = None
        self._writer = None
        self._queue = None
        self._queued = 0
        self._need_drain = False
        self._bytes_read = 0
        self._bytes_written = 0
        self._had_error = False
        self._peer = None
        self._pipes = None
        self._errored = None
        self._corked = 0
        self._default_encoding = getattr(self, "_default_encoding", "utf8")
        self._readable_mode = getattr(self, "_readable_mode", False)
        self._emitted_readable = False
        extra = getattr(self, "_extra", None)  # the options stay; what the last connect found goes
        if extra:
            for key in ("attempted", "proxyHeader", "local"):
                extra.pop(key, None)
        self._extra = extra or None

    def _extras(self) -> dict[str, Any]:
        if self._extra is None:
            self._extra = {}
        return self._extra

    # ------------------------------------------------------------------
    # the state, as Node reports it

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

    @property
    def buffer_size(self) -> int:
        """Bytes written but not yet taken by the kernel."""
        return self._queued

    # ------------------------------------------------------------------
    # Node's stream state (stream.Writable / stream.Readable), as Node 20 reports it

    @property
    def writable_ended(self) -> bool:
        """``end()`` was called (Node's ``writableEnded``)."""
        return self._write_state is not WRITABLE

    @property
    def writable_finished(self) -> bool:
        """Our FIN went out and ``'finish'`` was emitted."""
        return self._write_state is FINISHED

    @property
    def writable_length(self) -> int:
        """Bytes written and not yet taken by the kernel (``bufferSize``)."""
        return self._queued

    @property
    def writable_need_drain(self) -> bool:
        """``write()`` returned ``False`` and ``'drain'`` has not come yet."""
        return self._need_drain and self._state is not CLOSED

    @property
    def writable_high_water_mark(self) -> int:
        return self._hwm

    @property
    def writable_corked(self) -> int:
        """How many ``cork()`` calls ``uncork()`` has still to undo."""
        return self._corked

    @property
    def writable_object_mode(self) -> bool:
        return False  # a socket moves bytes

    readable_object_mode = writable_object_mode

    @property
    def readable_ended(self) -> bool:
        """``'end'`` was emitted."""
        return self._read_state is ENDED

    @property
    def readable_flowing(self) -> bool | None:
        """``None`` (nobody consumed yet), ``True`` (flowing) or ``False`` (paused, or ``'readable'`` mode)."""
        return self._flowing

    @property
    def readable_length(self) -> int:
        """What is held, read from the kernel and not yet delivered."""
        return self._held_size

    @property
    def readable_high_water_mark(self) -> int:
        return self._hwm

    @property
    def readable_encoding(self) -> str | None:
        """The encoding given to ``setEncoding()``, or ``None``."""
        return self._decoder.encoding if self._decoder is not None else None

    @property
    def closed(self) -> bool:
        """Destroyed (Node sets ``closed`` as it destroys, before ``'close'`` is emitted)."""
        return self._state is CLOSED

    @property
    def errored(self) -> BaseException | None:
        """The error the socket was destroyed with, or ``None``."""
        return self._errored

    # Node's spellings.
    writableEnded = writable_ended
    writableFinished = writable_finished
    writableLength = writable_length
    writableNeedDrain = writable_need_drain
    writableHighWaterMark = writable_high_water_mark
    writableCorked = writable_corked
    writableObjectMode = writable_object_mode
    readableObjectMode = readable_object_mode
    readableEnded = readable_ended
    readableFlowing = readable_flowing
    readableLength = readable_length
    readableHighWaterMark = readable_high_water_mark
    readableEncoding = readable_encoding
    bufferSize = buffer_size
    bytesRead = bytes_read
    bytesWritten = bytes_written
    readyState = ready_state
    allowHalfOpen = allow_half_open
