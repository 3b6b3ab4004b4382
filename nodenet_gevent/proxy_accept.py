"""The server side of the PROXY protocol: ``createServer({'proxyProtocol': 'v1' | 'v2' | True})``.

Behind a proxy that speaks it (HAProxy's ``send-proxy``/``send-proxy-v2``, AWS NLB, nginx's
``proxy_protocol``), every connection starts with a header saying whom the proxy relays for.
A server with the option reads it in the accepted socket's own reader greenlet, before
``'connection'`` (``reading.py`` calls :func:`read_proxy_header`) -- never in the acceptor, so
a slow or silent client never holds up accepting, and never in the hub.  Then:

* TCP4 / TCP6 (v1 ``TCP4``/``TCP6``, v2 ``PROXY`` over ``STREAM`` with an IPv4 or IPv6 block):
  ``remoteAddress``/``remotePort``/``remoteFamily`` are the header's source (in ``_peer``),
  ``address()`` and ``localAddress``/``localPort``/``localFamily`` its destination (in
  ``_extra['local']``, which ``options.py`` reads first).
* anything else -- v1 ``UNKNOWN``, v2 ``LOCAL`` (the proxy's own health check), v2 Unix or
  ``DGRAM`` blocks -- keeps the real socket's addresses.

Either way ``socket.proxyHeader`` is the parsed :class:`~nodenet_gevent.proxy_protocol.ProxyHeader`
(TLVs included).  Every byte after the header is the application's and reaches ``'data'``
intact (``read_header`` takes no byte past it).

A missing, truncated, oversized or malformed header, a peer that fails or closes before it is
complete, or no complete header within ``proxyProtocolTimeout`` ms (default 5000) ends that
connection only: the server emits ``'proxyProtocolError'`` ``(error, socket)`` -- *error* a
``ProxyProtocolError`` with ``code`` ``'ERR_PROXY_PROTOCOL'``, *socket* still open and showing
the real peer -- and destroys the socket when the listeners return (``'close'`` with
``had_error=True``, ``socket.errored`` the error).  No ``'error'`` is emitted on a socket
nobody has seen, so nothing is printed; the socket never reaches ``'connection'``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from numbers import Real
from typing import TYPE_CHECKING, Any

from .addresses import AddressInfo
from .errors import ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE, ERR_PROXY_PROTOCOL, ProxyProtocolError, invalid_arg_type
from .proxy_protocol import Mode, read_header
from .state import CLOSED, OPEN

if TYPE_CHECKING:
    from .state import SocketBase

__all__ = ["DEFAULT_TIMEOUT_MS", "ProxySettings", "proxy_settings", "read_proxy_header"]

#: ``proxyProtocolTimeout``'s default, in ms (Node's unit): the spec asks for at least 3 s.
DEFAULT_TIMEOUT_MS = 5000

#: What a server keeps: the mode and the header deadline in seconds (``read_header``'s unit).
ProxySettings = tuple[Mode, float]

_IP_FAMILIES = ("IPv4", "IPv6")


def proxy_settings(options: Mapping[str, Any]) -> ProxySettings | None:
    """``proxyProtocol`` and ``proxyProtocolTimeout`` of ``createServer()``, checked; ``None``: off."""
    timeout = options.get("proxyProtocolTimeout")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT_MS
    elif isinstance(timeout, bool) or not isinstance(timeout, Real):
        raise invalid_arg_type("options.proxyProtocolTimeout", "of type number", timeout)
    elif math.isnan(timeout) or math.isinf(timeout) or timeout <= 0:
        # No "0 means none": a deadline is what keeps a silent client from holding a connection forever.
        raise ERR_OUT_OF_RANGE("options.proxyProtocolTimeout", "> 0 and finite (ms)", repr(timeout))
    mode = options.get("proxyProtocol")
    if mode is None or mode is False:
        return None
    if mode is not True and mode != "v1" and mode != "v2":
        raise ERR_INVALID_ARG_VALUE.value_error(
            "property", "options.proxyProtocol", "must be 'v1', 'v2', True (either) or False", mode
        )
    return mode, float(timeout) / 1000.0


def read_proxy_header(sock: SocketBase, settings: ProxySettings) -> bool:
    """In *sock*'s reader greenlet, before ``'connection'``: read the header and take its addresses.

    ``True``: go on to ``'connection'``.  ``False``: the connection is gone (the server was
    told, see the module's docstring).
    """
    mode, seconds = settings
    try:
        header, leftover = read_header(sock._handle, mode, seconds)
    except ProxyProtocolError as error:
        return _fail(sock, error)
    except OSError as error:
        if sock._state is CLOSED:
            return False  # destroyed meanwhile (its handle closed under the read): nothing to say
        failure = ERR_PROXY_PROTOCOL("Connection failed before the PROXY protocol header was complete: %s" % error)
        failure.__cause__ = error
        return _fail(sock, failure)  # type: ignore[arg-type]  # ERR_PROXY_PROTOCOL makes a ProxyProtocolError
    if sock._state is not OPEN:
        return False
    extra = sock._extras()
    extra["proxyHeader"] = header
    if header.command == "PROXY" and header.transport == "STREAM" and header.family in _IP_FAMILIES:
        family = header.family
        assert header.source_address is not None and header.dest_address is not None  # (an IP header has both)
        # The shape getpeername() gives for that family: options.py names the family by it.
        sock._peer = (header.source_address, header.source_port) + ((0, 0) if family == "IPv6" else ())
        local: AddressInfo = {"address": header.dest_address, "family": family, "port": header.dest_port or 0}
        extra["local"] = local
    if leftover:
        # Only from a socket that refuses MSG_PEEK (never a plain gevent socket): held, and
        # delivered first, as bytes read before anybody consumed.
        sock._held = deque([leftover])
        sock._held_size = len(leftover)
        sock._bytes_read += len(leftover)
    return True


def _fail(sock: SocketBase, error: ProxyProtocolError) -> bool:
    server = sock._server
    try:
        if server is not None:
            server.emit("proxyProtocolError", error, sock)
    finally:
        if sock._state is not CLOSED:
            sock._destroy(had_error=True)  # no 'error' on the socket: none of its listeners exists yet
            sock._errored = error
    return False

