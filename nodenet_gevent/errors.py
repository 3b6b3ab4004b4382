"""Node-shaped errors: the one place where Python and OS errors get Node's face.

Two families:

* Argument errors, raised at once by the call that got the bad argument.
  They subclass the Python exception a Python user would expect
  (``TypeError`` for a wrong type, ``ValueError`` for a bad value; Node's
  ``RangeError`` maps to ``ValueError``) and carry Node's ``code``
  (``ERR_INVALID_ARG_TYPE``, ``ERR_SOCKET_BAD_PORT``, ...) and message.

* Operational errors, delivered as ``'error'`` events.  They are instances of
  the builtin ``OSError`` subclass that matches the errno
  (``ConnectionRefusedError``, ``BrokenPipeError``, ...), so ordinary Python
  ``except`` clauses work, and they carry Node's extra attributes: ``code``
  (``'ECONNREFUSED'``), ``errno`` (Python's positive number), ``syscall``
  (``'connect'``), ``address`` and ``port`` where they apply.  ``str()`` of
  one is Node's message: ``connect ECONNREFUSED 127.0.0.1:8124``.
"""

from __future__ import annotations

import errno as _errno
import os
import socket
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:

    class _NodeOSError(OSError):
        """For the type checker only: what :func:`os_error` returns.

        At runtime the result is an instance of a private subclass of the
        builtin ``OSError`` subclass for its errno (see ``_node_flavour``),
        carrying these attributes.
        """

        code: str
        syscall: str
        address: object
        port: object
        message: str

__all__ = [
    "NodeError",
    "NodeTypeError",
    "NodeValueError",
    "ErrorKind",
    "E",
    "ProxyProtocolError",
    "TLSError",
    "certificate_error",
    "openssl_error",
    "tls_disconnected",
    "AggregateError",
    "os_error",
    "lookup_error",
    "invalid_arg_type",
    "invalid_address_family",
    "describe",
    "error_code",
]


class NodeError(Exception):
    """An error with Node's ``code``; the base of every argument/state error."""

    code = "ERR_GENERIC"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[NodeError], tuple[str, str], dict[str, Any]]:
        # BaseException's default would call cls(message): keep pickle/copy working.
        return (type(self), (self.code, self.message), self.__dict__)


class NodeTypeError(NodeError, TypeError):
    """Node's ``TypeError``: an argument of the wrong type."""


class NodeValueError(NodeError, ValueError):
    """Node's ``RangeError``/value errors: an argument of the right type but a bad value."""


class ErrorKind:
    """One entry of the catalogue below: Node's ``E(code, message, Base)``.

    Calling it makes the error: ``ERR_SOCKET_CONNECTED()``, or with the
    values its message template takes, ``ERR_UNKNOWN_ENCODING('foo')``.
    """

    __slots__ = ("code", "template", "base")

    code: str
    template: str
    base: type[NodeError]

    def __init__(self, code: str, template: str, base: type[NodeError]) -> None:
        self.code = code
        self.template = template
        self.base = base

    def __call__(self, *values: object) -> NodeError:
        return self.base(self.code, self.template % values if values else self.template)

    def value_error(self, *values: object) -> NodeValueError:
        """The same error as a ``ValueError``: where Node throws its ``TypeError``
        for a value of the right type that is wrong, a ``ValueError`` is what a
        Python user expects (SPEC, errors)."""
        return NodeValueError(self.code, self.template % values if values else self.template)

    def __repr__(self) -> str:
        return "E(%r, %r, %s)" % (self.code, self.template, self.base.__name__)


def E(code: str, template: str, base: type[NodeError] = NodeError) -> ErrorKind:  # noqa: N802 - Node's name
    """Add a kind of error to the catalogue: its code, its message (a %-template), its class."""
    return ErrorKind(code, template, base)


class ProxyProtocolError(NodeError):
    """A missing, incomplete, oversized or malformed PROXY protocol header (``ERR_PROXY_PROTOCOL``)."""

    code = "ERR_PROXY_PROTOCOL"


# The catalogue: every Node error code the library raises or emits, with Node's
# message.  A code is written here once; the rest of the library calls these.
ERR_INVALID_ARG_TYPE = E("ERR_INVALID_ARG_TYPE", 'The "%s" %s must be %s. %s', NodeTypeError)
# (kind: 'argument' or 'property', name, what is wrong, the value); ERR_OUT_OF_RANGE's
# value comes as text (repr(), or JavaScript's number formatting in validators.py).
ERR_INVALID_ARG_VALUE = E("ERR_INVALID_ARG_VALUE", "The %s '%s' %s. Received %r", NodeTypeError)
# on(event, an async def function): it would never run (gevent runs no coroutines).
ERR_ASYNC_LISTENER = E(
    "ERR_INVALID_ARG_TYPE",
    'The "listener" argument must be a plain function: %s (for %r) is an async def function, which gevent '
    "would never run -- a handler here may block cooperatively instead",
    NodeTypeError,
)
ERR_ILLEGAL_CONSTRUCTOR = E("ERR_ILLEGAL_CONSTRUCTOR", "Illegal constructor", NodeTypeError)
ERR_INVALID_ADDRESS = E("ERR_INVALID_ADDRESS", "Invalid socket address", NodeValueError)
# A lookup answered a family that is neither 4 nor 6: (family, host, port); see invalid_address_family().
ERR_INVALID_ADDRESS_FAMILY = E("ERR_INVALID_ADDRESS_FAMILY", "Invalid address family: %s %s:%s", NodeValueError)
ERR_INVALID_FD_TYPE = E("ERR_INVALID_FD_TYPE", "Unsupported fd type: %s", NodeTypeError)
ERR_INVALID_HANDLE_TYPE = E("ERR_INVALID_HANDLE_TYPE", "This handle type cannot be sent", NodeTypeError)
ERR_INVALID_IP_ADDRESS = E("ERR_INVALID_IP_ADDRESS", "Invalid IP address: %s", NodeValueError)
ERR_INVALID_STATE = E("ERR_INVALID_STATE", "Invalid state: %s")
ERR_IP_BLOCKED = E("ERR_IP_BLOCKED", "IP(%s) is blocked by net.BlockList")
ERR_MISSING_ARGS = E("ERR_MISSING_ARGS", "The %s argument must be specified", NodeTypeError)
ERR_OUT_OF_RANGE = E(
    "ERR_OUT_OF_RANGE", 'The value of "%s" is out of range. It must be %s. Received %s', NodeValueError
)
# Node has no PROXY protocol and so no code for it: the name follows Node's ERR_<SUBJECT> pattern.
ERR_PROXY_PROTOCOL = E("ERR_PROXY_PROTOCOL", "%s", ProxyProtocolError)
ERR_SERVER_ALREADY_LISTEN = E(
    "ERR_SERVER_ALREADY_LISTEN", "Listen method has been called more than once without closing."
)
ERR_SERVER_NOT_RUNNING = E("ERR_SERVER_NOT_RUNNING", "Server is not running.")
ERR_SOCKET_BAD_PORT = E("ERR_SOCKET_BAD_PORT", "%s should be >= %d and < 65536. %s.", NodeValueError)
ERR_SOCKET_CLOSED = E("ERR_SOCKET_CLOSED", "Socket is closed")
ERR_SOCKET_CLOSED_BEFORE_CONNECTION = E(
    "ERR_SOCKET_CLOSED_BEFORE_CONNECTION", "Socket closed before the connection was established"
)
ERR_SOCKET_CONNECTED = E("ERR_SOCKET_CONNECTED", "Socket is already connected or connecting")
ERR_STREAM_DESTROYED = E("ERR_STREAM_DESTROYED", "Cannot call %s after a stream was destroyed")
ERR_STREAM_PREMATURE_CLOSE = E("ERR_STREAM_PREMATURE_CLOSE", "Premature close")
ERR_STREAM_UNSHIFT_AFTER_END_EVENT = E("ERR_STREAM_UNSHIFT_AFTER_END_EVENT", "stream.unshift() after end event")
ERR_STREAM_NULL_VALUES = E("ERR_STREAM_NULL_VALUES", "May not write null values to stream", NodeTypeError)
ERR_STREAM_WRITE_AFTER_END = E("ERR_STREAM_WRITE_AFTER_END", "write after end")
# write(str, 'buffer'): Node's ERR_INVALID_ARG_TYPE with the stream base's own message.
ERR_STR_AS_BUFFER = E("ERR_INVALID_ARG_TYPE", "Second argument must be a buffer", NodeTypeError)
ERR_UNKNOWN_ENCODING = E("ERR_UNKNOWN_ENCODING", "Unknown encoding: %s", NodeValueError)

# tls (nodenet_gevent/tls/): Node's codes and messages.
ERR_TLS_CERT_ALTNAME_INVALID = E(
    "ERR_TLS_CERT_ALTNAME_INVALID", "Hostname/IP does not match certificate's altnames: %s"
)
ERR_TLS_HANDSHAKE_TIMEOUT = E("ERR_TLS_HANDSHAKE_TIMEOUT", "TLS handshake timeout")
ERR_TLS_INVALID_PROTOCOL_VERSION = E(
    "ERR_TLS_INVALID_PROTOCOL_VERSION", "%s is not a valid %s TLS protocol version", NodeTypeError
)
ERR_TLS_INVALID_PROTOCOL_METHOD = E("ERR_TLS_INVALID_PROTOCOL_METHOD", "%s", NodeTypeError)
ERR_TLS_PROTOCOL_VERSION_CONFLICT = E(
    "ERR_TLS_PROTOCOL_VERSION_CONFLICT", 'TLS protocol version "%s" conflicts with secureProtocol "%s"', NodeTypeError
)
ERR_TLS_REQUIRED_SERVER_NAME = E(
    "ERR_TLS_REQUIRED_SERVER_NAME", '"servername" is required parameter for Server.addContext'
)
ERR_TLS_SNI_FROM_SERVER = E("ERR_TLS_SNI_FROM_SERVER", "Cannot issue SNI from a TLS server-side socket")



def invalid_address_family(family: object, host: object, port: object) -> NodeError:
    """Node's ``ERR_INVALID_ADDRESS_FAMILY``, with the ``host`` and ``port`` attributes Node gives it."""
    error = ERR_INVALID_ADDRESS_FAMILY("undefined" if family is None else family, host, port)
    error.host = host  # type: ignore[attr-defined]
    error.port = port  # type: ignore[attr-defined]
    return error


def describe(value: object) -> str:
    """Node's ``Received ...`` suffix, in Python terms."""
    if value is None:
        return "Received None"
    if callable(value) and not isinstance(value, type):
        return "Received function %s" % getattr(value, "__name__", "<anonymous>")
    text = repr(value)
    if len(text) > 28:
        text = text[:25] + "..."
    return "Received type %s (%s)" % (_JS_TYPES.get(type(value), type(value).__name__), text)


# JavaScript's ``typeof`` for the values that have one, so that the messages
# read as Node's do ("Received type number (70000)").
_JS_TYPES: dict[type, str] = {bool: "boolean", int: "number", float: "number", str: "string"}


def invalid_arg_type(name: str, expected: str, value: object) -> NodeTypeError:
    kind = "argument" if "." not in name else "property"
    return cast(NodeTypeError, ERR_INVALID_ARG_TYPE(name, kind, expected, describe(value)))


# Errnos whose message in Node carries libuv's description after the code
# (``listen EADDRINUSE: address already in use :::8124``).  Node builds those
# with uvExceptionWithHostPort; connect/read/write errors use the short form.
_LONG_FORM_SYSCALLS = frozenset(["listen", "bind"])

# libuv's descriptions where they differ from strerror()'s capitalisation.
_UV_DESCRIPTIONS = {
    _errno.EADDRINUSE: "address already in use",
    _errno.EADDRNOTAVAIL: "address not available",
    _errno.EACCES: "permission denied",
    _errno.EINVAL: "invalid argument",
    _errno.ENOENT: "no such file or directory",
}

_node_flavours: dict[type[OSError], type[_NodeOSError]] = {}


def _node_flavour(cls: type[OSError]) -> type[_NodeOSError]:
    """A subclass of the builtin ``OSError`` class *cls* whose ``str()`` is Node's message."""
    flavour = _node_flavours.get(cls)
    if flavour is None:
        flavour = type(
            cls.__name__,
            (cls,),
            {
                "__module__": __name__,
                "__str__": lambda self: self.message,
                "__repr__": lambda self: "%s(%r)" % (cls.__name__, self.message),
                "__reduce__": lambda self: (os_error, (self.errno, self.syscall, self.address, self.port)),
            },
        )
        _node_flavours[cls] = flavour
    return flavour


def error_code(errnum: int) -> str:
    """``errno.ECONNREFUSED`` -> ``'ECONNREFUSED'`` (Node's ``code``)."""
    return _errno.errorcode.get(errnum, "UNKNOWN")


def os_error(err: OSError | int, syscall: str, address: object = None, port: object = None) -> _NodeOSError:
    """Turn an ``OSError`` (or a bare errno) into the Node-shaped ``OSError``.

    The result is an instance of the builtin subclass for the errno
    (``OSError(ECONNREFUSED, ...)`` is a ``ConnectionRefusedError``), with
    ``code``, ``errno``, ``syscall``, ``address``, ``port`` and ``message``.
    An error that already has Node's shape is returned as it is.
    """
    if isinstance(err, OSError) and getattr(err, "syscall", None) is not None:
        return cast("_NodeOSError", err)
    errnum: int | None
    if isinstance(err, int):
        errnum = err
    else:
        errnum = err.errno
        if errnum is None:  # e.g. gevent's cancel_wait_ex, or a bare OSError("...")
            errnum = _errno.EBADF if "closed" in str(err) else _errno.EIO
    code = error_code(errnum)
    message = "%s %s" % (syscall, code)
    if syscall in _LONG_FORM_SYSCALLS:
        message += ": " + _UV_DESCRIPTIONS.get(errnum, os.strerror(errnum).lower())
    if address is not None:
        message += " " + str(address)
        if port:  # Node leaves out a port 0
            message += ":%s" % port
    base = type(OSError(errnum, ""))
    result = _node_flavour(base)(errnum, os.strerror(errnum))
    result.code = code
    result.syscall = syscall
    result.address = address
    result.port = port
    result.message = message
    if isinstance(err, BaseException):
        result.__cause__ = err
    return result


class AggregateError(OSError):
    """Every connection attempt failed (Happy Eyeballs): Node's ``AggregateError``.

    ``errors`` holds each attempt's error in order; ``code``, ``errno`` and
    ``syscall`` are the first one's, as Node's ``code`` is (so ``except
    ConnectionRefusedError`` does not match it, but ``except OSError`` does).
    Node's message is empty; ours lists the attempts.
    """

    errors: list[BaseException]
    code: str
    syscall: str | None
    name = "AggregateError"

    def __init__(self, errors: list[BaseException]) -> None:
        first = errors[0]
        super().__init__(getattr(first, "errno", None), "All connection attempts failed")
        self.errors = list(errors)
        self.code = getattr(first, "code", "UNKNOWN")
        self.syscall = getattr(first, "syscall", None)
        self.message = "All connection attempts failed: " + ", ".join(str(error) for error in errors)
        self.__cause__ = errors[-1]

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errors,))


class _NodeGaiError(socket.gaierror):
    code: str
    syscall: str
    hostname: object
    address: None
    port: None
    message: str

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return "gaierror(%r)" % self.message


# getaddrinfo's EAI_* answers, in the names Node gives them.
_GAI_CODES: dict[int | None, str] = {
    getattr(socket, "EAI_NONAME", -2): "ENOTFOUND",
    getattr(socket, "EAI_NODATA", -5): "ENOTFOUND",
    getattr(socket, "EAI_AGAIN", -3): "EAI_AGAIN",
    getattr(socket, "EAI_FAIL", -4): "EAI_FAIL",
    getattr(socket, "EAI_FAMILY", -6): "EAI_FAMILY",
    getattr(socket, "EAI_SERVICE", -8): "EAI_SERVICE",
}


def lookup_error(err: object, hostname: object) -> socket.gaierror:
    """A failed name lookup as Node reports it: ``getaddrinfo ENOTFOUND host``."""
    errnum = err.errno if isinstance(err, OSError) else None
    code = _GAI_CODES.get(errnum, "ENOTFOUND")
    result = _NodeGaiError(errnum, err.strerror if isinstance(err, OSError) and err.strerror else code)
    result.code = code
    result.syscall = "getaddrinfo"
    result.hostname = hostname
    result.address = None
    result.port = None
    result.message = "getaddrinfo %s %s" % (code, hostname)
    if isinstance(err, BaseException):
        result.__cause__ = err
    return result


class TLSError(NodeError):
    """A TLS failure with Node's ``code``: a certificate check, an OpenSSL error, a handshake cut short.

    Node's ``library``/``reason`` (for OpenSSL's errors) and ``host``/``port``/``cert``
    (where Node sets them) are attributes when known.
    """


# OpenSSL's errors for options stdlib ssl reports too vaguely ("PEM lib", "No cipher can be
# selected"): named as Node's OpenSSL names them.
ERR_OSSL_PEM_NO_START_LINE = E("ERR_OSSL_PEM_NO_START_LINE", "error:0480006C:PEM routines::no start line", TLSError)
ERR_OSSL_UNSUPPORTED = E("ERR_OSSL_UNSUPPORTED", "error:1E08010C:DECODER routines::unsupported", TLSError)
ERR_SSL_NO_CIPHER_MATCH = E("ERR_SSL_NO_CIPHER_MATCH", "no cipher match: %r", TLSError)
# An encrypted key with a wrong passphrase, or none (stdlib ssl says "PEM lib" for both).
ERR_OSSL_BAD_DECRYPT = E("ERR_OSSL_BAD_DECRYPT", "error:1C800064:Provider routines::bad decrypt", TLSError)


#: OpenSSL's X509_V_ERR_* numbers -> Node's code for a certificate that failed verification
#: (Node's X509ErrorCode table); the message is OpenSSL's, as Node's is.
X509_ERROR_CODES = {
    2: "UNABLE_TO_GET_ISSUER_CERT",
    3: "UNABLE_TO_GET_CRL",
    4: "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
    5: "UNABLE_TO_DECRYPT_CRL_SIGNATURE",
    6: "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
    7: "CERT_SIGNATURE_FAILURE",
    8: "CRL_SIGNATURE_FAILURE",
    9: "CERT_NOT_YET_VALID",
    10: "CERT_HAS_EXPIRED",
    11: "CRL_NOT_YET_VALID",
    12: "CRL_HAS_EXPIRED",
    13: "ERROR_IN_CERT_NOT_BEFORE_FIELD",
    14: "ERROR_IN_CERT_NOT_AFTER_FIELD",
    15: "ERROR_IN_CRL_LAST_UPDATE_FIELD",
    16: "ERROR_IN_CRL_NEXT_UPDATE_FIELD",
    17: "OUT_OF_MEM",
    18: "DEPTH_ZERO_SELF_SIGNED_CERT",
    19: "SELF_SIGNED_CERT_IN_CHAIN",
    20: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    21: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    22: "CERT_CHAIN_TOO_LONG",
    23: "CERT_REVOKED",
    24: "INVALID_CA",
    25: "PATH_LENGTH_EXCEEDED",
    26: "INVALID_PURPOSE",
    27: "CERT_UNTRUSTED",
    28: "CERT_REJECTED",
    62: "HOSTNAME_MISMATCH",
}


def certificate_error(verify_code: int, message: str) -> TLSError:
    """A certificate that failed OpenSSL's verification: Node's code for *verify_code*, OpenSSL's message."""
    return TLSError(X509_ERROR_CODES.get(verify_code, "UNSPECIFIED"), message)


def openssl_error(error: BaseException) -> TLSError:
    """An ``ssl.SSLError`` as Node shows OpenSSL's errors: ``ERR_SSL_<REASON>`` for the SSL library's,
    ``ERR_OSSL_<LIB>_<REASON>`` for the others' (PEM, X509, ...); ``library`` and ``reason`` as Node's."""
    library = getattr(error, "library", None) or ""
    reason = getattr(error, "reason", None) or ""
    if reason and library == "SSL":
        code = "ERR_SSL_" + reason
    elif reason:
        code = "ERR_OSSL_%s_%s" % (library, reason) if library else "ERR_OSSL_" + reason
    else:
        code = "ERR_SSL_UNKNOWN"
    text = reason.replace("_", " ").lower()
    # Node's message is OpenSSL's error string, "error:0A00010B:SSL routines::wrong version number";
    # stdlib ssl does not give the packed number, the rest is the same.
    message = "error:%s routines::%s" % (library, text) if reason else str(getattr(error, "strerror", None) or error)
    result = TLSError(code, message)
    result.library = "%s routines" % library if library else None  # type: ignore[attr-defined]
    result.reason = text  # type: ignore[attr-defined]
    result.__cause__ = error
    return result


def tls_disconnected(server_side: bool, host: object = None, port: object = None, path: object = None,
                     local_address: object = None) -> _NodeOSError:
    """The peer went away mid-handshake: Node's ECONNRESET, with the client's or the server's message.

    A client's names what its ``tls.connect()`` was given (``path``, ``host``, ``port``,
    ``localAddress``; None each when not given, so none over a given socket), as Node's does.
    """
    error = os_error(_errno.ECONNRESET, "read")
    error.message = (
        "socket hang up" if server_side
        else "Client network socket disconnected before secure TLS connection was established"
    )
    error.host = host  # type: ignore[attr-defined]
    error.port = port
    if not server_side:
        error.path = path  # type: ignore[attr-defined]
        error.localAddress = local_address  # type: ignore[attr-defined]
    return error
