"""``net.Socket``: a Node stream over a gevent socket, one reader and one writer greenlet.

This module is the composition: one :class:`Socket` object, whose code lives
in modules named for their concern (``state.py`` describes the states and who
changes what):

* ``connecting.py`` -- ``connect()``: lookup, connect, ``'connect'``.
* ``reading.py`` -- the reader greenlet, data held for a late consumer,
  ``pause()``/``resume()``, ``setEncoding()``, ``pipe()``; ``dormant.py`` --
  the hub's runner greenlet, which reads for every waiting connection when
  data comes.
* ``paused.py`` -- Node's paused mode (``'readable'``, ``read()``,
  ``unshift()``) and ``for chunk in sock``.
* ``writing.py`` -- ``write()``, ``end()``, the write queue and the writer
  greenlet, ``'drain'``.
* ``closing.py`` -- end of life: ``'end'``, FIN and ``'finish'``, ``'close'``,
  ``destroy()``.
* ``options.py`` -- ``setTimeout()``, TCP options, addresses, ``ref()``/``unref()``.

Here: the constructors (``Socket(options)`` and the accept path's
``Socket._accepted``), ``repr()``, Node's spellings, and ``net.connect()``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import args as _args
from .addresses import AddressInfo, Peer
from .blocklist import validate_block_list
from .closing import EndOfLife
from .connecting import Connecting
from .dormant import _WAKEUPS, wakeups
from .emitter import _NO_LOCK
from .errors import invalid_arg_type
from .handles import adopt_connected_fd, adopt_socket_object
from .loop import next_tick
from .options import SocketOptions
from .paused import PausedMode
from .reading import ReadSide
from .state import CLOSED, ENDED, FINISHED, OPEN, READING, WRITABLE, WriteCallback
from .writing import WriteSide

if TYPE_CHECKING:
    from typing_extensions import Self  # for the type checker only: not a runtime dependency

    from .server import Server

__all__ = ["Socket", "Stream", "connect", "create_connection", "createConnection", "AddressInfo", "WriteCallback"]


class Socket(Connecting, ReadSide, PausedMode, WriteSide, EndOfLife, SocketOptions):
    """Node's ``net.Socket`` (also ``net.Stream``).

    ``Socket(options)`` or ``Socket(**options)``; options (both spellings):
    ``fd`` (an open socket descriptor to adopt), ``socket`` (a gevent or
    stdlib socket object to take over: it is detached), ``allowHalfOpen``,
    ``readable``/``writable`` (with ``fd``), ``highWaterMark`` (bytes;
    write back-pressure and read hold limit).
    """

    # The fields are SocketBase's (state.py): one set of slots for all the parts.
    __slots__ = ()

    def __init__(self, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__()
        if options is not None and not isinstance(options, dict):
            raise invalid_arg_type("options", "of type dict", options)
        options = _args.canonical_options({**(options or {}), **kwargs})
        # connect()'s options are left to connect(), as in Node (one options object often serves both).
        _args.refuse_unknown(options, _args.SOCKET_OPTIONS + _args.CONNECT_OPTIONS, "net.Socket")
        _args.refuse_object_mode(options)
        self._allow_half_open = bool(_args.option(options, "allowHalfOpen", False))
        hwm = _args.option(options, "highWaterMark", self.HIGH_WATER_MARK)
        self._hwm = _args.validate_int(hwm, "options.highWaterMark")
        self._server = None
        self._handle = None
        self._refed = True
        self._no_delay = None
        self._keep_alive = None
        self._idle = None  # IdleTimer while setTimeout is armed
        self._context = contextvars.copy_context()
        self._reset()
        self._apply_socket_options(options)
        self._apply_stream_options(options)
        fd, given = options.get("fd"), options.get("socket")
        if fd is not None or given is not None:
            if fd is not None and given is not None:
                raise _args.invalid_options(options)  # one descriptor at a time
            handle = adopt_connected_fd(fd) if fd is not None else adopt_socket_object(given)
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
            self._reader = next_tick(self._run_reader, None, None, context=self._context)

    def _apply_stream_options(self, options: Mapping[str, Any]) -> None:
        """``encoding``, ``defaultEncoding``, ``signal``, ``onread``, ``blockList`` (Node's newer options)."""
        if options.get("encoding") is not None:
            self.set_encoding(options["encoding"])
        if options.get("defaultEncoding") is not None:
            self.set_default_encoding(options["defaultEncoding"])
        if options.get("blockList") is not None:
            self._extras()["blockList"] = validate_block_list(options["blockList"])
        onread = options.get("onread")
        if onread is not None:
            self._extras()["onread"] = _args.onread_option(onread)
            self._flowing = True  # Node: reading starts at once, into the buffer, with no 'data'
        signal = options.get("signal")
        if signal is not None:
            self._follow_signal(signal)

    def _apply_socket_options(self, options: Mapping[str, Any]) -> None:
        """``noDelay``, ``keepAlive``, ``keepAliveInitialDelay`` (Node >= 17 socket options)."""
        if options.get("noDelay"):
            self.set_no_delay(True)
        if options.get("keepAlive"):
            delay = options.get("keepAliveInitialDelay") or 0
            self.set_keep_alive(True, delay if isinstance(delay, (int, float)) and delay > 0 else 0)

    @classmethod
    def _accepted(
        cls, handle: Any, peer: Peer, server: Server, allow_half_open: bool, pause_on_connect: bool, hub: Any
    ) -> Self:
        """A socket for a connection the server just accepted, its reader scheduled (the hub's runner).

        What ``__init__``, ``_reset()``, ``_open()`` and ``next_tick()`` would
        do, in one function: every accepted connection pays for this.
        ``tests/test_house.py`` checks that it sets every field ``__init__`` does.
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
        self._errored = None
        self._corked = 0
        self._default_encoding = "utf8"
        self._readable_mode = False
        self._emitted_readable = False
        self._extra = None
        self._context = server._context.copy()  # one per connection, from the server's
        # The reader: the hub's runner, once this greenlet yields (dormant.py).
        self._reader = None
        found = _WAKEUPS.get(hub) or wakeups(hub)
        accepted = found.accepted
        if not accepted:  # the first of a burst kicks the runner (Wakeups.accepted says why)
            hub.loop.run_callback(found._kick)
        accepted.append((self, server))
        return self

    def fileno(self) -> int:
        """The descriptor of the connection (``-1`` when there is none), as a Python socket's."""
        if self._handle is None or self._state is CLOSED:
            return -1
        fd: int = self._handle.fileno()
        return fd

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Leaving ``with``: end, and close once what was written went out (``destroySoon``)."""
        if not self.destroyed:
            self.destroy_soon()

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


Stream = Socket


def _size(nbytes: int) -> str:
    if nbytes < 1024:
        return "%d B" % nbytes
    return "%d KiB" % (nbytes // 1024)


def connect(*args: Any, **kwargs: Any) -> Socket:
    """``net.connect``: a new :class:`Socket` connecting as ``Socket.connect`` takes it."""
    options, callback = _args.normalize_args(args, kwargs)
    sock = Socket({key: options[key] for key in _args.SOCKET_OPTIONS if key in options})
    if "timeout" in options:
        sock.set_timeout(options["timeout"])
    return sock.connect(options, callback)


create_connection = createConnection = connect
