"""``tls.TLSSocket`` and ``tls.connect()``: a ``net.Socket`` whose bytes go through TLS.

A TLSSocket is a Socket whose ``_handle`` is a :class:`~.channel.TLSChannel`
(the TLS in between: see ``channel.py``), so everything of ``net.Socket``
works the same.  What it adds, all in its reader greenlet before the first
read: the handshake (no busy loop: it waits for readiness; the server's
``handshakeTimeout`` bounds it), the certificate checks, then
``'secureConnect'`` (client) or the server's ``'secureConnection'``.  Writes
made before that wait in the write queue; ``end()`` sends close_notify, then
the FIN.  The seams of the core it uses: ``_open`` (a connected descriptor
becomes a channel), ``_read_loop``/``_read_into`` (the handshake first) and
``_flush_queue`` (ciphertext the kernel did not take goes first).
"""

from __future__ import annotations

import errno
import os
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

import gevent
from gevent import socket as gsocket
from gevent.event import Event

from .. import args as _args
from ..errors import (
    ERR_INVALID_ARG_VALUE,
    ERR_SOCKET_CLOSED,
    certificate_error,
    invalid_arg_type,
    openssl_error,
    os_error,
    tls_disconnected,
)
from ..loop import next_tick
from ..socket import Socket
from ..state import CLOSED, CONNECTING, OPEN
from . import sni
from .certificate import check_server_identity
from .channel import TLSChannel
from .context import CONTEXT_OPTIONS, SecureContext
from .info import TLSInfo
from .options import MISSING, TLS_SOCKET_OPTIONS, TLSSession, alpn_list, canonical_tls_options

if TYPE_CHECKING:
    from typing_extensions import Self

    from .server import Server

__all__ = ["TLSSocket", "connect"]

class TLSSocket(TLSInfo, Socket):
    """Node's ``tls.TLSSocket``: ``TLSSocket(socket=None, options=None)``.

    *socket* is an open ``net.Socket`` to secure (STARTTLS; it hands over its
    connection and is done) or ``None`` for one that ``connect()`` will open.
    Options: ``isServer``, ``secureContext`` (or the context options: ``key``,
    ``cert``, ``ca``, ...), ``requestCert``, ``rejectUnauthorized``,
    ``ALPNProtocols``, ``servername``, ``checkServerIdentity``, ``SNICallback``.
    """

    __slots__ = (
        "_tls", "_secure_context", "_authorized", "_authorization_error", "_wrapped", "_host", "_connect_where",
    )

    _tls: dict[str, Any]  # the per-socket TLS settings (a server's are shared by its sockets)
    _secure_context: SecureContext
    _authorized: bool
    _authorization_error: str | None
    _wrapped: Socket | None  # STARTTLS: the plain socket whose connection this one takes over
    # tls.connect()'s path, host, port and localAddress as given (None each when not): what a client's
    # ECONNRESET before the handshake ended names, as Node's onConnectEnd takes them from its options.
    _connect_where: tuple[Any, Any, Any, Any] | None
    _host: Any  # the host connected to: what the certificate is checked against without servername

    def __init__(self, socket: Socket | None = None, options: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        given: object = socket
        if isinstance(given, Mapping) and options is None:
            socket, options = None, given  # TLSSocket(options), as a convenience
        tls_options = canonical_tls_options({**(options or {}), **kwargs})
        net_options = {key: value for key, value in tls_options.items() if key not in TLS_SOCKET_OPTIONS}
        super().__init__(net_options)
        if socket is not None and not isinstance(socket, Socket):
            raise invalid_arg_type("socket", "an instance of net.Socket", socket)
        if socket is not None:
            self._allow_half_open = socket._allow_half_open  # Node: the wrapped socket's, not the option
        self._setup(tls_options)
        self._wrapped = socket
        self._host = tls_options.get("host")
        self._connect_where = None
        if socket is not None:
            # STARTTLS: the reader greenlet takes the connection over once it is open, then shakes hands.
            self._state = CONNECTING
            self._reader = next_tick(self._run_reader, None, None, context=self._context)

    def _setup(self, options: Mapping[str, Any]) -> None:
        context = options.get("secureContext")
        if context is None:
            context = SecureContext({key: options[key] for key in CONTEXT_OPTIONS if key in options})
        elif not isinstance(context, SecureContext):
            raise invalid_arg_type("options.secureContext", "an instance of SecureContext", context)
        alpn = options.get("ALPNProtocols")
        if alpn is not None:
            alpn = alpn_list(alpn)
        for name in ("checkServerIdentity", "SNICallback"):
            if options.get(name) is not None and not callable(options[name]):
                raise invalid_arg_type("options.%s" % name, "of type function", options[name])
        for name in ("requestOCSP", "enableTrace"):
            if options.get(name):
                raise ERR_INVALID_ARG_VALUE("property", "options.%s" % name,
                                            "is not supported by tls: stdlib ssl has no %s" % MISSING[name],
                                            options[name])
        if options.get("minDHSize") is not None:
            raise ERR_INVALID_ARG_VALUE("property", "options.minDHSize",
                                        "is not supported by tls: stdlib ssl cannot check it", options["minDHSize"])
        session = options.get("session")
        if session is not None and not isinstance(session, TLSSession):
            raise invalid_arg_type("options.session", "a TLSSession (from getSession())", session)
        self._tls = {
            "SNICallback": options.get("SNICallback"),
            "session": session,
            "isServer": bool(options.get("isServer")),
            "rejectUnauthorized": options.get("rejectUnauthorized") is not False,
            "requestCert": bool(options.get("requestCert")),
            "ALPNProtocols": alpn,
            "servername": options.get("servername"),
            "checkServerIdentity": options.get("checkServerIdentity") or check_server_identity,
            "handshakeTimeout": options.get("handshakeTimeout"),
            "server": options.get("server"),
        }
        self._secure_context = context
        self._authorized = False
        self._authorization_error = None

    @classmethod
    def _accepted(
        cls, handle: Any, peer: Any, server: Any, allow_half_open: bool, pause_on_connect: bool, hub: Any
    ) -> Self:
        """A connection the TLS server accepted: the net fields, then TLS's (before its reader runs)."""
        self = super()._accepted(handle, peer, server, allow_half_open, pause_on_connect, hub)
        tls_server: Server = server
        self._tls = tls_server._socket_tls
        self._secure_context = tls_server._secure_context
        self._authorized = False
        self._authorization_error = None
        self._wrapped = None
        self._host = None
        self._connect_where = None
        self._handle = self._channel(handle)
        return self

    # ------------------------------------------------------------------
    # the seams of the core

    def _open(self, handle: Any) -> None:
        super()._open(handle if isinstance(handle, TLSChannel) else self._channel(handle))

    def _read_loop(self, started: bool = False) -> None:
        if self._is_secure() or self._secure():
            super()._read_loop(started)

    def _read_into(self, supply: Any, callback: Any) -> None:
        if self._is_secure() or self._secure():
            super()._read_into(supply, callback)

    def _is_secure(self) -> bool:
        channel = self._handle
        return isinstance(channel, TLSChannel) and channel.handshake_done

    def _destroy(self, error: BaseException | None = None, had_error: bool = False, inline: bool = False) -> None:
        wrapped = self._wrapped
        if wrapped is not None:  # destroyed before it took the connection over: it goes too (Node)
            self._wrapped = None
            wrapped.destroy()
        if inline and error is None and self._state is OPEN:
            # The normal end after the peer's FIN, where the core skips shutdown(): our close_notify
            # still goes (best effort, without waiting), as Node's TLS sends it.
            channel = self._handle
            if isinstance(channel, TLSChannel):
                channel.say_goodbye()
        super()._destroy(error, had_error, inline)

    def _flush_queue(self) -> None:
        channel = self._handle
        # With writes queued, the first send carries what TLS has pending along (one segment).
        if channel.has_backlog and not self._queue and self._state is OPEN:
            try:
                channel.flush()
            except OSError as error:
                if self._state is not CLOSED:
                    self._destroy(os_error(error, "write"))
                return
        super()._flush_queue()

    # ------------------------------------------------------------------
    # the handshake

    def _channel(self, handle: Any) -> TLSChannel:
        options = self._tls
        server_side = options["isServer"]
        context = self._ssl_context(server_side)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        servername = options["servername"]
        session: TLSSession | None = None if server_side else options.get("session")
        if session is not None:
            context = session.context  # stdlib ssl resumes a session only in the context that made it
        try:
            tls = context.wrap_bio(incoming, outgoing, server_side=server_side,
                                   server_hostname=None if server_side else servername or None,
                                   session=session.ssl_session if session is not None else None)
        except ssl.SSLError as error:
            raise openssl_error(error) from None
        if server_side:
            # Its own SNICallback, else its tls.Server's chooser (a net.Server, as in TLSSocket(conn,
            # {server}), has none).
            chooser = self._own_sni if options.get("SNICallback") is not None else None
            if chooser is None:
                chooser = getattr(options["server"], "_sni_callback", None)
            if chooser is not None:
                setattr(tls, "nodenet_sni", chooser)  # noqa: B010 - for sni.dispatch
        return TLSChannel(handle, tls, incoming, outgoing, self)

    def _ssl_context(self, server_side: bool) -> ssl.SSLContext:
        options = self._tls
        if server_side:
            mode = (ssl.CERT_REQUIRED if options["rejectUnauthorized"] else ssl.CERT_OPTIONAL) \
                if options["requestCert"] else ssl.CERT_NONE
        else:
            mode = ssl.CERT_REQUIRED if options["rejectUnauthorized"] else ssl.CERT_NONE
        return self._secure_context.ssl_context(
            server_side, mode, options["ALPNProtocols"], sni.dispatch if server_side else None
        )

    def _own_sni(self, tls: ssl.SSLObject, servername: str) -> int | None:
        """The chooser (sni.py) of a server-side TLSSocket given its own ``SNICallback``."""
        given, alert = sni.ask(self._tls["SNICallback"], servername, tls)
        if alert is None and given is not None:
            chosen = given if isinstance(given, SecureContext) else SecureContext(given)
            previous, self._secure_context = self._secure_context, chosen
            try:
                tls.context = self._ssl_context(True)
            finally:
                self._secure_context = previous
        return alert

    def _secure(self) -> bool:
        """In the reader greenlet: take over a wrapped socket, shake hands, check; announce.  True if secure."""
        if self._wrapped is not None:
            if not self._take_over():
                return False
        elif self._state is not OPEN:  # destroyed before its reader first ran
            return False
        options = self._tls
        server_side = options["isServer"]
        error = self._handshake(options.get("handshakeTimeout") if server_side else None)
        if error is None and not server_side:
            error = self._check_server()
        elif error is None:
            self._check_client()
        if self._state is not OPEN:
            return False
        if error is not None:
            server = self._server
            if server_side and server is not None:
                self._destroy()
                server._emit_reported("tlsClientError", error, self)
            else:
                self._destroy(error)
            return False
        # Every TLSSocket emits 'secure' (Node's _finishInit); a client then 'secureConnect'.
        self.emit("secure")
        if self._state is not OPEN:
            return False
        if server_side:
            server = self._server
            if server is not None:
                server.emit("secureConnection", self)
        else:
            self.emit("secureConnect")
        return self._state is OPEN

    def _handshake(self, timeout_ms: object) -> BaseException | None:
        """Shake hands, waiting for the peer cooperatively; the error that ended it, or None."""
        channel: TLSChannel = self._handle
        timer = gevent.Timeout(float(timeout_ms) / 1000.0) if timeout_ms else None  # type: ignore[arg-type]
        if timer is not None:
            timer.start()
        server_side = self._tls["isServer"]
        try:
            while not channel.handshake_step():
                if not channel.receive():
                    return self._disconnected(server_side)
        except gevent.Timeout as fired:
            if fired is not timer:
                raise
            from ..errors import ERR_TLS_HANDSHAKE_TIMEOUT

            return ERR_TLS_HANDSHAKE_TIMEOUT()
        except ssl.SSLCertVerificationError as failure:
            # No alert: Node lets OpenSSL finish and judges the certificate afterwards, then hangs up.
            return certificate_error(failure.verify_code, failure.verify_message)
        except ssl.SSLError as failure:
            if isinstance(failure, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
                return self._disconnected(server_side)
            given = getattr(channel.tls, "nodenet_error", None)  # an SNICallback's error: Node hangs up
            if given is not None:
                return given  # type: ignore[no-any-return]
            self._send_alert(channel)
            return openssl_error(failure)
        except OSError as failure:
            if self._state is CLOSED:
                return None
            if failure.errno in (errno.ECONNRESET, errno.EPIPE):
                return self._disconnected(server_side)
            if failure.errno is None:  # gevent's "closed in another greenlet"
                return ERR_SOCKET_CLOSED()
            return os_error(failure, "read")
        finally:
            if timer is not None:
                timer.close()
        return None

    @staticmethod
    def _send_alert(channel: TLSChannel) -> None:
        """A failed handshake: the alert OpenSSL wrote goes to the peer before we close, as Node's
        does (the peer learns why: ``ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE``, not a hang-up)."""
        if channel.outgoing.pending:
            try:
                channel.flush()
            except OSError:
                pass  # the peer is gone: it needs no alert

    def _disconnected(self, server_side: bool) -> BaseException:
        """The peer went before the handshake ended: Node's ECONNRESET and the addresses it names."""
        if server_side:
            return tls_disconnected(True, host=self._host, port=self._peer_port())
        path, host, port, local_address = self._connect_where or (None, None, None, None)
        return tls_disconnected(False, host=host, port=port, path=path, local_address=local_address)

    def _peer_port(self) -> object:
        try:
            return self.remote_port
        except Exception:  # noqa: BLE001 - a closed descriptor: no port to tell
            return None

    def _check_server(self) -> BaseException | None:
        """Client side, after the handshake: OpenSSL checked the chain; the host name is Node's check."""
        if not self._tls["rejectUnauthorized"]:
            # stdlib ssl verifies a chain only by failing the handshake: unverified here (README).
            self._authorized = False
            self._authorization_error = None
            host = self._tls["servername"] or self._host or "localhost"
            failure = self._tls["checkServerIdentity"](host, self.get_peer_certificate())
            if failure is not None:
                self._authorization_error = getattr(failure, "code", None)
            return None
        host = self._tls["servername"] or self._host or "localhost"
        failure = self._tls["checkServerIdentity"](host, self.get_peer_certificate())
        if failure is not None:
            return failure  # type: ignore[no-any-return]  # the user's function's
        self._authorized = True
        return None

    def _check_client(self) -> None:
        """Server side: a client certificate that got through the handshake was verified by OpenSSL."""
        if not self._tls["requestCert"]:
            return
        if self._handle.tls.getpeercert(True):
            self._authorized = True
        else:
            self._authorization_error = "UNABLE_TO_GET_ISSUER_CERT"  # Node's, for no certificate

    def _take_over(self) -> bool:
        """STARTTLS: the wrapped socket's connection becomes ours (its descriptor, what it held)."""
        wrapped = self._wrapped
        assert wrapped is not None
        if wrapped._state is CONNECTING:
            connected = Event()
            wrapped.once("connect", lambda *args: connected.set())
            wrapped.once("close", lambda *args: connected.set())
            connected.wait()
        if wrapped._state is not OPEN or self._state is CLOSED:
            if self._state is not CLOSED:
                self._destroy(ERR_SOCKET_CLOSED())
            return False
        self._wrapped = None
        raw = wrapped._handle
        held = list(wrapped._held or ())
        wrapped._held = None
        wrapped._held_size = 0
        handle = gsocket.socket(raw.family, raw.type, raw.proto, fileno=os.dup(raw.fileno()))
        self._peer = wrapped._peer
        wrapped.destroy()  # it closes its descriptor; the connection lives on in ours
        self._open(handle)
        for chunk in held:
            self._handle.incoming.write(chunk if isinstance(chunk, bytes) else chunk.encode("latin-1"))
        self._flush_when_connected()
        return True


def connect(*args: Any, **kwargs: Any) -> TLSSocket:
    """``tls.connect(options, [cb])`` / ``(port, [host], [options], [cb])``: ``'secureConnect'`` follows."""
    callback: Callable[..., object] | None = None
    if args and callable(args[-1]):
        callback, args = args[-1], args[:-1]
    options: dict[str, Any] = {}
    positional = list(args)
    if positional and isinstance(positional[-1], Mapping):
        options = dict(positional.pop())
    if positional:  # (port, [host]) or (path): net's rules
        where, _ = _args.normalize_args(positional)
        options.update(where)
    options = canonical_tls_options({**options, **kwargs})
    tls_options = {key: value for key, value in options.items() if key in TLS_SOCKET_OPTIONS}
    tls_options["host"] = options.get("host") if options.get("path") is None else None
    given = options.pop("socket", None)
    socket_options = {key: options[key] for key in _args.SOCKET_OPTIONS if key in options}
    sock = TLSSocket(given, {**tls_options, **socket_options})
    sock._connect_where = (options.get("path"), options.get("host"), options.get("port"), options.get("localAddress"))
    if callback is not None:
        sock.once("secureConnect", callback)
    if given is not None:
        return sock
    net_options = {key: value for key, value in options.items() if key not in TLS_SOCKET_OPTIONS}
    if net_options.get("host") is None and net_options.get("path") is None:
        net_options["host"] = "localhost"
        sock._host = "localhost"
    if "timeout" in net_options:
        sock.set_timeout(net_options.pop("timeout"))
    for key in _args.SOCKET_OPTIONS:
        net_options.pop(key, None)
    sock.connect(net_options)
    return sock
