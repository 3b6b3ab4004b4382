"""Argument normalization: every ``listen``/``connect`` call form, one pure function.

Node accepts ``connect(port, host, cb)``, ``connect(path, cb)``,
``connect(options, cb)`` and the same shapes for ``listen`` (plus a backlog).
Python adds keyword arguments and snake_case option names.  Everything goes
through :func:`normalize_args`, which returns ``(options, callback)`` with the
option keys in Node's camelCase spelling, so the rest of the library sees one
shape.  Validation of the values (ports, hosts, ...) lives here as well, so
the error codes and messages are decided in one place.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Callable

from .errors import NodeTypeError, NodeValueError, describe, invalid_arg_type

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
    "is_pipe_name",
    "to_port",
    "validate_port",
    "validate_msecs",
    "option",
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
        raise NodeValueError(
            "ERR_INVALID_ARG_VALUE",
            "The argument 'path' must be a string without null bytes. Received %r" % (path,),
        )
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
        raise NodeValueError(
            "ERR_SOCKET_BAD_PORT",
            "%s should be >= %d and < 65536. %s." % (name, 0 if allow_zero else 1, describe(value)),
        )
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
        raise NodeValueError(
            "ERR_OUT_OF_RANGE",
            'The value of "%s" is out of range. It must be a non-negative finite number. Received %r'
            % (name, value),
        )
    return value


def validate_host(value: object, name: str = "options.host") -> str | None:
    if value is not None and not isinstance(value, str):
        raise invalid_arg_type(name, "of type string", value)
    return value


def validate_bool(value: object, name: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise invalid_arg_type(name, "of type boolean", value)
    return value


def validate_int(value: object, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, _Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise invalid_arg_type(name, "of type int", value)
    if value < minimum:
        raise NodeValueError(
            "ERR_OUT_OF_RANGE",
            'The value of "%s" is out of range. It must be >= %d. Received %r' % (name, minimum, value),
        )
    return int(value)


def invalid_options(options: object) -> NodeTypeError:
    return NodeTypeError(
        "ERR_INVALID_ARG_VALUE", "The argument 'options' is invalid. Received %r" % (options,)
    )


def missing_port_or_path(options: object) -> NodeTypeError:
    """``listen(options)`` with neither a port nor a path (nor a usable handle)."""
    return NodeTypeError(
        "ERR_INVALID_ARG_VALUE",
        "The argument 'options' must have the property \"port\" or \"path\". Received %r" % (options,),
    )
