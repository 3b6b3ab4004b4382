"""``tls.Server`` / ``tls.createServer()``: a ``net.Server`` whose connections are TLSSockets.

Everything of ``net.Server`` (listen, close, maxConnections, ...) is
inherited; what TLS adds: the accepted sockets are :class:`TLSSocket` s
(``SOCKET_CLASS``), each shaking hands in its own reader greenlet; a
handshake that fails or outlasts ``handshakeTimeout`` emits
``'tlsClientError'`` (error, socket) and destroys that socket only; a good one
emits ``'secureConnection'``.  SNI: ``SNICallback(servername, cb)`` or the
contexts of ``addContext(hostname, context)``, chosen during the handshake.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from typing import Any, Callable, ClassVar

from .. import args as _args
from ..emitter import Listener
from ..errors import ERR_TLS_REQUIRED_SERVER_NAME, invalid_arg_type
from ..server import Server as NetServer
from ..socket import Socket as NetSocket
from .context import CONTEXT_OPTIONS, SecureContext, create_secure_context
from .options import TLS_SOCKET_OPTIONS, alpn_list, canonical_tls_options
from .sni import ask, dispatch
from .socket import TLSSocket

__all__ = ["Server", "create_server", "createServer"]

#: Node's default handshakeTimeout (ms).
DEFAULT_HANDSHAKE_TIMEOUT = 120000


class Server(NetServer):
    """Node's ``tls.Server``: ``Server([options], [secureConnectionListener])``.

    Options: ``net.createServer``'s, the context options (``key``, ``cert``,
    ``ca``, ``passphrase``, ``ciphers``, ``minVersion``, ``maxVersion``, ...) or
    ``secureContext``, and ``requestCert``, ``rejectUnauthorized``,
    ``ALPNProtocols``, ``SNICallback``, ``handshakeTimeout`` (ms, default 120000).
    """

    SOCKET_CLASS: ClassVar[type[TLSSocket]] = TLSSocket

    def __init__(
        self,
        options: dict[str, Any] | Listener | None = None,
        secure_connection_listener: Listener | None = None,
        **kwargs: Any,
    ) -> None:
        if callable(options) and secure_connection_listener is None:
            options, secure_connection_listener = None, options
        if options is not None and not isinstance(options, dict):
            raise invalid_arg_type("options", "of type dict", options)
        options = canonical_tls_options({**(options or {}), **kwargs})
        net_options = {key: value for key, value in options.items() if key not in TLS_SOCKET_OPTIONS}
        super().__init__(net_options)
        timeout = _args.option(options, "handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
            raise invalid_arg_type("options.handshakeTimeout", "of type number", timeout)
        sni = options.get("SNICallback")
        if sni is not None and not callable(sni):
            raise invalid_arg_type("options.SNICallback", "of type function", sni)
        self._sni_user: Callable[..., object] | None = sni
        self._sni_contexts: list[tuple[re.Pattern[str], SecureContext]] = []
        self._secure_context = self._context_from(options)
        alpn = options.get("ALPNProtocols")
        self._socket_tls: dict[str, Any] = {
            "isServer": True,
            "rejectUnauthorized": options.get("rejectUnauthorized") is not False,
            "requestCert": bool(options.get("requestCert")),
            "ALPNProtocols": alpn_list(alpn) if alpn is not None else None,
            "servername": None,
            "checkServerIdentity": None,
            "handshakeTimeout": timeout,
            "server": self,
            "SNICallback": None,  # (the server's own is self._sni_user, through _sni_callback)
            "session": None,
        }
        # Build the accepted sockets' stdlib context now: bad settings raise here, not per connection.
        self._server_ssl_context(self._secure_context)
        if secure_connection_listener is not None:
            if not callable(secure_connection_listener):
                raise invalid_arg_type("listener", "of type function", secure_connection_listener)
            self.on("secureConnection", secure_connection_listener)
        self.on("connection", self._secure_given)

    def _secure_given(self, sock: Any) -> None:
        """Node's tls.Server listens to its own ``'connection'``: a plain ``net.Socket`` emitted
        there by the application (``server.emit('connection', sock)``) is wrapped and secured
        as if accepted here.  What this server accepted is a TLSSocket already."""
        if isinstance(sock, TLSSocket) or not isinstance(sock, NetSocket):
            return
        tls = self._socket_tls
        secured = TLSSocket(sock, {
            "isServer": True, "server": self, "secureContext": self._secure_context,
            "requestCert": tls["requestCert"], "rejectUnauthorized": tls["rejectUnauthorized"],
            "ALPNProtocols": tls["ALPNProtocols"], "handshakeTimeout": tls["handshakeTimeout"],
        })

        def before_secure(error: BaseException) -> None:
            self.emit("tlsClientError", error, secured)

        def on_secure() -> None:
            secured.remove_listener("error", before_secure)
            self.emit("secureConnection", secured)

        secured.on("error", before_secure)
        secured.once("secure", on_secure)

    @staticmethod
    def _context_from(options: Mapping[str, Any]) -> SecureContext:
        given = options.get("secureContext")
        if given is not None:
            if not isinstance(given, SecureContext):
                raise invalid_arg_type("options.secureContext", "an instance of SecureContext", given)
            return given
        return SecureContext({key: options[key] for key in CONTEXT_OPTIONS if key in options})

    def _server_ssl_context(self, context: SecureContext) -> ssl.SSLContext:
        tls = self._socket_tls
        mode = ssl.CERT_NONE
        if tls["requestCert"]:
            mode = ssl.CERT_REQUIRED if tls["rejectUnauthorized"] else ssl.CERT_OPTIONAL
        return context.ssl_context(True, mode, tls["ALPNProtocols"], dispatch)

    def add_context(
        self, hostname: str | None = None, context: SecureContext | Mapping[str, Any] | None = None,
    ) -> None:
        """``server.addContext(hostname, context)``: the context for SNI *hostname* (``*`` wildcards).

        As Node 20: no *hostname* is ``ERR_TLS_REQUIRED_SERVER_NAME``; an IP address is taken.
        """
        if hostname is None or hostname == "":
            raise ERR_TLS_REQUIRED_SERVER_NAME()
        if not isinstance(hostname, str):
            raise invalid_arg_type("servername", "of type string", hostname)
        secure = context if isinstance(context, SecureContext) else create_secure_context(context)
        pattern = re.compile("^" + re.escape(hostname).replace(r"\*", "[^.]*") + "$", re.IGNORECASE)
        self._sni_contexts.insert(0, (pattern, secure))

    def set_secure_context(self, options: Mapping[str, Any]) -> None:
        """``server.setSecureContext(options)``: the context of the connections accepted from now on."""
        self._secure_context = self._context_from(canonical_tls_options(options))
        self._server_ssl_context(self._secure_context)

    def _sni_callback(self, tls: ssl.SSLObject, servername: str) -> int | None:
        """The chooser of this server's sockets (sni.py): ``SNICallback``, else the ``addContext`` contexts."""
        chosen: SecureContext | None = None
        if self._sni_user is not None:
            given, alert = ask(self._sni_user, servername, tls)
            if alert is not None:
                return alert
            if given is not None:
                chosen = given if isinstance(given, SecureContext) else SecureContext(given)
        else:
            for pattern, context in self._sni_contexts:
                if pattern.match(servername):
                    chosen = context
                    break
        if chosen is not None:
            tls.context = self._server_ssl_context(chosen)
        return None

    # Node's spellings.
    addContext = add_context
    setSecureContext = set_secure_context


def create_server(
    options: dict[str, Any] | Listener | None = None, secure_connection_listener: Listener | None = None,
    **kwargs: Any,
) -> Server:
    """``tls.createServer([options], [secureConnectionListener])``."""
    return Server(options, secure_connection_listener, **kwargs)


createServer = create_server
