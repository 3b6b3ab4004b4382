"""Node's ``tls`` on nodenet_gevent's Socket: ``from nodenet_gevent import tls``.

    from nodenet_gevent import tls

    def on_secure(c):
        c.pipe(c)

    tls.createServer({'key': key_pem, 'cert': cert_pem}, on_secure).listen(8000)

A :class:`TLSSocket` is a ``net.Socket`` (``isinstance(sock, net.Socket)``):
pause/resume, back-pressure, half-close, timeouts, ``pipe`` and encodings work
the same over TLS.  Built on the standard library's ``ssl`` (``SSLObject`` over
``MemoryBIO`` s); what stdlib ``ssl`` cannot do is listed in README.
"""

from .certificate import check_server_identity, checkServerIdentity
from .context import (
    DEFAULT_CIPHERS,
    DEFAULT_MAX_VERSION,
    DEFAULT_MIN_VERSION,
    SecureContext,
    create_secure_context,
    createSecureContext,
)
from .options import TLSSession
from .server import Server, create_server, createServer
from .socket import TLSSocket, connect

__all__ = [
    "TLSSocket",
    "TLSSession",
    "Server",
    "SecureContext",
    "connect",
    "create_server",
    "createServer",
    "create_secure_context",
    "createSecureContext",
    "check_server_identity",
    "checkServerIdentity",
    "DEFAULT_MIN_VERSION",
    "DEFAULT_MAX_VERSION",
    "DEFAULT_CIPHERS",
]
