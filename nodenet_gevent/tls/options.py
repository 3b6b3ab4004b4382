"""The option names of ``tls.TLSSocket``/``tls.connect`` and small values they take or give.

``TLS_SOCKET_OPTIONS`` (what is TLS's rather than net's in one options object),
their snake_case spellings, ``ALPNProtocols`` in Node's forms, the
``TLSSession`` that ``getSession()`` returns, and IANA's names of the ciphers.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

from .. import args as _args
from ..errors import invalid_arg_type
from .context import CONTEXT_OPTIONS

__all__ = [
    "TLS_SOCKET_OPTIONS", "CLIENT_OPTIONS", "MISSING", "canonical_tls_options", "alpn_list", "TLSSession",
    "standard_name",
]

#: What a TLSSocket takes besides net.Socket's options.
TLS_SOCKET_OPTIONS = (
    "isServer", "server", "secureContext", "requestCert", "rejectUnauthorized", "ALPNProtocols",
    "SNICallback", "session", "requestOCSP", "servername", "checkServerIdentity", "enableTrace",
    "handshakeTimeout", "minDHSize",
) + CONTEXT_OPTIONS

#: ``tls.connect()``'s own options (the rest are ``net.connect()``'s).
CLIENT_OPTIONS = TLS_SOCKET_OPTIONS

MISSING = {"requestOCSP": "OCSP stapling", "enableTrace": "handshake tracing"}

_CAMEL = {
    "is_server": "isServer", "secure_context": "secureContext", "request_cert": "requestCert",
    "reject_unauthorized": "rejectUnauthorized", "alpn_protocols": "ALPNProtocols", "sni_callback": "SNICallback",
    "check_server_identity": "checkServerIdentity", "handshake_timeout": "handshakeTimeout",
    "min_version": "minVersion", "max_version": "maxVersion", "ecdh_curve": "ecdhCurve",
    "honor_cipher_order": "honorCipherOrder", "secure_options": "secureOptions",
}


def canonical_tls_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """snake_case TLS option names in Node's spelling (net's are renamed by ``args.canonical_options``)."""
    return _args.canonical_options({_CAMEL.get(key, key): value for key, value in options.items()})


class TLSSession:
    """What ``getSession()`` returns and the ``session`` option takes (Node's is a Buffer).

    ``ssl_session`` is the stdlib ``ssl.SSLSession``; ``context`` the stdlib context that
    made it, which a resumed connection uses (stdlib ``ssl`` resumes only there).
    """

    __slots__ = ("ssl_session", "context")

    def __init__(self, ssl_session: ssl.SSLSession, context: ssl.SSLContext) -> None:
        self.ssl_session = ssl_session
        self.context = context

    def __repr__(self) -> str:
        return "<TLSSession %s>" % self.ssl_session.id.hex()[:16]


def standard_name(name: str) -> str:
    """OpenSSL's cipher name -> IANA's (Node's ``standardName``): the same for TLS 1.3's suites."""
    if name.startswith("TLS_"):
        return name
    parts = name.split("-")
    kx = {"ECDHE": "ECDHE", "DHE": "DHE"}.get(parts[0], "")
    if not kx:
        return name
    auth = parts[1] if parts[1] in ("RSA", "ECDSA") else "RSA"
    rest = parts[2:] if parts[1] in ("RSA", "ECDSA") else parts[1:]
    bulk = "_".join(rest)
    bulk = bulk.replace("AES128", "AES_128").replace("AES256", "AES_256").replace("GCM_", "GCM_")
    if bulk.endswith("CHACHA20_POLY1305"):
        return "TLS_%s_%s_WITH_CHACHA20_POLY1305_SHA256" % (kx, auth)
    hash_part = bulk.rsplit("_", 1)
    return "TLS_%s_%s_WITH_%s_%s" % (kx, auth, hash_part[0], hash_part[1]) if len(hash_part) == 2 else name


def alpn_list(value: object) -> list[str]:
    """``ALPNProtocols``: a list of str/bytes (or Node's wire-format Buffer)."""
    if isinstance(value, (bytes, bytearray)) and value and value[0] < len(value):
        names, pos = [], 0
        while pos < len(value):
            length = value[pos]
            names.append(bytes(value[pos + 1:pos + 1 + length]).decode("ascii"))
            pos += 1 + length
        return names
    if not isinstance(value, (list, tuple)):
        raise invalid_arg_type("options.ALPNProtocols", "an Array, Buffer or TypedArray", value)
    return [item.decode("ascii") if isinstance(item, (bytes, bytearray)) else str(item) for item in value]
