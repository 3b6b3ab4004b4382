"""``Socket.connect()``: resolve, connect, ``'lookup'``, ``'connect'``/``'ready'``.

``connect()`` validates its arguments at once (raising Node's argument errors)
and starts the reader greenlet, which connects before it reads: every failure
found while connecting is an ``'error'`` event after ``connect()`` returned.
Each failure is raised as an ``OSError`` by the function that met it (given
Node's shape there, where its syscall and address are known) and turned into
``destroy(error)`` in one place, :meth:`Connecting._connect`.
"""

from __future__ import annotations

import contextvars
import errno
import socket as _stdlib_socket
from typing import TYPE_CHECKING, Any

import gevent
from gevent import socket as gsocket

from . import args as _args
from ._gevent import set_ref
from .args import ConnectTarget, PathTarget, TcpTarget
from .errors import ERR_IP_BLOCKED, ERR_SOCKET_CONNECTED, AggregateError, os_error
from .ip import is_ip
from .lookup import ConnectFailure, defaults, look_up, resolve
from .loop import next_tick
from .state import CLOSED, CONNECTING, OPEN, SocketBase

if TYPE_CHECKING:
    from typing_extensions import Self  # for the type checker only: not a runtime dependency

__all__ = ["Connecting"]

class Connecting(SocketBase):
    __slots__ = ()

    def connect(self, *args: Any, **kwargs: Any) -> Self:
        """``connect(port, [host], [cb])``, ``connect(path, [cb])``, ``connect(options, [cb])``.

        Options: ``port``, ``host`` (default ``'localhost'``), ``localAddress``,
        ``localPort``, ``family`` (4 or 6), ``path``; also ``allowHalfOpen``.
        Returns the socket; ``'connect'`` (or ``'error'``) follows.
        """
        options, callback = _args.normalize_args(args, kwargs)
        _args.refuse_unknown(options, _args.CONNECT_OPTIONS + _args.SOCKET_OPTIONS, "connect()")
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
        self._context = contextvars.copy_context()  # the handlers see what the caller of connect() had
        self._reader = next_tick(self._run_reader, None, target, context=self._context)  # type: ignore[attr-defined]
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
        except ConnectFailure as failure:  # an error that is no OSError: the user's lookup's, ERR_IP_BLOCKED
            if self._state is not CLOSED:
                self._destroy(failure.error)
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
        self.emit("connectionAttempt", path, None, None)  # (Node's: no port, no family for a path)
        try:
            handle.connect(path)
        except OSError as error:
            failure = os_error(error, "connect", path)
            if self._state is not CLOSED:
                self.emit("connectionAttemptFailed", path, None, None, failure)
            raise failure from error
        return handle

    def _connect_tcp(self, target: TcpTarget) -> Any:
        """A connected gevent socket, or ``None`` if destroyed meanwhile; raises the failure."""
        host, port = target.host, target.port
        if is_ip(host):
            addresses = resolve(host, port)  # no lookup, and no 'lookup' event (Node)
        else:
            found = look_up(self, target, self._auto_select(target))
            if found is None or self._state is CLOSED:
                return None
            addresses = found
        if len(addresses) > 1:  # (only an 'all' lookup answers more than one)
            return self._connect_in_turn(addresses, target)
        family, address = addresses[0]
        self._refuse_blocked(address, family)
        handle = self._handle = gsocket.socket(family, _stdlib_socket.SOCK_STREAM)
        try:
            self._bind_local(handle, family, target.local_address, target.local_port)
            version = 6 if family == _stdlib_socket.AF_INET6 else 4
            self.emit("connectionAttempt", address, port, version)
            if self._state is CLOSED:
                handle.close()
                return None
            try:
                self._connect_one(handle, family, address, port)
            except OSError as error:
                if self._state is not CLOSED and getattr(error, "errno", None) != errno.EINVAL:
                    self.emit("connectionAttemptFailed", address, port, version, error)
                raise
        except OSError:
            handle.close()
            if self._state is CLOSED:
                return None
            raise
        return handle

    @staticmethod
    def _auto_select(target: TcpTarget) -> bool:
        """Happy Eyeballs applies: asked for (or the default), and no family fixed."""
        if target.family != _stdlib_socket.AF_UNSPEC or target.local_address is not None:
            return False  # (as Node: a local address is of one family)
        return defaults.auto_select_family if target.auto_select_family is None else target.auto_select_family

    def _connect_in_turn(self, addresses: list[tuple[int, str]], target: TcpTarget) -> Any:
        """Node 20's Happy Eyeballs: each address in turn, each but the last for the attempt timeout.

        An attempt that has not connected when its time is up is closed and
        the next one starts; the first to connect is the connection.  When all
        fail, the error is an :class:`~nodenet_gevent.errors.AggregateError`.
        """
        port = target.port
        seconds = (target.attempt_timeout or defaults.attempt_timeout) / 1000.0
        attempted = self._extras()["attempted"] = []
        errors: list[BaseException] = []
        for index, (family, address) in enumerate(addresses):
            self._refuse_blocked(address, family)
            version = 6 if family == _stdlib_socket.AF_INET6 else 4
            try:
                handle = self._handle = gsocket.socket(family, _stdlib_socket.SOCK_STREAM)
            except OSError as error:  # no such family here (IPv6 on a machine without): this attempt fails
                unmade: BaseException | None = os_error(error, "connect", address, port)
            else:
                unmade = None
                try:  # as Node: a local port that cannot be bound fails this attempt, with no event
                    self._bind_local(handle, family, None, target.local_port)
                except OSError as error:
                    handle.close()
                    errors.append(error)
                    continue
            attempted.append("%s:%s" % (address, port))
            self.emit("connectionAttempt", address, port, version)
            if unmade is not None:
                errors.append(unmade)
                self.emit("connectionAttemptFailed", address, port, version, unmade)
                if self._state is CLOSED:
                    return None
                continue
            if self._state is CLOSED:
                handle.close()
                return None
            timer = gevent.Timeout(seconds) if index < len(addresses) - 1 else None
            try:
                if timer is not None:
                    timer.start()
                self._connect_one(handle, family, address, port)
                return handle
            except gevent.Timeout as expired:
                if expired is not timer:
                    raise
                handle.close()
                errors.append(os_error(errno.ETIMEDOUT, "connect", address, port))
                self.emit("connectionAttemptTimeout", address, port, version)
            except OSError as error:
                handle.close()
                if self._state is CLOSED:
                    return None
                errors.append(error)
                self.emit("connectionAttemptFailed", address, port, version, error)
            finally:
                if timer is not None:
                    timer.close()
            if self._state is CLOSED:
                return None
        raise AggregateError(errors)

    def _refuse_blocked(self, address: str, family: int) -> None:
        block_list = self._extra.get("blockList") if self._extra else None
        family_name = "ipv6" if family == _stdlib_socket.AF_INET6 else "ipv4"
        if block_list is not None and block_list.check(address, family_name):
            raise ConnectFailure(ERR_IP_BLOCKED(address))

    @property
    def auto_select_family_attempted_addresses(self) -> list[str] | None:
        """The ``'address:port'`` Happy Eyeballs tried, in order (``None`` when it did not run)."""
        attempted: list[str] | None = self._extra.get("attempted") if self._extra else None
        return attempted

    autoSelectFamilyAttemptedAddresses = auto_select_family_attempted_addresses

    @staticmethod
    def _bind_local(handle: Any, family: int, local_address: str | None, local_port: int | None) -> None:
        if local_address is not None or local_port:
            any_address = "::" if family == _stdlib_socket.AF_INET6 else "0.0.0.0"
            try:
                handle.bind((local_address or any_address, local_port or 0))
            except OSError as error:
                raise os_error(error, "bind", local_address or any_address, local_port) from error

    @staticmethod
    def _connect_one(handle: Any, family: int, address: str, port: int) -> None:
        if (is_ip(address) == 6) != (family == _stdlib_socket.AF_INET6):
            # A lookup's family that is not the address's: Node's socket of that family says EINVAL.
            raise os_error(errno.EINVAL, "connect", address, port)
        try:
            handle.connect((address, port))
        except OSError as error:
            raise os_error(error, "connect", address, port) from error
