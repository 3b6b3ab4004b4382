"""``net.Server``: a listening socket, an acceptor greenlet, and its connections.

``listen()`` binds at once (so ``address()`` is valid when it returns) and
reports failures as an ``'error'`` event on the next tick; ``'listening'`` is
emitted from its own greenlet, so a listening handler that blocks does not stop
the acceptor.  Each accepted connection gets a :class:`Socket` whose reader
greenlet emits ``'connection'`` and then reads: a connection handler that
blocks holds up only its own connection.  The acceptor greenlet, and the
``'drop'`` of a connection refused before ``'connection'``, are in
``accepting.py``; it reads the tunables below from the server's class.
"""

from __future__ import annotations

import contextvars
import errno
import socket as _stdlib_socket
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import gevent
import gevent.event
import greenlet

from . import args as _args
from ._gevent import set_ref
from .abort import AbortSignal
from .accepting import accept_loop
from .addresses import AddressInfo, describe_address
from .binding import UnixPath, bind_tcp, bind_unix, remove_unix_path
from .blocklist import validate_block_list
from .emitter import EventEmitter, Listener
from .errors import (
    ERR_INVALID_FD_TYPE,
    ERR_SERVER_ALREADY_LISTEN,
    ERR_SERVER_NOT_RUNNING,
    invalid_arg_type,
)
from .handles import adopt_listening_fd, is_fd
from .listen_args import listen_request
from .loop import next_tick
from .proxy_accept import ProxySettings, proxy_settings
from .reporting import report
from .socket import Socket

if TYPE_CHECKING:
    from typing_extensions import Self  # for the type checker only: not a runtime dependency

__all__ = ["Server", "create_server", "createServer"]

# Server states.
IDLE = "idle"
LISTENING = "listening"


class Server(EventEmitter):
    """Node's ``net.Server``.

    ``Server([options], [connection_listener])``; options (both spellings):
    ``allowHalfOpen`` (accepted sockets do not end their side when the peer
    does), ``pauseOnConnect`` (accepted sockets start paused), ``proxyProtocol``
    and ``proxyProtocolTimeout`` (a PROXY header first: see ``proxy_accept.py``).
    """

    #: Backlog used when ``listen()`` is not given one (Node's 511).
    BACKLOG = 511
    #: Accept errors that mean "out of resources for now": back off and retry.
    BACKOFF_ERRNOS = frozenset([errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM])
    #: Accept errors that concern one connection only: skip it.
    TRANSIENT_ERRNOS = frozenset([errno.ECONNABORTED, errno.EPROTO, errno.EINTR, errno.EPERM, errno.ECONNRESET])
    #: First and longest pause (seconds) after an accept ran out of descriptors.
    MIN_BACKOFF = 0.01
    MAX_BACKOFF = 1.0
    #: Connections accepted in a row before the acceptor lets others run.
    ACCEPTS_BEFORE_YIELD = 32
    #: The class of the accepted sockets, made by its ``_accepted`` classmethod (a seam:
    #: ``tls.Server`` accepts ``tls.TLSSocket`` s).
    SOCKET_CLASS: ClassVar[type[Socket]] = Socket

    # gevent ships no type information: _handle is a gevent socket (Any), or None.
    _handle: Any
    _acceptor: greenlet.greenlet | None
    # A Unix socket file we created, and who it is (see _file_identity), to unlink on close.
    _unix_path: UnixPath | None
    _max_connections: float | None
    _proxy_protocol: ProxySettings | None

    def __init__(
        self,
        options: dict[str, Any] | Listener | None = None,
        connection_listener: Listener | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if callable(options) and connection_listener is None:
            options, connection_listener = None, options
        if options is not None and not isinstance(options, dict):
            raise invalid_arg_type("options", "of type dict", options)
        options = _args.canonical_options({**(options or {}), **kwargs})
        _args.refuse_unknown(options, _args.SERVER_OPTIONS, "net.createServer()")
        self._allow_half_open = bool(_args.option(options, "allowHalfOpen", False))
        self._pause_on_connect = bool(_args.option(options, "pauseOnConnect", False))
        # The accepted sockets' high-water mark (Node >= 18.17).
        self._hwm = _args.validate_int(
            _args.option(options, "highWaterMark", Socket.HIGH_WATER_MARK), "options.highWaterMark"
        )
        self._proxy_protocol = proxy_settings(options)  # None: no PROXY header (proxy_accept.py)
        block_list = options.get("blockList")
        self._block_list = validate_block_list(block_list) if block_list is not None else None
        # Options every accepted socket gets (Node >= 17).
        self._socket_options = {
            key: options[key] for key in ("noDelay", "keepAlive", "keepAliveInitialDelay") if options.get(key)
        }
        self._state = IDLE
        self._handle = None
        self._acceptor = None
        # Its greenlets run in the context of the code that made the server (refreshed by
        # listen()); each accepted socket gets a copy of its own (Node's AsyncLocalStorage).
        self._context = contextvars.copy_context()
        self._unix_path = None  # a path we created and must unlink on close
        self._connections: set[Socket] = set()
        self._refed = True
        self.max_connections = options.get("maxConnections")
        if connection_listener is not None:
            if not callable(connection_listener):
                raise invalid_arg_type("connectionListener", "of type function", connection_listener)
            self.on("connection", connection_listener)

    # ------------------------------------------------------------------
    # listen

    def listen(self, *args: Any, **kwargs: Any) -> Self:
        """Start accepting.  ``listen(port, [host], [backlog], [cb])``,
        ``listen(path, [cb])``, ``listen(handle, [cb])``, ``listen(options, [cb])``.

        Returns the server.  ``'listening'`` (or ``'error'``) follows.
        """
        if self._state is LISTENING:
            raise ERR_SERVER_ALREADY_LISTEN()
        self._context = contextvars.copy_context()
        request = listen_request(args, kwargs, _is_handle, self.BACKLOG)
        _args.refuse_unknown(request.options, _args.LISTEN_OPTIONS, "listen()")
        callback, backlog = request.callback, request.backlog
        signal = request.options.get("signal")
        if signal is not None and not isinstance(signal, AbortSignal):
            raise invalid_arg_type("options.signal", "an instance of AbortSignal", signal)
        bind: Callable[[], Any]  # returns the listening gevent socket
        if request.handle is not None:
            handle = request.handle
            bind = lambda: adopt_listening_fd(_handle_fd(handle), backlog)  # noqa: E731
        elif request.path is not None:
            path = request.path
            bind = lambda: self._bind_unix(path, backlog, request.options)  # noqa: E731
        else:
            host, port = request.host, request.port
            bind = lambda: bind_tcp(host, port, backlog, request.options)  # noqa: E731
        self._state = LISTENING
        try:
            self._handle = bind()
        except OSError as error:
            self._state = IDLE
            self._handle = None
            if callback is not None:
                self.once("listening", callback)  # for a later listen(), as in Node
            next_tick(self._emit_reported, "error", error, context=self._context)
            return self
        except BaseException:
            self._state = IDLE  # a bad handle: raised at once, nothing changed
            self._handle = None
            raise
        if callback is not None:
            self.once("listening", callback)
        if not self._refed:
            set_ref(self._handle, False)
        next_tick(self._announce, self._handle, context=self._context)
        self._acceptor = next_tick(accept_loop, self, self._handle, context=self._context)
        if signal is not None:
            self._close_on_abort(signal, self._handle)
        return self

    def _close_on_abort(self, signal: AbortSignal, handle: Any) -> None:
        """``listen({'signal': s})``: aborting closes this listening (Node's addAbortListener)."""

        def on_abort(event: object = None) -> None:
            if self._handle is handle:
                self.close()

        if signal.aborted:
            next_tick(on_abort, context=self._context)
        else:
            signal.add_event_listener("abort", on_abort, {"once": True})
            self.once("close", lambda: signal.remove_event_listener("abort", on_abort))

    def _bind_unix(self, path: str | bytes, backlog: int, options: Mapping[str, Any]) -> Any:
        handle, self._unix_path = bind_unix(path, backlog, options)
        return handle

    def _announce(self, handle: Any) -> None:
        if self._handle is handle:
            self._emit_reported("listening")

    def _emit_reported(self, event: str, *args: Any) -> None:
        """Emit from a greenlet of the server's own: what a handler raises (or an
        unlistened 'error') is reported (reporting.py), once, naming the server."""
        try:
            self.emit(event, *args)
        except Exception as error:
            report(error, self)

    # ------------------------------------------------------------------
    # accept (the acceptor greenlet itself is accepting.py's)

    def _connection_closed(self, sock: Socket) -> None:
        self._connections.discard(sock)
        if self._state is not LISTENING and not self._connections:
            self._emit_close()

    # ------------------------------------------------------------------
    # close

    def close(self, callback: Callable[..., object] | None = None) -> Self:
        """Stop accepting now; ``'close'`` (and *callback*) once the last connection closed.

        On a server that is not listening, *callback* gets ``ERR_SERVER_NOT_RUNNING``.
        """
        if callback is not None:
            if not callable(callback):
                raise invalid_arg_type("callback", "of type function", callback)
            if self._state is LISTENING:
                self.once("close", callback)
            else:
                error = ERR_SERVER_NOT_RUNNING()
                self.once("close", lambda: callback(error))
        self._stop_listening()
        if not self._connections:
            # As Node's emitCloseNT: 'close' follows even if listen() is called
            # again meanwhile (so the callback above is never left waiting).
            next_tick(self._emit_reported, "close", context=self._context)
        return self

    def _stop_listening(self) -> None:
        handle, self._handle = self._handle, None
        self._state = IDLE
        if handle is not None:
            handle.close()
        if self._unix_path is not None:
            unix_path, self._unix_path = self._unix_path, None
            remove_unix_path(unix_path)

    def _emit_close(self) -> None:
        if self._state is not LISTENING and not self._connections:
            self._emit_reported("close")

    #: ``stop()``'s default deadline, in seconds (gevent's ``stop_timeout``).
    STOP_TIMEOUT = 1.0

    def stop(self, timeout: float | None = None) -> int:
        """Shut down within *timeout* seconds (gevent's name and unit); blocks the calling greenlet.

        Stop accepting, ``end()`` every open connection, wait until they have
        closed or the deadline (default :attr:`STOP_TIMEOUT`) passes, then
        destroy what is left.  ``'close'`` follows as usual.  Returns how many
        connections had to be cut.  Usable from a SIGTERM handler's greenlet.
        """
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))):
            raise invalid_arg_type("timeout", "of type number", timeout)
        closed = gevent.event.Event()
        self.once("close", closed.set)
        if self._state is LISTENING:
            self.close()
        elif not self._connections:
            self.remove_listener("close", closed.set)
            return 0
        for sock in list(self._connections):
            sock.end()
        if closed.wait(self.STOP_TIMEOUT if timeout is None else max(timeout, 0)):
            return 0
        cut = list(self._connections)
        for sock in cut:
            sock.destroy()
        closed.wait(self.STOP_TIMEOUT)
        return len(cut)

    @property
    def open_connections(self) -> list[Socket]:
        """The connections open now (a copy: iterate it while they close)."""
        return list(self._connections)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._state is LISTENING:
            self.close()

    # ------------------------------------------------------------------
    # introspection

    def address(self) -> AddressInfo | str | None:
        """``{'port', 'family', 'address'}`` (a path for a Unix server); ``None`` if not listening."""
        if self._handle is None:
            return None
        try:
            name = self._handle.getsockname()
        except OSError:
            return None
        if self._handle.family == _stdlib_socket.AF_UNIX:
            return name if isinstance(name, str) else name.decode(errors="replace")
        return describe_address(name, self._handle.family)

    # Node's public fields: what accepted sockets get (changing one affects later connections).
    @property
    def allowHalfOpen(self) -> bool:  # noqa: N802 - Node's name
        return self._allow_half_open

    @allowHalfOpen.setter
    def allowHalfOpen(self, value: bool) -> None:  # noqa: N802
        self._allow_half_open = bool(value)

    @property
    def pauseOnConnect(self) -> bool:  # noqa: N802 - Node's name
        return self._pause_on_connect

    @pauseOnConnect.setter
    def pauseOnConnect(self, value: bool) -> None:  # noqa: N802
        self._pause_on_connect = bool(value)

    allow_half_open = allowHalfOpen
    pause_on_connect = pauseOnConnect

    @property
    def listening(self) -> bool:
        return self._state is LISTENING

    def get_connections(self, callback: Callable[[None, int], object]) -> Self:
        """``callback(None, count)`` on the next tick (Node's asynchronous count)."""
        if not callable(callback):
            raise invalid_arg_type("callback", "of type function", callback)
        next_tick(callback, None, len(self._connections), context=self._context)
        return self

    @property
    def connections(self) -> int:
        """Deprecated: use :meth:`get_connections`."""
        warnings.warn(
            "Server.connections property is deprecated. Use Server.getConnections method instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return len(self._connections)

    def ref(self) -> Self:
        """Keep ``run()`` alive while listening (the default)."""
        self._refed = True
        if self._handle is not None:
            set_ref(self._handle, True)
        return self

    def unref(self) -> Self:
        """Let ``run()`` return although this server is listening."""
        self._refed = False
        if self._handle is not None:
            set_ref(self._handle, False)
        return self

    def fileno(self) -> int:
        """The listening descriptor (so a Server can be passed to ``listen(handle)``)."""
        if self._handle is None:
            raise ERR_SERVER_NOT_RUNNING()
        fd: int = self._handle.fileno()
        return fd

    def __repr__(self) -> str:
        where = self.address() if self._state is LISTENING else None
        return "<Server %s%s connections=%d>" % (self._state, " %s" % (where,) if where else "", len(self._connections))

    # Node's spellings.
    getConnections = get_connections
    openConnections = open_connections

    @property
    def maxConnections(self) -> float | None:
        return self.max_connections

    @maxConnections.setter
    def maxConnections(self, value: object) -> None:
        self.max_connections = value

    @property
    def max_connections(self) -> float | None:
        """Refuse (and ``'drop'``) connections beyond this many; ``None`` or ``0``: no limit."""
        return self._max_connections

    @max_connections.setter
    def max_connections(self, value: object) -> None:
        # Checked here, not at the next accept: a bad value must not kill the acceptor.
        if value is not None and (isinstance(value, bool) or not isinstance(value, _args._Real)):
            raise invalid_arg_type("maxConnections", "of type number", value)
        if value is not None and value != value:
            value = None  # NaN: no connection count is ever >= NaN, as in Node
        self._max_connections = value


def _is_handle(value: object) -> bool:
    return isinstance(value, (Server, Socket)) or (
        not isinstance(value, (dict, str, bytes, int, float)) and hasattr(value, "fileno")
    )


def _handle_fd(handle: Any) -> int:
    """The descriptor of what ``listen(handle)`` was given."""
    if isinstance(handle, dict):
        fd: Any = handle.get("fd")
        if not is_fd(fd):
            raise ERR_INVALID_FD_TYPE(repr(fd))
        return int(fd)
    if isinstance(handle, (Socket, Server)):
        if handle._handle is None:
            # Node: a Socket or Server without a handle is no handle at all.
            raise _args.missing_port_or_path(handle)
        return int(handle._handle.fileno())
    return int(handle.fileno())


def create_server(
    options: dict[str, Any] | Listener | None = None, connection_listener: Listener | None = None, **kwargs: Any
) -> Server:
    """``net.createServer([options], [connectionListener])``."""
    return Server(options, connection_listener, **kwargs)


createServer = create_server
