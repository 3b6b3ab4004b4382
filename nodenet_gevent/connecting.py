"""``Socket.connect()``: resolve, connect, ``'lookup'``, ``'connect'``/``'ready'``.

``connect()`` validates its arguments at once (raising Node's argument errors)
and starts the reader greenlet, which connects before it reads: every failure
found while connecting is an ``'error'`` event after ``connect()`` returned.
Each failure is raised as an ``OSError`` by the function that met it (given
Node's shape there, where its syscall and address are known) and turned into
``destroy(error)`` in one place, :meth:`Connecting._connect`.
"""

from __future__ import annotations

import errno
import socket as _stdlib_socket
from typing import TYPE_CHECKING, Any

from gevent import socket as gsocket

from . import args as _args
from ._gevent import set_ref
from .args import ConnectTarget, PathTarget, TcpTarget
from .errors import ERR_SOCKET_CONNECTED, os_error
from .ip import is_ip
from .lookup import resolve
from .loop import next_tick
from .state import CLOSED, CONNECTING, OPEN, SocketBase

if TYPE_CHECKING:
    from typing_extensions import Self  # for the type checker only: not a runtime dependency

__all__ = ["Connecting"]

# A failed attempt to connect to one address of several: try the next one.
# Anything else (EACCES, a bad local address...) would fail for every address.
_TRY_NEXT_ADDRESS = frozenset([
    errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT,
    errno.ETIMEDOUT,
])


class Connecting(SocketBase):
    __slots__ = ()

    def connect(self, *args: Any, **kwargs: Any) -> Self:
        """``connect(port, [host], [cb])``, ``connect(path, [cb])``, ``connect(options, [cb])``.

        Options: ``port``, ``host`` (default ``'localhost'``), ``localAddress``,
        ``localPort``, ``family`` (4 or 6), ``path``; also ``allowHalfOpen``.
        Returns the socket; ``'connect'`` (or ``'error'``) follows.
        """
        options, callback = _args.normalize_args(args, kwargs)
        target = _args.connect_target(options)
        if self._state is CONNECTING or self._state is OPEN:
            raise ERR_SOCKET_CONNECTED()
        if self._state is CLOSED:
            self._handle = None
            self._reset()
        if "allowHalfOpen" in options:
            self._allow_half_open = bool(options["allowHalfOpen"])
        if callback is not None:
            self.once("connect", callback)
        self._state = CONNECTING
        self._reader = next_tick(self._run_reader, None, target)  # type: ignore[attr-defined]
        return self

    def _open(self, handle: Any) -> None:
        """Connected (or adopted, or accepted): the handle is ours and the options apply."""
        self._handle = handle
        self._state = OPEN
        if not self._refed:
            set_ref(handle, False)
        if self._no_delay is not None:
            self._apply_no_delay()
        if self._keep_alive is not None:
            self._apply_keep_alive()

    def _connect(self, target: ConnectTarget) -> bool:
        """In the reader greenlet: connect, emit ``'connect'``.  True if the socket is open after."""
        try:
            if isinstance(target, PathTarget):
                handle = self._connect_path(target.path)
            else:
                handle = self._connect_tcp(target)
        except OSError as error:
            # Node-shaped by the functions below, but for socket() itself failing (EMFILE).
            if self._state is not CLOSED:
                self._destroy(os_error(error, "connect"))
            return False
        if handle is None or self._state is CLOSED:  # destroyed while connecting
            if handle is not None:
                handle.close()
            return False
        self._open(handle)
        self.emit("connect")
        self.emit("ready")
        self._flush_when_connected()
        return self._state is OPEN

    def _connect_path(self, path: str | bytes) -> Any:
        handle = self._handle  # a descriptor given as Socket({'fd': n}), if any
        if handle is None or handle.family != _stdlib_socket.AF_UNIX:
            handle = self._handle = gsocket.socket(_stdlib_socket.AF_UNIX, _stdlib_socket.SOCK_STREAM)
        try:
            handle.connect(path)
        except OSError as error:
            raise os_error(error, "connect", path) from error
        return handle

    def _connect_tcp(self, target: TcpTarget) -> Any:
        """A connected gevent socket, or ``None`` if destroyed meanwhile; raises the failure."""
        host, port = target.host, target.port
        if is_ip(host):
            addresses = resolve(host, port)  # no lookup, and no 'lookup' event (Node)
        else:
            try:
                addresses = resolve(host, port, target.family)
            except _stdlib_socket.gaierror as lookup_failure:  # Node's lookup error already
                self.emit("lookup", lookup_failure, None, None, host)
                raise
            first = addresses[0]
            self.emit("lookup", None, first[1], 6 if first[0] == _stdlib_socket.AF_INET6 else 4, host)
            if self._state is CLOSED:
                return None
        failure: OSError | None = None
        for family, address in addresses:
            handle = gsocket.socket(family, _stdlib_socket.SOCK_STREAM)
            self._handle = handle
            try:
                self._connect_one(handle, family, address, port, target)
                return handle
            except OSError as error:
                handle.close()
                if self._state is CLOSED:
                    return None
                failure = failure or error
                if error.errno not in _TRY_NEXT_ADDRESS:
                    break
        assert failure is not None  # there is at least one address, and each one failed
        raise failure

    @staticmethod
    def _connect_one(handle: Any, family: int, address: str, port: int, target: TcpTarget) -> None:
        local_address, local_port = target.local_address, target.local_port
        if local_address is not None or local_port:
            try:
                any_address = "::" if family == _stdlib_socket.AF_INET6 else "0.0.0.0"
                handle.bind((local_address or any_address, local_port or 0))
            except OSError as error:
                raise os_error(error, "bind", local_address, local_port) from error
        try:
            handle.connect((address, port))
        except OSError as error:
            raise os_error(error, "connect", address, port) from error
