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
    """OpenSSL's cipher name -> IANA's (Node's ``standardName``): the same for TLS 1.3's suites.

    ``ECDHE-RSA-AES128-GCM-SHA256`` -> ``TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256``, ``AES256-SHA`` ->
    ``TLS_RSA_WITH_AES_256_CBC_SHA``; a name of another shape is given back as it is.
    """
    if name.startswith("TLS_"):
        return name
    parts = name.split("-")
    if parts[0] in ("ECDHE", "DHE"):
        exchange = parts.pop(0)
        auth = parts.pop(0) if parts and parts[0] in ("RSA", "ECDSA") else "RSA"
        prefix = "TLS_%s_%s_WITH_" % (exchange, auth)
    else:
        prefix = "TLS_RSA_WITH_"  # OpenSSL's names without a key exchange are RSA's
    if parts == ["CHACHA20", "POLY1305"]:
        return prefix + "CHACHA20_POLY1305_SHA256"
    if not parts or parts[0] not in ("AES128", "AES256"):
        return name
    aes = "AES_" + parts[0][3:]
    rest = parts[1:]
    if len(rest) == 2 and rest[0] == "GCM":
        return "%s%s_GCM_%s" % (prefix, aes, rest[1])
    if rest == ["CCM"] or rest == ["CCM8"]:
        return "%s%s_%s" % (prefix, aes, "CCM" if rest == ["CCM"] else "CCM_8")
    if len(rest) == 1 and rest[0].startswith("SHA"):
        return "%s%s_CBC_%s" % (prefix, aes, rest[0])
    return name


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
