"""SNI on the server side: OpenSSL's servername callback, and Node's ``SNICallback(servername, cb)``.

Every server-side stdlib context gets one callback, :func:`dispatch` (so one
context serves every socket alike); it records the name asked for and hands
the choice to the socket's chooser -- its TLS server's (``SNICallback`` or the
``addContext`` contexts) or its own ``SNICallback`` option -- set on the
``SSLObject`` when the socket made it.  It runs in the connection's reader
greenlet, inside the handshake: a user callback that answers later makes that
greenlet wait for it, nobody else.
"""

from __future__ import annotations

import ssl
from typing import Any, Callable

from gevent.event import AsyncResult

__all__ = ["dispatch", "ask", "Chooser"]

#: ``chooser(tls, servername)``: switches ``tls.context`` if it will; an alert number refuses.
Chooser = Callable[[ssl.SSLObject, str], "int | None"]


def dispatch(tls: ssl.SSLObject, servername: str | None, _context: ssl.SSLContext) -> int | None:
    """OpenSSL's servername callback for every server-side context made here."""
    setattr(tls, "nodenet_servername", servername)  # noqa: B010 - read by TLSSocket.servername
    chooser: Chooser | None = getattr(tls, "nodenet_sni", None)
    if chooser is None or not servername:
        return None
    return chooser(tls, servername)


def ask(callback: Callable[..., object], servername: str, tls: ssl.SSLObject) -> tuple[Any, int | None]:
    """Node's ``SNICallback(servername, cb)``: (the context it gave, or None; an alert if it failed).

    ``cb(err, ctx)`` may be called at once or later; an error fails the handshake with it.
    """
    answer: AsyncResult = AsyncResult()
    callback(servername, lambda error=None, ctx=None: answer.set((error, ctx)))
    error, chosen = answer.get()
    if error is not None:
        setattr(tls, "nodenet_error", error)  # noqa: B010 - the handshake's error (TLSSocket._handshake)
        return None, int(ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE)
    return chosen, None
