"""Options, timeouts and addresses: ``setTimeout``, ``setNoDelay``, ``setKeepAlive``,
``address()``, the remote and local address properties, ``ref()``/``unref()``.

A TCP option set before the socket is connected is remembered and applied when
it connects (``Connecting._open``).  The idle timer (``timers.IdleTimer``) is
touched by every read and write and never keeps the program alive.
"""

from __future__ import annotations

import socket as _stdlib_socket
from typing import TYPE_CHECKING, Literal, overload

from . import args as _args
from ._gevent import set_ref
from .addresses import AddressInfo, Peer, describe_address, is_inet
from .emitter import Listener
from .errors import invalid_arg_type
from .reporting import report
from .state import CLOSED, OPEN, SocketBase
from .timers import IdleTimer

if TYPE_CHECKING:
    from typing_extensions import Self  # for the type checker only: not a runtime dependency

    from .proxy_protocol import ProxyHeader

__all__ = ["SocketOptions"]

_AF_INET, _AF_INET6 = _stdlib_socket.AF_INET, _stdlib_socket.AF_INET6


class SocketOptions(SocketBase):
    __slots__ = ()

    # ------------------------------------------------------------------
    # the idle timeout

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
            self._idle = IdleTimer(msecs, self._emit_timeout, self._context)
        return self

    def _emit_timeout(self) -> None:
        if self._state is not CLOSED:
            try:
                self.emit("timeout")
            except Exception as error:
                # As in the reader and the writer: a handler that raises ends
                # this socket only, and the exception is reported.
                report(error, self)
                self._destroy(had_error=True)
            except BaseException:
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
        if is_inet(self._handle.family):
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
        if not is_inet(handle.family):
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
        if self._extra is not None and "local" in self._extra:
            return self._extra["local"].copy()  # type: ignore[no-any-return]  # a PROXY header's (proxy_accept.py)
        try:
            return describe_address(self._handle.getsockname(), self._handle.family)
        except OSError:
            return {}

    def _peer_cache(self) -> Peer:
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
        # The family is the address's own, by its shape (a PROXY header may name an IPv6
        # client of an IPv4 or Unix socket: proxy_accept.py).
        return describe_address(peer, _AF_INET6 if len(peer) == 4 else _AF_INET)[key]

    @property
    def proxy_header(self) -> ProxyHeader | None:
        """The PROXY protocol header read before ``'connection'`` (``createServer({'proxyProtocol': ...})``)."""
        return self._extra.get("proxyHeader") if self._extra is not None else None

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

    # Node's spellings.
    setTimeout = set_timeout
    setNoDelay = set_no_delay
    setKeepAlive = set_keep_alive
    remoteAddress = remote_address
    remotePort = remote_port
    remoteFamily = remote_family
    localAddress = local_address
    localPort = local_port
    localFamily = local_family
    proxyHeader = proxy_header
