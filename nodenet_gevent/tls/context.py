"""``tls.createSecureContext()``: Node's secure-context options on a stdlib ``ssl.SSLContext``.

Node's ``SecureContext`` serves either side of a connection; stdlib ``ssl``
has a context per side (``PROTOCOL_TLS_CLIENT`` / ``PROTOCOL_TLS_SERVER``),
so a :class:`SecureContext` keeps its options and builds the side's
``SSLContext`` when a socket first needs it.  Everything is checked at once:
a bad key, certificate or CA raises when the context is made, with Node's
``ERR_OSSL_*`` code (``errors.openssl_error``), never at the first handshake.

PEM given as ``str``/``bytes`` is loaded through an anonymous in-memory file
(``memfd_create``) where the OS has one: stdlib ``ssl`` loads certificate
chains from paths only, and the key need not touch a disk.
"""

from __future__ import annotations

import os
import re
import ssl
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Callable

from .. import args as _args
from ..errors import (
    ERR_INVALID_ARG_VALUE,
    ERR_OSSL_BAD_DECRYPT,
    ERR_OSSL_PEM_NO_START_LINE,
    ERR_OSSL_UNSUPPORTED,
    ERR_SSL_NO_CIPHER_MATCH,
    ERR_TLS_INVALID_PROTOCOL_METHOD,
    ERR_TLS_INVALID_PROTOCOL_VERSION,
    ERR_TLS_PROTOCOL_VERSION_CONFLICT,
    TLSError,
    invalid_arg_type,
    openssl_error,
)

__all__ = [
    "SecureContext", "create_secure_context", "CONTEXT_OPTIONS", "DEFAULT_MIN_VERSION", "DEFAULT_MAX_VERSION",
    "DEFAULT_CIPHERS",
]

DEFAULT_MIN_VERSION = "TLSv1.2"
DEFAULT_MAX_VERSION = "TLSv1.3"

#: Node 20's ``tls.DEFAULT_CIPHERS``: the list a context without ``ciphers`` (or with ``''``) gets.
#: Its TLS 1.3 suites are OpenSSL's defaults, which stdlib ``ssl`` keeps; the rest is set as TLS 1.2's.
DEFAULT_CIPHERS = (
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA256:"
    "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA256:DHE-RSA-AES256-SHA256:"
    "HIGH:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!PSK:!SRP:!CAMELLIA"
)

# OpenSSL's TLS 1.3 suites: the ones it enables by default (which stdlib ssl cannot change), and the others.
_TLS13_DEFAULT_SUITES = frozenset(["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"])
_TLS13_SUITES = _TLS13_DEFAULT_SUITES | {"TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"}

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}

#: The options of ``createSecureContext`` (and so of ``createServer``/``connect``) taken here.
CONTEXT_OPTIONS = (
    "key", "cert", "ca", "passphrase", "ciphers", "minVersion", "maxVersion", "ecdhCurve",
    "honorCipherOrder", "secureOptions", "dhparam",
    # refused (below), by name
    "pfx", "secureProtocol", "sigalgs", "privateKeyEngine", "privateKeyIdentifier", "clientCertEngine", "crl",
    "sessionIdContext", "sessionTimeout", "ticketKeys",
)

# Node's options stdlib ssl has no way to honour: refused by name (never silently dropped).
_UNSUPPORTED = {
    "pfx": "stdlib ssl cannot read PKCS#12 (give 'key' and 'cert' in PEM)",
    "sigalgs": "stdlib ssl cannot set signature algorithms",
    "privateKeyEngine": "stdlib ssl has no OpenSSL engines",
    "privateKeyIdentifier": "stdlib ssl has no OpenSSL engines",
    "clientCertEngine": "stdlib ssl has no OpenSSL engines",
    "crl": "stdlib ssl loads CRLs from files only",
    "sessionIdContext": "stdlib ssl cannot set a session id context",
    "sessionTimeout": "stdlib ssl cannot set a session timeout",
    "ticketKeys": "stdlib ssl cannot set session ticket keys",
}

# After patch_all(), ssl.SSLContext is gevent's subclass, whose sni_callback setter wraps
# the callback for gevent's SSLSocket (it unwraps the connection into one), which an
# SSLObject is not: the SNI callback is set through the C base class's own attribute.
_SNI_CALLBACK = next(base for base in ssl.SSLContext.__mro__ if base.__module__ == "_ssl").sni_callback  # type: ignore[attr-defined]

_PEM_OPTIONS = ("key", "cert", "ca")
_PEM_BEGIN = b"-----BEGIN "


class SecureContext:
    """Node's ``SecureContext``: what ``tls.createSecureContext(options)`` returns.

    ``context`` is the stdlib ``ssl.SSLContext`` of the side asked for last
    (``side_context(server_side)``); its options are Node's (see the module).
    """

    __slots__ = ("_options", "_contexts", "context")

    #: (server side, verify mode, ALPN protocols, SNI callback) -> the stdlib context made for them.
    _contexts: dict[tuple[Any, ...], ssl.SSLContext]

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = _args.canonical_options(dict(options or {}))
        for name in _PEM_OPTIONS:
            value = options.get(name)
            if value is not None and _js_falsy(value):
                options[name] = None  # Node: '', false, 0 are not given (only their truth counts)
        for name, reason in _UNSUPPORTED.items():
            if options.get(name) is not None:
                raise ERR_INVALID_ARG_VALUE("property", "options.%s" % name, "is not supported by tls: %s" % reason,
                                            options[name])
        for name in _PEM_OPTIONS:
            if options.get(name) is not None:
                # the types are checked at once
                _key_list(options[name]) if name == "key" else _pem_list(options[name], name)
        passphrase = options.get("passphrase")
        if passphrase is not None and not isinstance(passphrase, (str, bytes)):
            raise invalid_arg_type("options.passphrase", "of type string", passphrase)
        _protocol_method(options)  # checked at once
        ciphers = options.get("ciphers")
        if ciphers is not None and not isinstance(ciphers, str):
            raise invalid_arg_type("options.ciphers", "of type string", ciphers)
        self._options = options
        self._contexts = {}
        # Build the server side now when there is a key: a bad key or certificate raises here.
        has_key = options.get("key") is not None or options.get("cert") is not None
        self.context = self.ssl_context(has_key, ssl.CERT_NONE if has_key else ssl.CERT_REQUIRED)

    def ssl_context(
        self,
        server_side: bool,
        verify_mode: ssl.VerifyMode,
        alpn: list[str] | None = None,
        sni_callback: Callable[..., Any] | None = None,
    ) -> ssl.SSLContext:
        """The stdlib context for one side and one set of per-socket settings, built on first use."""
        key = (server_side, verify_mode, tuple(alpn) if alpn else None, sni_callback)
        context = self._contexts.get(key)
        if context is None:
            context = _build(self._options, server_side)
            context.verify_mode = verify_mode
            if alpn:
                context.set_alpn_protocols(alpn)
            if sni_callback is not None:
                _SNI_CALLBACK.__set__(context, sni_callback)
            self._contexts[key] = context
        self.context = context
        return context

    def __repr__(self) -> str:
        return "<SecureContext%s>" % (" with a certificate" if self._options.get("cert") is not None else "")


def create_secure_context(options: Mapping[str, Any] | None = None) -> SecureContext:
    """``tls.createSecureContext([options])``."""
    if options is not None and not isinstance(options, Mapping):
        raise invalid_arg_type("options", "of type object", options)
    return SecureContext(options)


createSecureContext = create_secure_context


def _build(options: Mapping[str, Any], server_side: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
    # Node checks the host name itself (checkServerIdentity), after OpenSSL checked the chain.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE if server_side else ssl.CERT_REQUIRED
    versions = _protocol_method(options)
    if versions is None:
        context.minimum_version = _version(options.get("minVersion"), "minimum", DEFAULT_MIN_VERSION)
        context.maximum_version = _version(options.get("maxVersion"), "maximum", DEFAULT_MAX_VERSION)
    else:
        context.minimum_version, context.maximum_version = versions
    if hasattr(ssl, "OP_IGNORE_UNEXPECTED_EOF"):
        # As Node: a peer closing TCP without close_notify ends the stream, it is no protocol error.
        context.options |= ssl.OP_IGNORE_UNEXPECTED_EOF
    secure_options = options.get("secureOptions")
    if secure_options:
        context.options |= secure_options
    try:
        _set_ciphers(context, options.get("ciphers") or DEFAULT_CIPHERS)
        curve = options.get("ecdhCurve")
        if curve is not None and curve != "auto":
            context.set_ecdh_curve(curve.split(":")[0])  # stdlib ssl takes one curve
        if options.get("ca") is not None:
            for pem in _pem_list(options["ca"], "ca"):
                context.load_verify_locations(cadata=pem.decode("ascii") if isinstance(pem, bytes) else pem)
        elif not server_side:
            context.load_default_certs()  # Node's bundled roots: the system's here
        if options.get("cert") is not None or options.get("key") is not None:
            _load_chains(context, options)
            _OWN_CERTIFICATES[context] = _first_certificate(options["cert"])
        if options.get("dhparam") is not None and server_side:
            (dhparam,) = _pem_list(options["dhparam"], "dhparam")
            with _InMemoryFile(dhparam) as path:
                context.load_dh_params(path)
    except ssl.SSLError as error:
        raise openssl_error(error) from None
    if options.get("honorCipherOrder"):
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    return context


#: stdlib context -> the DER of the certificate it presents (stdlib ``ssl`` cannot give it back).
_OWN_CERTIFICATES: weakref.WeakKeyDictionary[ssl.SSLContext, bytes] = weakref.WeakKeyDictionary()
_CERTIFICATE_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def _set_ciphers(context: ssl.SSLContext, ciphers: str) -> None:
    """Node's ``ciphers``: the ``TLS_`` names are TLS 1.3's suites, the rest TLS 1.2's list (as Node splits them).

    stdlib ``ssl`` sets only TLS 1.2's: a TLS 1.3 choice other than OpenSSL's defaults is refused
    (unless TLS 1.3 is off), never silently dropped; a list of TLS 1.3 suites only turns TLS 1.2 off,
    as in Node.
    """
    names = [name for name in ciphers.split(":") if name]
    suites = [name for name in names if name.startswith("TLS_")]
    cipher_list = ":".join(name for name in names if not name.startswith("TLS_"))
    if not suites and not cipher_list:
        raise ERR_INVALID_ARG_VALUE("property", "options.ciphers", "is invalid", ciphers.split(":"))
    if suites:
        known = _TLS13_SUITES.intersection(suites)
        if not known:
            raise ERR_SSL_NO_CIPHER_MATCH(ciphers)  # as OpenSSL's SSL_CTX_set_ciphersuites()
        if known != _TLS13_DEFAULT_SUITES and context.maximum_version >= ssl.TLSVersion.TLSv1_3:
            raise ERR_INVALID_ARG_VALUE(
                "property", "options.ciphers",
                "is not supported by tls: stdlib ssl cannot choose TLS 1.3 cipher suites (it uses %s; give "
                "TLS 1.2 suites only, or maxVersion 'TLSv1.2')" % ":".join(sorted(_TLS13_DEFAULT_SUITES)), ciphers)
    if not cipher_list:
        if context.minimum_version < ssl.TLSVersion.TLSv1_3 <= context.maximum_version:
            context.minimum_version = ssl.TLSVersion.TLSv1_3  # Node: no TLS 1.2 suites, no TLS 1.2
        return
    try:
        context.set_ciphers(cipher_list)
    except ssl.SSLError:
        # stdlib ssl says "No cipher can be selected"; Node's OpenSSL error, by its name:
        raise ERR_SSL_NO_CIPHER_MATCH(ciphers) from None


def _js_falsy(value: object) -> bool:
    """Falsy in JavaScript: an empty string or Buffer, ``False``, ``0`` (not ``{}``); and an empty list."""
    if isinstance(value, (str, bytes, bytearray, list, tuple, bool, int, float)):
        return not value
    return False


def _first_certificate(cert: object) -> bytes:
    """The DER of the first certificate of the first chain (the leaf Node's getCertificate() shows)."""
    first = _pem_list(cert, "cert")[0]
    block = _CERTIFICATE_BLOCK.search(first if isinstance(first, bytes) else first.encode("latin-1"))
    return ssl.PEM_cert_to_DER_cert(block.group(0).decode("ascii")) if block else b""


def own_certificate(context: ssl.SSLContext) -> bytes | None:
    """The DER of the certificate *context* presents; ``None`` when it has none."""
    return _OWN_CERTIFICATES.get(context) or None


# Node's secureProtocol names (each also as <name>_server_method / _client_method): the versions they allow.
_METHODS = {
    "SSLv23": (_VERSIONS[DEFAULT_MIN_VERSION], _VERSIONS[DEFAULT_MAX_VERSION]),  # the defaults
    "TLS": (ssl.TLSVersion.MINIMUM_SUPPORTED, ssl.TLSVersion.MAXIMUM_SUPPORTED),  # any
    "TLSv1": (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1),
    "TLSv1_1": (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1),
    "TLSv1_2": (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2),
}


def _protocol_method(options: Mapping[str, Any]) -> tuple[ssl.TLSVersion, ssl.TLSVersion] | None:
    """``secureProtocol``: the (minimum, maximum) versions its method allows; None when not given.

    As Node: it excludes ``minVersion``/``maxVersion``; SSLv2's and SSLv3's methods are refused.
    (Which side a ``_server_method``/``_client_method`` is for is not checked.)
    """
    method = options.get("secureProtocol")
    if method is None:
        return None
    for name in ("minVersion", "maxVersion"):
        if options.get(name) is not None:
            raise ERR_TLS_PROTOCOL_VERSION_CONFLICT(options[name], method)
    if not isinstance(method, str):
        raise invalid_arg_type("options.secureProtocol", "of type string", method)
    base = method
    for suffix in ("_server_method", "_client_method", "_method"):
        if method.endswith(suffix):
            base = method[:-len(suffix)]
            break
    if base in ("SSLv2", "SSLv3") and base != method:
        raise ERR_TLS_INVALID_PROTOCOL_METHOD("%s methods disabled" % base)
    if base == method or base not in _METHODS:
        raise ERR_TLS_INVALID_PROTOCOL_METHOD("Unknown method: %s" % method)
    return _METHODS[base]


def _version(value: object, which: str, default: str) -> ssl.TLSVersion:
    if value is None:
        value = default
    if value not in _VERSIONS:
        raise ERR_TLS_INVALID_PROTOCOL_VERSION('"%s"' % (value,), which)
    return _VERSIONS[value]


def _pem_list(value: object, name: str) -> list[str | bytes]:
    """A PEM option as a list of PEM blocks (Node takes a string, a Buffer, or a list of them)."""
    items: Sequence[object] = value if isinstance(value, (list, tuple)) else [value]
    result: list[str | bytes] = []
    for item in items:
        if isinstance(item, (bytearray, memoryview)):
            result.append(bytes(item))
        elif isinstance(item, (str, bytes)):
            result.append(item)
        else:
            raise invalid_arg_type(
                "options.%s" % name, "of type string or an instance of Buffer, TypedArray, or DataView", item
            )
    return result


def _key_list(value: object) -> list[tuple[str | bytes, str | bytes | None]]:
    """``key``: PEM as ``_pem_list`` takes it, and in a list also Node's ``{pem, passphrase}`` objects.

    Each key comes with its own passphrase (``None``: the ``passphrase`` option's).
    """
    if not isinstance(value, (list, tuple)):
        return [(pem, None) for pem in _pem_list(value, "key")]
    keys: list[tuple[str | bytes, str | bytes | None]] = []
    for item in value:
        if isinstance(item, Mapping):
            (pem,) = _pem_list(item.get("pem", item), "key")  # no pem: the object itself is refused
            passphrase = item.get("passphrase")
            if passphrase is not None and not isinstance(passphrase, (str, bytes)):
                raise invalid_arg_type("options.passphrase", "of type string", passphrase)
            keys.append((pem, passphrase))
        else:
            (pem,) = _pem_list(item, "key")
            keys.append((pem, None))
    return keys


def _as_bytes(pem: str | bytes) -> bytes:
    return pem if isinstance(pem, bytes) else pem.encode("latin-1")


def _load_chains(context: ssl.SSLContext, options: Mapping[str, Any]) -> None:
    """``key`` and ``cert`` (one chain per key, as Node); ``passphrase`` unlocks an encrypted key.

    Several keys (an RSA and an ECDSA one, say) each go with the chain of their own public key,
    whatever the order of the two lists (OpenSSL keeps one per key type, as in Node).
    """
    certs = _pem_list(options.get("cert") or [], "cert")
    keys = _key_list(options.get("key") or [])
    if not certs or not keys or len(certs) != len(keys):
        if not certs or not keys:
            missing = "cert" if not certs else "key"
            raise ERR_INVALID_ARG_VALUE("property", "options.%s" % missing, "is missing: key and cert go together",
                                        None)
        raise ERR_INVALID_ARG_VALUE("property", "options.cert", "must give one chain per key", len(certs))
    default_password = options.get("passphrase")
    for cert in certs:
        # stdlib ssl says only "PEM lib" for text that is no PEM at all: name it as Node's OpenSSL does.
        if _PEM_BEGIN not in _as_bytes(cert):
            raise ERR_OSSL_PEM_NO_START_LINE()
    pairs = []
    for key, password in keys:
        if _PEM_BEGIN not in _as_bytes(key):
            raise ERR_OSSL_UNSUPPORTED()
        pairs.append((key, password if password is not None else default_password))
    if len(pairs) > 1:
        certs = _matching_certificates(certs, pairs)
    for cert, (key, password) in zip(certs, pairs):
        _load_chain(context, cert, key, password)


def _load_chain(context: ssl.SSLContext, cert: str | bytes, key: str | bytes, password: str | bytes | None) -> None:
    with _InMemoryFile(cert) as cert_path, _InMemoryFile(key) as key_path:
        try:
            # Never None: OpenSSL would ask for the passphrase of an encrypted key on the terminal.
            context.load_cert_chain(cert_path, key_path, password=password or _no_passphrase)
        except ssl.SSLError as error:
            if b"ENCRYPTED" in _as_bytes(key) and error.reason in (None, "PEM_LIB"):
                raise ERR_OSSL_BAD_DECRYPT() from None  # stdlib ssl says "PEM lib": Node names the cause
            raise


def _no_passphrase() -> bytes:
    return b""


def _matching_certificates(
    certs: list[str | bytes], keys: list[tuple[str | bytes, str | bytes | None]],
) -> list[str | bytes]:
    """The chains in the order of *keys*: each key's is the one whose certificate holds its public key.

    Tried in a scratch context, the chain at the key's own index first; the keys no chain fits get
    the chains left over, in order, so that loading them raises OpenSSL's own error.
    """
    chosen: dict[int, int] = {}  # key index -> chain index
    for index, (key, password) in enumerate(keys):
        for candidate in sorted(set(range(len(certs))) - set(chosen.values()), key=lambda i: (i != index, i)):
            scratch = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            scratch.set_ciphers("ALL:@SECLEVEL=0")  # only whether the two belong together counts here
            try:
                _load_chain(scratch, certs[candidate], key, password)
            except (ssl.SSLError, TLSError):
                continue
            chosen[index] = candidate
            break
    left = iter(sorted(set(range(len(certs))) - set(chosen.values())))
    return [certs[chosen[index]] if index in chosen else certs[next(left)] for index in range(len(keys))]


class _InMemoryFile:
    """A path to read *data* from: an anonymous memory file (Linux), else a private temporary file."""

    def __init__(self, data: str | bytes) -> None:
        self._data = data.encode("ascii") if isinstance(data, str) else data
        self._fd = -1
        self._path = ""

    def __enter__(self) -> str:
        if hasattr(os, "memfd_create"):
            self._fd = os.memfd_create("nodenet-tls-pem", getattr(os, "MFD_CLOEXEC", 0))
            os.write(self._fd, self._data)
            return "/proc/self/fd/%d" % self._fd
        self._fd, self._path = tempfile.mkstemp(prefix="nodenet-tls-")  # mode 0600
        os.write(self._fd, self._data)
        return self._path

    def __exit__(self, *exc_info: object) -> None:
        os.close(self._fd)
        if self._path:
            os.unlink(self._path)
