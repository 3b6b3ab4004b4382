"""Argument normalization: every ``listen``/``connect`` call form, one pure function.

Node accepts ``connect(port, host, cb)``, ``connect(path, cb)``,
``connect(options, cb)`` and the same shapes for ``listen`` (plus a backlog).
Python adds keyword arguments and snake_case option names.  Everything goes
through :func:`normalize_args`, which returns ``(options, callback)`` with the
option keys in Node's camelCase spelling, so the rest of the library sees one
shape.  Validation of the values (ports, hosts, ...) lives here as well, so
the error codes and messages are decided in one place.  ``connect()``'s
target is read here (:func:`connect_target`); ``listen()``'s, with the
backlog and the handle forms, in ``listen_args.py``, with these validators.
"""

from __future__ import annotations

import math
import numbers
import re
import socket as _stdlib_socket
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Union

from .errors import (
    ERR_INVALID_ARG_VALUE,
    ERR_INVALID_IP_ADDRESS,
    ERR_MISSING_ARGS,
    ERR_OUT_OF_RANGE,
    ERR_SOCKET_BAD_PORT,
    NodeTypeError,
    describe,
    invalid_arg_type,
)
from .ip import is_ip

# The numbers accepted are any ``numbers.Real`` (``numbers.Integral`` where an
# integer is required): int, float, Fraction, numpy's scalars...  The type checker
# knows them as PEP 484's float and int (typeshed's numbers.Real is not a float).
if TYPE_CHECKING:
    _Real = float
    _Integral = int
else:
    _Real = numbers.Real
    _Integral = numbers.Integral

__all__ = [
    "normalize_args",
    "canonical_options",
    "option",
    "is_pipe_name",
    "validate_unix_path",
    "to_port",
    "validate_port",
    "validate_msecs",
    "validate_int",
    "refuse_object_mode",
    "SOCKET_OPTIONS",
    "CONNECT_OPTIONS",
    "SERVER_OPTIONS",
    "LISTEN_OPTIONS",
    "refuse_unknown",
    "onread_option",
    "TcpTarget",
    "PathTarget",
    "ConnectTarget",
    "connect_target",
    "attempt_timeout_ms",
    "invalid_options",
    "missing_port_or_path",
]

# snake_case spelling -> Node's spelling.  Keys not listed are kept as given.
_CAMEL = {
    "allow_half_open": "allowHalfOpen",
    "pause_on_connect": "pauseOnConnect",
    "local_address": "localAddress",
    "local_port": "localPort",
    "ipv6_only": "ipv6Only",
    "reuse_port": "reusePort",
    "high_water_mark": "highWaterMark",
    "keep_alive": "keepAlive",
    "keep_alive_initial_delay": "keepAliveInitialDelay",
    "no_delay": "noDelay",
    "max_connections": "maxConnections",
    "auto_select_family": "autoSelectFamily",
    "auto_select_family_attempt_timeout": "autoSelectFamilyAttemptTimeout",
    "block_list": "blockList",
    "default_encoding": "defaultEncoding",
    "readable_all": "readableAll",
    "writable_all": "writableAll",
    "object_mode": "objectMode",
    "readable_object_mode": "readableObjectMode",
    "writable_object_mode": "writableObjectMode",
    "proxy_protocol": "proxyProtocol",
    "proxy_protocol_timeout": "proxyProtocolTimeout",
}


def canonical_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of *options* with snake_case keys renamed to Node's camelCase."""
    return {_CAMEL.get(key, key): value for key, value in options.items()}


def option(options: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """``options[name]`` treating ``None`` like JavaScript's ``undefined``."""
    value = options.get(name)
    return default if value is None else value


# JavaScript's ``Number(string)`` grammar, after trimming: ASCII decimals with
# optional sign, fraction and exponent, ``Infinity``, or unsigned 0x/0o/0b
# integers.  (Python's ``int()``/``float()`` also take ``1_000``, ``inf`` and
# non-ASCII digits, which Node reads as NaN: those are pipe names there.)
_JS_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Infinity")
_JS_PREFIXED = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")


def _as_number(value: object) -> float | None:
    """Node's ``Number(value)`` for ports: an int or float, or ``None`` for NaN/non-numbers.

    As in JavaScript, a blank string is ``0`` (``to_port`` refuses it anyway).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, _Real):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0
        if _JS_PREFIXED.fullmatch(text):
            return int(text, 0)
        if _JS_DECIMAL.fullmatch(text):
            number = float(text)
            return int(number) if number.is_integer() else number
    return None


def is_pipe_name(value: object) -> bool:
    """A string that is not a number names a Unix socket (Node's ``isPipeName``)."""
    return isinstance(value, str) and _as_number(value) is None


def validate_unix_path(path: str | bytes) -> str | bytes:
    """A Unix socket path with a NUL after its first byte is refused.

    The kernel would cut it at the NUL (Node lets that happen silently) and the
    file created would not be the one asked for.  A leading NUL is Linux's
    abstract namespace and is fine.
    """
    nul: Any = "\0" if isinstance(path, str) else b"\0"  # the NUL of path's type
    if nul in path[1:]:
        raise ERR_INVALID_ARG_VALUE.value_error("argument", "path", "must be a string without null bytes", path)
    return path


def _is_options(value: object) -> bool:
    return isinstance(value, dict)


def normalize_args(
    args: Iterable[Any], kwargs: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], Callable[..., object] | None]:
    """``(args, kwargs)`` of a ``listen``/``connect`` call -> ``(options, callback)``.

    * ``()`` -> ``({}, None)``
    * ``(options_dict, ...)`` -> a copy of the dict, keys in camelCase
    * ``(path, ...)`` where *path* is a non-numeric string -> ``{'path': path}``
    * ``(port, host?, ...)`` -> ``{'port': port, 'host': host}``; *host* is taken
      only when it is a string (so ``listen(port, backlog)`` works)
    * any trailing callable is the callback
    * keyword arguments are merged over the options (``port=8124``), and a
      ``callback=`` keyword is accepted as the callback.
    """
    kwargs = dict(kwargs or {})
    callback = kwargs.pop("callback", None)
    if callback is None:
        for name in ("connect_listener", "connectListener", "listening_listener"):
            if name in kwargs:
                callback = kwargs.pop(name)
    args = list(args)
    if args and callable(args[-1]) and not _is_handle_like(args[-1]):
        if callback is None:
            callback = args[-1]
        args.pop()
    options: dict[str, Any] = {}
    if args:
        first = args[0]
        if _is_options(first):
            options = dict(first)
        elif is_pipe_name(first):
            options["path"] = first
        else:
            options["port"] = first
            if len(args) > 1 and isinstance(args[1], str):
                options["host"] = args[1]
    options.update(kwargs)
    if callback is not None and not callable(callback):
        raise invalid_arg_type("callback", "of type function", callback)
    return canonical_options(options), callback


def _is_handle_like(value: object) -> bool:
    """Servers and Sockets are callable-free, but guard anything with fileno()."""
    return hasattr(value, "fileno") and not hasattr(value, "__code__")


def to_port(value: object, name: str = "options.port", allow_zero: bool = True) -> int:
    """Validate a port (number or numeric string) and return it as an ``int``.

    Raises ``ERR_SOCKET_BAD_PORT`` (a ``ValueError``) with Node's message.
    """
    number = _as_number(value)
    if not (
        number is not None
        and not (isinstance(value, str) and not value.strip())
        and not (isinstance(number, float) and (math.isinf(number) or not number.is_integer()))
        and 0 <= number <= 65535
        and (allow_zero or number != 0)
    ):
        raise ERR_SOCKET_BAD_PORT(name, 0 if allow_zero else 1, describe(value))
    return int(number)


def validate_port(value: object, name: str = "Port") -> int:
    """A connect port: must be a number or a string (else ERR_INVALID_ARG_TYPE)."""
    if isinstance(value, bool) or not isinstance(value, (_Real, str)):
        raise invalid_arg_type("options.port", "one of type number or string", value)
    return to_port(value, name)


def validate_msecs(value: object, name: str = "msecs") -> float:
    """``setTimeout``'s milliseconds: a non-negative finite number."""
    if isinstance(value, bool) or not isinstance(value, _Real):
        raise invalid_arg_type(name, "of type number", value)
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ERR_OUT_OF_RANGE(name, "a non-negative finite number", repr(value))
    return value


def validate_int(value: object, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, _Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise invalid_arg_type(name, "of type int", value)
    if value < minimum:
        raise ERR_OUT_OF_RANGE(name, ">= %d" % minimum, repr(value))
    return int(value)


def invalid_options(options: object) -> NodeTypeError:
    return ERR_INVALID_ARG_VALUE("argument", "options", "is invalid", options)  # type: ignore[return-value]


def missing_port_or_path(options: object) -> NodeTypeError:
    """``listen(options)`` with neither a port nor a path (nor a usable handle)."""
    return ERR_INVALID_ARG_VALUE(  # type: ignore[return-value]
        "argument", "options", 'must have the property "port" or "path"', options
    )


# ---------------------------------------------------------------------------
# Socket construction and connect()

#: The options of ``net.connect()`` that belong to the new Socket rather than to its connect().
SOCKET_OPTIONS = (
    "allowHalfOpen", "highWaterMark", "objectMode", "readableObjectMode", "writableObjectMode",
    "noDelay", "keepAlive", "keepAliveInitialDelay", "fd", "readable", "writable",
    "signal", "onread", "blockList", "encoding", "defaultEncoding", "socket",
)

#: The options of ``connect()`` itself.  ``address`` is there because ``connect(server.address())``
#: is a Node idiom (Node's own tests use it): as in Node it is not read -- ``host`` is.
CONNECT_OPTIONS = (
    "port", "host", "path", "localAddress", "localPort", "family", "hints", "lookup",
    "autoSelectFamily", "autoSelectFamilyAttemptTimeout", "timeout", "allowHalfOpen",
    "noDelay", "keepAlive", "keepAliveInitialDelay", "address",
)

#: ``net.createServer()``'s options.
SERVER_OPTIONS = (
    "allowHalfOpen", "pauseOnConnect", "highWaterMark", "noDelay", "keepAlive", "keepAliveInitialDelay",
    "blockList", "maxConnections", "proxyProtocol", "proxyProtocolTimeout",
)

#: ``server.listen(options)``'s options (``handle``/``_handle``/``fd``: a descriptor to listen on).
LISTEN_OPTIONS = (
    "port", "host", "path", "backlog", "exclusive", "ipv6Only", "reusePort", "readableAll", "writableAll",
    "signal", "handle", "_handle", "fd",
)

# Options Node has that this library refuses rather than ignore: what they would do is not done.
_NOT_IMPLEMENTED = {
    "handle": "a libuv handle (use 'fd' for a descriptor)",
    "readableHighWaterMark": "a separate read mark (use 'highWaterMark')",
    "writableHighWaterMark": "a separate write mark (use 'highWaterMark')",
    "emitClose": "a socket always emits 'close'",
    "autoDestroy": "a socket is always destroyed at the end",
    "decodeStrings": "written str is always encoded to bytes",
}


def refuse_unknown(options: Mapping[str, Any], known: Iterable[str], what: str) -> None:
    """Unknown (or unimplemented) option names raise ``ERR_INVALID_ARG_VALUE``: never silently dropped.

    Node ignores names it does not know; here a misspelt ``allowHalfopen``
    would run and do something else, so it is refused with the name.
    """
    allowed = set(known)
    for key in options:
        if key not in allowed:
            reason = _NOT_IMPLEMENTED.get(key)
            raise ERR_INVALID_ARG_VALUE(
                "property", "options.%s" % key,
                ("is not supported by %s: %s" % (what, reason)) if reason else "is not an option of %s" % what,
                options[key],
            )


def refuse_object_mode(options: Mapping[str, Any]) -> None:
    """A socket moves bytes: Node refuses object mode for ``net.Socket``, and so do we."""
    for mode in ("objectMode", "readableObjectMode", "writableObjectMode"):
        if options.get(mode):
            raise ERR_INVALID_ARG_VALUE("property", "options.%s" % mode, "is not supported", options[mode])


def onread_option(value: object) -> tuple[Any, Callable[[int, Any], object]]:
    """``onread``: ``{'buffer': a writable buffer or a function returning one, 'callback': fn(nread, buf)}``."""
    if not isinstance(value, Mapping):
        raise invalid_arg_type("options.onread", "of type object", value)
    buffer, callback = value.get("buffer"), value.get("callback")
    if not callable(buffer):
        try:
            view = memoryview(buffer)  # type: ignore[arg-type]
        except TypeError:
            view = None
        if view is None or view.readonly or not view.nbytes:
            raise invalid_arg_type(
                "options.onread.buffer", "a writable bytearray, memoryview or a function returning one", buffer
            )
    if not callable(callback):
        raise invalid_arg_type("options.onread.callback", "of type function", callback)
    return buffer, callback


class TcpTarget(NamedTuple):
    """Where a TCP connect() goes, and how it gets there.

    A host (name or IP) and port, from an optional local address; the name
    looked up by the user's ``lookup`` (else gevent's resolver) with ``hints``;
    with several addresses and ``auto_select_family``, Happy Eyeballs tries
    them in turn, each for ``attempt_timeout`` ms (``connecting.py``).
    """

    host: str
    port: int
    family: int  # AF_UNSPEC, AF_INET or AF_INET6: what the lookup may answer
    local_address: str | None
    local_port: int | None
    lookup: Callable[..., object] | None = None
    hints: int = 0
    auto_select_family: bool | None = None  # None: net.getDefaultAutoSelectFamily()
    attempt_timeout: int | None = None  # ms; None: net.getDefaultAutoSelectFamilyAttemptTimeout()
    family_given: bool = False  # options.family was there (0 included): the lookup is told it


class PathTarget(NamedTuple):
    """Where a Unix-socket connect() goes."""

    path: str | bytes


ConnectTarget = Union[TcpTarget, PathTarget]

_FAMILIES = {0: _stdlib_socket.AF_UNSPEC, 4: _stdlib_socket.AF_INET, 6: _stdlib_socket.AF_INET6}


def connect_target(options: Mapping[str, Any]) -> ConnectTarget:
    """The validated target of ``connect(options)``; raises Node's argument errors."""
    path = options.get("path")
    if path is not None:
        if not isinstance(path, (str, bytes)):
            raise invalid_arg_type("options.path", "of type string", path)
        return PathTarget(validate_unix_path(path))
    if options.get("port") is None:
        raise ERR_MISSING_ARGS('"options" or "port" or "path"')
    port = validate_port(options["port"])
    host = options.get("host")
    if host is not None and not isinstance(host, str):
        raise invalid_arg_type("hostname", "of type string", host)
    family_given = options.get("family") is not None
    family = options.get("family") or 0
    if family == "IPv4" or family == "IPv6":  # as address() reports it
        family = int(family[3])
    if isinstance(family, bool) or family not in (0, 4, 6):  # (a tuple: any value may be unhashable)
        raise ERR_INVALID_ARG_VALUE.value_error("argument", "family", "must be one of: 0, 4, 6", family)
    local_address = options.get("localAddress")
    if local_address is not None and not is_ip(local_address):
        raise ERR_INVALID_IP_ADDRESS(local_address)  # Node: TypeError; a bad value is a ValueError here (SPEC 6)
    local_port = options.get("localPort")
    if local_port is not None:
        if isinstance(local_port, bool) or not isinstance(local_port, (int, float)):
            raise invalid_arg_type("options.localPort", "of type number", local_port)
        local_port = to_port(local_port, "options.localPort")
    lookup = options.get("lookup")
    if lookup is not None and not callable(lookup):
        raise invalid_arg_type("options.lookup", "of type function", lookup)
    hints = options.get("hints")
    if hints is None:
        hints = 0
    elif isinstance(hints, bool) or not isinstance(hints, _Integral):
        raise invalid_arg_type("options.hints", "of type number", hints)
    elif hints & ~_VALID_HINTS and lookup is None:  # the user's own lookup is given them as they are (Node)
        raise ERR_INVALID_ARG_VALUE.value_error("property", "options.hints", "is invalid", hints)
    auto_select = options.get("autoSelectFamily")
    if auto_select is not None and not isinstance(auto_select, bool):
        raise invalid_arg_type("options.autoSelectFamily", "of type boolean", auto_select)
    attempt_timeout = options.get("autoSelectFamilyAttemptTimeout")
    if attempt_timeout is not None:
        attempt_timeout = attempt_timeout_ms(attempt_timeout, "options.autoSelectFamilyAttemptTimeout")
    return TcpTarget(
        host or "localhost", port, _FAMILIES[family], local_address, local_port,
        lookup, int(hints), auto_select, attempt_timeout, family_given,
    )


# getaddrinfo flags a lookup may be given (Node's dns.ADDRCONFIG | V4MAPPED | ALL).
_VALID_HINTS = _stdlib_socket.AI_ADDRCONFIG | _stdlib_socket.AI_V4MAPPED | getattr(_stdlib_socket, "AI_ALL", 0x10)
_INT32_MAX = 2**31 - 1


def attempt_timeout_ms(value: object, name: str = "value") -> int:
    """Happy Eyeballs' attempt timeout: an int32 >= 1 (ms), raised to Node's minimum of 10."""
    if isinstance(value, bool) or not isinstance(value, _Real):
        raise invalid_arg_type(name, "of type number", value)
    if value != value or (isinstance(value, float) and (math.isinf(value) or not value.is_integer())):
        raise ERR_OUT_OF_RANGE(name, "an integer", "NaN" if value != value else repr(value))
    if not 1 <= value <= _INT32_MAX:
        raise ERR_OUT_OF_RANGE(name, ">= 1 && <= %d" % _INT32_MAX, repr(int(value)))
    return max(int(value), 10)
