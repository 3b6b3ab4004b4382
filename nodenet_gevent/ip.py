"""``net.isIP``, ``net.isIPv4`` and ``net.isIPv6``, answering as Node does.

What is accepted, and why (Node's answer is the specification; the test
suite checks every rule below against a real ``node``):

* **IPv4**: exactly four dotted decimal octets, each 0-255 written without
  leading zeros (``1.2.3.4``; not ``01.2.3.4``, ``127.1``, ``0x7f.0.0.1`` or
  ``2130706433``).  No zone id, no surrounding whitespace.
* **IPv6**: the text forms of RFC 3986 ``IPv6address`` (RFC 4291 section
  2.2): eight groups of 1-4 hex digits (either case, leading zeros allowed),
  at most one ``::`` standing for one or more zero groups, and optionally the
  last 32 bits written as an IPv4 address under the rules above
  (``::ffff:1.2.3.4``).  It may be followed by a zone id: ``%`` and one or
  more of ``[0-9A-Za-z.:-]`` (``fe80::1%eth0``, ``fe80::1%1``; not ``%``
  alone, ``%eth_0`` or ``%eth0@1``).
* Only ASCII counts: ``re`` would let ``\\d`` match ``'١'``, so the patterns
  spell out ``[0-9]``; and the whole string must match (``fullmatch``),
  because Python's ``$`` would also accept a trailing ``'\\n'`` where
  JavaScript's does not.

Non-string input is coerced the way Node's ``String()`` coerces it:

* ``None`` is Node's ``undefined``/``null``: never an address (``0``).
* ``bytes``/``bytearray`` are read like a Node ``Buffer``, whose ``String()``
  is its contents.  They are decoded as latin-1, which cannot fail; an
  address is pure ASCII, so the answer is the same as Node's UTF-8 decoding.
* Anything else goes through ``str()`` (so ``__str__`` plays the part of
  ``toString``: an object whose ``str()`` is ``'127.0.0.1'`` is IPv4, as in
  Node).  Numbers and booleans are therefore never addresses, as in Node.
  One deliberate difference: Python's ``str(['::1'])`` is ``"['::1']"``
  whereas JavaScript's ``String(['::1'])`` is ``'::1'``; we do not imitate
  ``Array.prototype.toString``.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["is_ip", "is_ipv4", "is_ipv6", "isIP", "isIPv4", "isIPv6"]

# dec-octet: 0-9 | 10-99 | 100-199 | 200-249 | 250-255, no leading zeros.
_OCTET = r"(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])"
_V4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"

_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{_V4})"


def _ipv6_pattern() -> str:
    """RFC 3986's ``IPv6address`` rule, one alternative per tail length.

    With no ``::`` the address is ``6( h16 ":" ) ls32``.  With ``::``, a tail
    of ``n`` explicit 16-bit groups after it (``ls32`` counts as two) leaves
    room for at most ``7 - n`` groups before it, written ``h16 *(":" h16)``.
    """
    alternatives = [f"(?:{_H16}:){{6}}{_LS32}"]
    for used in range(7, -1, -1):  # groups written after "::"
        if used >= 2:
            tail = f"(?:{_H16}:){{{used - 2}}}{_LS32}"
        else:
            tail = _H16 if used == 1 else ""
        room = 7 - used  # groups that may be written before "::"
        head = ""
        if room:
            head = f"(?:(?:{_H16}:){{0,{room - 1}}}{_H16})?"
        alternatives.append(head + "::" + tail)
    return "(?:{})".format("|".join(alternatives))


_ZONE = r"(?:%[0-9A-Za-z.:\-]+)?"

_IPV4_RE = re.compile(_V4)
_IPV6_RE = re.compile(_ipv6_pattern() + _ZONE)


def _coerce(value: object) -> str:
    """Node's ``String(value)``, as far as IP-ness can tell the difference."""
    if isinstance(value, str):
        return value
    if value is None:
        return "undefined"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return str(value)


def is_ipv4(input: object = None) -> bool:
    """True if ``input`` is an IPv4 address in dotted-decimal form."""
    return _IPV4_RE.fullmatch(_coerce(input)) is not None


def is_ipv6(input: object = None) -> bool:
    """True if ``input`` is an IPv6 address, optionally with a ``%zone``."""
    return _IPV6_RE.fullmatch(_coerce(input)) is not None


def is_ip(input: object = None) -> Literal[0, 4, 6]:
    """4 for an IPv4 address, 6 for an IPv6 address, otherwise 0."""
    s = _coerce(input)
    if _IPV4_RE.fullmatch(s) is not None:
        return 4
    if _IPV6_RE.fullmatch(s) is not None:
        return 6
    return 0


isIP = is_ip
isIPv4 = is_ipv4
isIPv6 = is_ipv6
