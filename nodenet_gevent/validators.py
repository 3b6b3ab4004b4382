"""Node's ``internal/validators`` for the modern classes (BlockList, SocketAddress, AbortSignal).

Each function raises the error Node's validator of the same name raises, with
its ``code`` and message: ``validateString`` -> :func:`validate_string`,
``validateInt32``/``validateUint32`` -> :func:`validate_integer`.  Node's
``TypeError`` is Python's ``TypeError`` and its ``RangeError`` Python's
``ValueError`` (see :mod:`nodenet_gevent.errors`).

A JavaScript number is any ``numbers.Real`` except ``bool`` (``true`` is not a
number in JavaScript); an integral float (``16.0``) is an integer, since
JavaScript cannot tell ``16.0`` from ``16``.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

from .errors import ERR_OUT_OF_RANGE, NodeValueError, invalid_arg_type

if TYPE_CHECKING:
    _Real = float  # typeshed's numbers.Real is not a float for the type checker
else:
    _Real = numbers.Real

__all__ = ["js_number", "out_of_range", "validate_string", "validate_integer", "is_number"]

UINT32_MAX = 4294967295


def is_number(value: object) -> bool:
    """``typeof value === 'number'``, in Python terms."""
    return isinstance(value, _Real) and not isinstance(value, bool)


def js_number(value: float) -> str:
    """JavaScript's ``String(value)`` for a number (``1e-7``, ``1e+21``, ``NaN``)."""
    if isinstance(value, int):
        return str(value)
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    # Python's repr has the same shortest digits as JavaScript, but switches to
    # exponent form at other thresholds (1e16 / 1e-5 instead of 1e21 / 1e-7).
    mantissa, _, exponent_text = ("%r" % abs(number)).partition("e")
    digits = mantissa.replace(".", "").lstrip("0") or "0"
    point = mantissa.index(".") if "." in mantissa else len(mantissa)
    leading_zeros = len(mantissa.replace(".", "")) - len(mantissa.replace(".", "").lstrip("0"))
    exponent = int(exponent_text or 0) + point - leading_zeros  # value = 0.DIGITS * 10**exponent
    digits = digits.rstrip("0") or "0"
    sign = "-" if number < 0 else ""
    if -6 < exponent <= 21:
        if exponent <= 0:
            return sign + "0." + "0" * -exponent + digits
        if exponent >= len(digits):
            return sign + digits + "0" * (exponent - len(digits))
        return sign + digits[:exponent] + "." + digits[exponent:]
    tail = ("." + digits[1:]) if len(digits) > 1 else ""
    return "%s%s%se%+d" % (sign, digits[0], tail, exponent - 1)


def _add_numerical_separator(text: str) -> str:
    # Node's addNumericalSeparator, character for character ("1e+21" -> "1e_+21").
    result = ""
    i = len(text)
    start = 1 if text.startswith("-") else 0
    while i >= start + 4:
        result = "_" + text[i - 3:i] + result
        i -= 3
    return text[:i] + result


def out_of_range(name: str, must_be: str, value: float) -> NodeValueError:
    """Node's ``ERR_OUT_OF_RANGE``: ``The value of "name" is out of range. It must be ...``."""
    received = js_number(value)
    if (isinstance(value, int) or (isinstance(value, float) and value.is_integer())) and abs(value) > 2**32:
        received = _add_numerical_separator(received)
    return ERR_OUT_OF_RANGE(name, must_be, received)  # type: ignore[return-value]


def validate_string(value: object, name: str) -> str:
    """Node's ``validateString``: ``ERR_INVALID_ARG_TYPE`` unless *value* is a ``str``."""
    if not isinstance(value, str):
        raise invalid_arg_type(name, "of type string", value)
    return value


def validate_integer(value: object, name: str, minimum: int, maximum: int) -> int:
    """Node's ``validateInt32``/``validateUint32``: a number, an integer, within the bounds.

    Returns it as an ``int``.
    """
    if not is_number(value):
        raise invalid_arg_type(name, "of type number", value)
    number: float = value  # type: ignore[assignment]  # is_number() said so
    try:
        integral = number == math.floor(number)
    except (ValueError, OverflowError):  # NaN, infinities
        integral = False
    if not integral:
        raise out_of_range(name, "an integer", number)
    if not minimum <= number <= maximum:
        raise out_of_range(name, ">= %d && <= %d" % (minimum, maximum), number)
    return int(number)
