"""``net.SocketAddress``: an IP address, a port, a family and an IPv6 flow label.

Node's class, with Node 20's defaults and errors (``SocketAddress.parse`` is
Node 22's).  The address text is read as Node's C++ layer reads it, with
libuv's ``inet_pton`` rules, which are stricter than :func:`net.isIP`'s:

* IPv4: exactly four decimal octets, no leading zeros (``1.2.3.4``).
* IPv6: RFC 4291 text, either case, ``::`` once, an IPv4 tail allowed
  (``::ffff:1.2.3.4``).  A ``%zone`` suffix is accepted and dropped, whatever
  follows the ``%`` (libuv only looks the zone up as an interface name, and
  ignores a failure); when there is a zone, only the first 39 characters
  before it are read, as libuv copies them into a 40-byte buffer.
* The text ends at a NUL character, as a C string does.

``address`` is the normalised form Node prints (libuv's ``inet_ntop``:
lower case, the longest run of two or more zero groups as ``::``, and
``::ffff:1.2.3.4`` / ``::1.2.3.4`` for IPv4-mapped and -compatible
addresses).

Where Node 20 aborts the whole process (a failed C++ assertion), this module
raises instead: a flow label above 20 bits on an IPv6 address is
``ERR_OUT_OF_RANGE``.  A numeric string port (``'80'``), which Node's
validator accepts and its C++ layer then aborts on, is accepted as the
number, as ``connect()``/``listen()`` accept it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from .args import to_port
from .errors import (
    ERR_INVALID_ADDRESS,
    ERR_INVALID_ARG_VALUE,
    NodeError,
    invalid_arg_type,
)
from .validators import UINT32_MAX, out_of_range, validate_integer

__all__ = ["SocketAddress"]

# The largest IPv6 flow label (20 bits); Node's C++ asserts it.
_FLOWLABEL_MAX = 0xFFFFF
# Node's uv_ip6_addr() copies the text before a '%' into char[40].
_ZONE_ADDRESS_MAX = 39


def parse_ipv4(text: str) -> int | None:
    """libuv's ``inet_pton4``: the address as an ``int``, or ``None`` if it is not one."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        # isdigit() would take non-ASCII digits; leading zeros are refused.
        if not (1 <= len(part) <= 3 and part.isascii() and part.isdigit()) or (len(part) > 1 and part[0] == "0"):
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = value << 8 | octet
    return value


_HEX = frozenset("0123456789abcdefABCDEF")


def parse_ipv6(text: str) -> int | None:
    """libuv's ``inet_pton6`` (after ``uv_ip6_addr`` drops a zone): an ``int``, or ``None``."""
    groups: list[int] = []  # 16-bit groups before and after the '::'
    compress_at: int | None = None  # index in groups where '::' stands
    if text.startswith(":"):
        if not text.startswith("::"):
            return None
        text = text[1:]
    token = ""
    position = 0
    while position < len(text):
        char = text[position]
        position += 1
        if char in _HEX:
            token += char
            if len(token) > 4:
                return None
            continue
        if char == ":":
            if not token:
                if compress_at is not None:
                    return None
                compress_at = len(groups)
                continue
            if position == len(text):  # a trailing single ':'
                return None
            if len(groups) >= 8:
                return None
            groups.append(int(token, 16))
            token = ""
            continue
        if char == "." and len(groups) <= 6:
            tail = parse_ipv4(token + text[position - 1:])
            if tail is None:
                return None
            groups += [tail >> 16, tail & 0xFFFF]
            token = ""
            break
        return None
    if token:
        if len(groups) >= 8:
            return None
        groups.append(int(token, 16))
    if compress_at is not None:
        if len(groups) == 8:
            return None
        groups[compress_at:compress_at] = [0] * (8 - len(groups))
    if len(groups) != 8:
        return None
    value = 0
    for group in groups:
        value = value << 16 | group
    return value


def format_ipv4(value: int) -> str:
    return "%d.%d.%d.%d" % (value >> 24, (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF)


def format_ipv6(value: int) -> str:
    """libuv's ``inet_ntop6``, the text Node shows for an IPv6 address."""
    words = [(value >> (112 - 16 * i)) & 0xFFFF for i in range(8)]
    best_base, best_len = -1, 0
    run_base, run_len = -1, 0
    for i, word in enumerate(words + [1]):  # a sentinel ends the last run
        if word == 0:
            if run_base == -1:
                run_base, run_len = i, 0
            run_len += 1
        elif run_base != -1:
            if run_len > best_len:  # the first of equally long runs wins
                best_base, best_len = run_base, run_len
            run_base = -1
    if best_len < 2:
        best_base = -1
    out = []
    i = 0
    while i < 8:
        if best_base != -1 and best_base <= i < best_base + best_len:
            if i == best_base:
                out.append(":")
            i += 1
            continue
        if i:
            out.append(":")
        if i == 6 and best_base == 0 and (best_len == 6 or (best_len == 5 and words[5] == 0xFFFF)):
            out.append(format_ipv4(value & 0xFFFFFFFF))
            break
        out.append("%x" % words[i])
        i += 1
    if best_base != -1 and best_base + best_len == 8:
        out.append(":")
    return "".join(out)


def _to_value(address: str, family: str) -> int | None:
    """The address text as Node's C++ layer reads it (see the module docstring)."""
    address = address.split("\0", 1)[0]
    if family == "ipv4":
        return parse_ipv4(address)
    if "%" in address:
        # 39 bytes of the UTF-8 text, as C copies them (a cut character is invalid).
        before_zone = address.split("%", 1)[0].encode("utf-8", "surrogatepass")
        address = before_zone[:_ZONE_ADDRESS_MAX].decode("utf-8", "replace")
    return parse_ipv6(address)


class SocketAddress:
    """Node's ``net.SocketAddress([options])``; the options may be keyword arguments too.

    Options (Node's defaults): ``address`` (``'127.0.0.1'``, or ``'::'`` when
    the family is not ``'ipv4'``), ``port`` (0), ``family`` (``'ipv4'``; any
    case, ``'ipv4'`` or ``'ipv6'``), ``flowlabel`` (0; kept for IPv6 only).
    ``None`` for an option is JavaScript's ``undefined``: the default.

    As in Node, the default address is chosen from the family *as given*, so
    ``SocketAddress(family='IPv4')`` defaults to ``'::'`` and fails with
    ``ERR_INVALID_ADDRESS``; give the family in lower case or an address.

    Instances are immutable; ``address`` is the normalised text.
    """

    __slots__ = ("_address", "_port", "_family", "_flowlabel", "_value")

    _address: str
    _port: int
    _family: str
    _flowlabel: int
    _value: int  # the address as a 32- or 128-bit number

    def __init__(self, options: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if options is None:
            options = {}
        elif not isinstance(options, Mapping):
            raise invalid_arg_type("options", "of type object", options)
        if kwargs:
            options = {**options, **kwargs}
        given_family = options.get("family")
        if given_family is None:
            given_family = "ipv4"
        address = options.get("address")
        if address is None:
            address = "127.0.0.1" if given_family == "ipv4" else "::"
        family = given_family.lower() if isinstance(given_family, str) else given_family
        if family not in ("ipv4", "ipv6"):
            # A string that names no family is a bad value; anything else, a bad type.
            if isinstance(given_family, str):
                raise ERR_INVALID_ARG_VALUE.value_error("property", "options.family", "is invalid", given_family)
            raise ERR_INVALID_ARG_VALUE("property", "options.family", "is invalid", given_family)
        if not isinstance(address, str):
            raise invalid_arg_type("options.address", "of type string", address)
        port = options.get("port")
        port = 0 if port is None else to_port(port, "options.port")
        flowlabel = options.get("flowlabel")
        flowlabel = 0 if flowlabel is None else validate_integer(flowlabel, "options.flowlabel", 0, UINT32_MAX)
        value = _to_value(address, family)
        if value is None:
            raise ERR_INVALID_ADDRESS()
        if family == "ipv6":
            if flowlabel > _FLOWLABEL_MAX:
                raise out_of_range("options.flowlabel", ">= 0 && <= %d" % _FLOWLABEL_MAX, flowlabel)
            self._address = format_ipv6(value)
        else:
            flowlabel = 0  # sockaddr_in has no flow label
            self._address = format_ipv4(value)
        self._port = port
        self._family = family
        self._flowlabel = flowlabel
        self._value = value

    @property
    def address(self) -> str:
        return self._address

    @property
    def port(self) -> int:
        return self._port

    @property
    def family(self) -> str:
        """``'ipv4'`` or ``'ipv6'`` (lower case, unlike ``socket.address()``'s ``'IPv4'``)."""
        return self._family

    @property
    def flowlabel(self) -> int:
        return self._flowlabel

    def to_json(self) -> dict[str, Any]:
        """``{'address': ..., 'port': ..., 'family': ..., 'flowlabel': ...}``."""
        return {"address": self._address, "port": self._port, "family": self._family, "flowlabel": self._flowlabel}

    toJSON = to_json

    def __repr__(self) -> str:
        # Node's util.inspect() form, which its error messages embed.
        return "SocketAddress { address: %r, port: %d, family: %r, flowlabel: %d }" % (
            self._address, self._port, self._family, self._flowlabel,
        )

    @staticmethod
    def is_socket_address(value: object) -> bool:
        return isinstance(value, SocketAddress)

    isSocketAddress = is_socket_address

    @staticmethod
    def parse(input: object) -> SocketAddress | None:
        """Node 22's ``SocketAddress.parse``: ``'1.2.3.4:80'``, ``'[::1]:443'`` -> a ``SocketAddress``.

        ``None`` (Node: ``undefined``) when *input* is not an IP address with an
        optional port.  Node reads it as the authority of an ``http://`` URL, so
        WHATWG URL rules apply: user info (``user:pw@``) and anything from a
        ``/``, ``?`` or ``#`` on are ignored, and IPv4 may be written as URLs
        allow (``'0x7f.1'`` is ``127.0.0.1``, ``'256'`` is ``0.0.1.0``).  An
        explicit ``:80`` is kept as port 80 (Node 22 loses it, as the URL's
        default port: nodejs/node#62906).
        """
        if not isinstance(input, str):
            raise invalid_arg_type("input", "of type string", input)
        parsed = _http_authority(input)
        if parsed is None:
            return None
        host, port = parsed
        try:
            if host.startswith("["):
                return SocketAddress(address=host[1:-1], port=port, family="ipv6")
            return SocketAddress(address=host, port=port)
        except NodeError:
            return None


# --- WHATWG URL parsing, as much of it as decides SocketAddress.parse --------

_C0_OR_SPACE = "".join(chr(i) for i in range(0x21))
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")


def _http_authority(text: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``URL('http://' + text)``, the host an IPv4 literal in
    dotted form or a bracketed IPv6 literal; ``None`` when it is neither."""
    text = text.rstrip(_C0_OR_SPACE)
    text = text.replace("\t", "").replace("\n", "").replace("\r", "")
    text = text.lstrip("/\\")  # a special URL's authority ignores extra slashes
    end = len(text)
    for stop in "/\\?#":
        found = text.find(stop)
        if found != -1:
            end = min(end, found)
    authority = text[:end]
    if "@" in authority:
        authority = authority.rsplit("@", 1)[1]
    host = authority
    port_text = ""
    in_brackets = False
    for i, char in enumerate(authority):
        if char == "[":
            in_brackets = True
        elif char == "]":
            in_brackets = False
        elif char == ":" and not in_brackets:
            host, port_text = authority[:i], authority[i + 1:]
            break
    if not host:
        return None
    if port_text and not (port_text.isascii() and port_text.isdigit()):
        return None
    port = int(port_text) if port_text else 0
    if port > 65535:
        return None
    if host.startswith("["):
        # The WHATWG IPv6 parser takes what inet_pton does, minus a zone (or a NUL).
        if not (host.endswith("]") and _IPV6_CHARS.issuperset(host[1:-1])):
            return None
        return host, port
    ipv4 = _whatwg_ipv4(_domain_to_ascii(_percent_decode(host)))
    if ipv4 is None:
        return None
    return format_ipv4(ipv4), port


def _percent_decode(text: str) -> str:
    if "%" not in text:
        return text
    out = bytearray()
    raw = text.encode("utf-8")
    i = 0
    while i < len(raw):
        if raw[i] == 0x25 and i + 2 < len(raw) and all(chr(c) in _HEX for c in raw[i + 1:i + 3]):
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "replace")


# UTS 46 maps IDNA's full stops to '.' and drops the default-ignorable characters.
_UTS46_EXTRAS: dict[int, str | None] = {0x3002: ".", 0xFF0E: ".", 0xFF61: "."}
_UTS46_EXTRAS.update(
    dict.fromkeys([0xAD, 0x34F, 0x180B, 0x180C, 0x180D, 0x180F, 0x200B, 0x2060, 0x2064, 0xFEFF, *range(0xFE00, 0xFE10)])
)


def _domain_to_ascii(domain: str) -> str:
    """Enough of UTS 46 to find an IPv4 address: fullwidth digits and full stops.

    A name that stays non-ASCII is not an IP address, whatever its punycode.
    """
    if domain.isascii():
        return domain.lower()
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", domain.translate(_UTS46_EXTRAS)).casefold())


def _whatwg_ipv4_number(part: str) -> int | None:
    if not part:
        return None
    radix = 10
    if len(part) >= 2 and part[:2] in ("0x", "0X"):
        part, radix = part[2:], 16
    elif len(part) >= 2 and part[0] == "0":
        part, radix = part[1:], 8
    if not part:
        return 0
    digits = "0123456789abcdefABCDEF"[: 22 if radix == 16 else radix]
    if not all(char in digits for char in part):
        return None
    return int(part, radix)


def _whatwg_ipv4(host: str) -> int | None:
    """The WHATWG IPv4 parser, when the host "ends in a number"; else ``None``."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    if not (last and last.isascii() and last.isdigit()) and _whatwg_ipv4_number(last) is None:
        return None  # a domain name, not an address
    if len(parts) > 4:
        return None
    numbers = [_whatwg_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values: list[int] = numbers  # type: ignore[assignment]  # no None left
    if any(number > 255 for number in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    result = values[-1]
    for index, number in enumerate(values[:-1]):
        result += number * 256 ** (3 - index)
    return result
