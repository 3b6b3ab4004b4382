"""HAProxy's PROXY protocol, versions 1 (text) and 2 (binary): the header a proxy sends first.

A proxy that relays TCP connections (HAProxy with ``send-proxy``/``send-proxy-v2``, AWS NLB,
nginx's ``proxy_protocol``, ...) can put one header at the very start of each connection
saying whom it is relaying for: the client's address and port and the address it was
connecting to.  The spec is HAProxy's ``proxy-protocol.txt``
(https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt).  This module only parses;
wiring it into a server's accept path is the server's business.

* :class:`ProxyProtocolParser` is fed a connection's first bytes as they arrive and answers
  ``None`` (need more), or ``(header, rest)``: the :class:`ProxyHeader` (``proxy_header.py``)
  and the bytes that came after it, untouched.  It raises :class:`ProxyProtocolError` as soon as the bytes
  cannot be the start of a valid header.  :func:`parse` is the one-shot form.
* :func:`read_header` reads just the header from a connected gevent socket, with a deadline,
  leaving every byte after it in the kernel for whoever reads next.

``mode`` says which header is *required*: ``'v1'``, ``'v2'``, or ``True`` for either (told
apart by the first byte).  There is no "maybe": the spec forbids guessing whether a header is
present, since a client that could choose would spoof its address at will.

Limits: a v1 header is at most 107 bytes (the spec's worst case, CRLF included).  A v2 header
can be 16 + 65535 bytes; ``limit`` caps it, :data:`DEFAULT_LIMIT` (4096) by default, which
leaves room for the addresses (216 bytes for Unix sockets) and every TLV HAProxy sends.

Every failure is a :class:`ProxyProtocolError`, a :class:`~nodenet_gevent.errors.NodeError`
with ``code`` ``'ERR_PROXY_PROTOCOL'`` (Node has no PROXY protocol and so no code for it; the
name follows Node's ``ERR_<SUBJECT>`` pattern) and a message saying what was wrong.

Not done here: the CRC32C TLV (type 0x03) is returned like any TLV, not verified (the spec
asks that only of receivers that support it); TLV values, the SSL one's sub-TLVs included,
are returned raw.
"""

from __future__ import annotations

import math
import re
import socket
import struct
from numbers import Real
from typing import Literal, Protocol, Union

import gevent

from .errors import (
    ERR_INVALID_ARG_VALUE,
    ERR_INVALID_STATE,
    ERR_OUT_OF_RANGE,
    ERR_PROXY_PROTOCOL,
    ProxyProtocolError,
    invalid_arg_type,
    os_error,
)
from .proxy_header import ProxyHeader, Tlvs

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_TIMEOUT",
    "ERROR_CODE",
    "V1_MAX_LENGTH",
    "V2_MAX_LENGTH",
    "V2_SIGNATURE",
    "Mode",
    "ProxyHeader",
    "ProxyProtocolError",
    "ProxyProtocolParser",
    "parse",
    "read_header",
]

ERROR_CODE = ERR_PROXY_PROTOCOL.code
V1_MAX_LENGTH = 107
V2_MAX_LENGTH = 16 + 0xFFFF
DEFAULT_LIMIT = 4096
# The spec asks for "at least 3 seconds to cover a TCP retransmit"; a proxy sends the
# header the moment it connects, so a longer wait only lets idle connections pile up.
DEFAULT_TIMEOUT = 5.0
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
_V1_PREFIX = b"PROXY "

# 'v1', 'v2', or True for either.
Mode = Union[Literal["v1", "v2"], Literal[True]]
Result = tuple[ProxyHeader, bytes]

# v1 forbids leading zeros (they would read as octal elsewhere), which inet_pton does not
# reject everywhere: the IPv4 and port syntax are checked exactly here.
_OCTET = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rb"(?:%s\.){3}%s\Z" % (_OCTET, _OCTET))
_PORT = re.compile(rb"(?:0|[1-9][0-9]{0,4})\Z")

# v2's family/transport byte: the seven combinations the spec lists; other values are
# rejected (the spec: "must be rejected as invalid by receivers").
_V2_FAMILIES = {0x0: None, 0x1: "IPv4", 0x2: "IPv6", 0x3: "unix"}
_V2_TRANSPORTS = {0x1: "STREAM", 0x2: "DGRAM"}
_V2_ADDRESS_LENGTHS = {0x0: 0, 0x1: 12, 0x2: 36, 0x3: 216}
_V2_VALID_FAMILY_BYTES = frozenset([0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32])
_V2_COMMANDS = {0x0: "LOCAL", 0x1: "PROXY"}
_PORTS = struct.Struct(">HH")


def _error(message: str) -> ProxyProtocolError:
    return ERR_PROXY_PROTOCOL(message)  # type: ignore[return-value]


def _show(data: bytes | bytearray, size: int = 40) -> str:
    """Bytes for a message: repr'd, cut short so a hostile peer cannot flood a log."""
    text = repr(bytes(data[:size]))
    return text + "..." if len(data) > size else text


def _check_mode(mode: object) -> Mode:
    if mode is True or mode == "v1" or mode == "v2":
        return mode
    raise ERR_INVALID_ARG_VALUE.value_error("argument", "mode", "must be 'v1', 'v2' or True", mode)


def _check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise invalid_arg_type("limit", "of type int", limit)
    if not 16 <= limit <= V2_MAX_LENGTH:
        raise ERR_OUT_OF_RANGE("limit", ">= 16 and <= %d" % V2_MAX_LENGTH, repr(limit))
    return limit


def _version(buf: bytes | bytearray, mode: Mode) -> int:
    """Which version *buf* (not empty) starts; raises if it is neither, or not the one required."""
    first = buf[0]
    version = 1 if first == 0x50 else 2 if first == 0x0D else 0  # 'P', '\r'
    signature = _V1_PREFIX if version == 1 else V2_SIGNATURE
    if version and buf[: len(signature)] != signature[: len(buf)]:
        version = 0
    if mode is not True and version and mode != "v%d" % version and len(buf) >= len(signature):
        raise _error("Expected a PROXY protocol %s header, received a v%d header" % (mode, version))
    if version == 0 or (mode is not True and mode != "v%d" % version):
        what = "a PROXY protocol header" if mode is True else "a PROXY protocol %s header" % mode
        raise _error("Not %s: the connection starts with %s" % (what, _show(buf, 16)))
    return version


def _header_length(buf: bytes | bytearray, mode: Mode, limit: int) -> tuple[int, int | None]:
    """``(version, total header length)`` for the header *buf* starts, the length ``None``
    while it is not known yet (version 0 when *buf* is empty).

    Raises as soon as *buf* cannot start a valid header, so that a bad peer is dropped early
    (the spec: "abort the connection as soon as possible").  Looks at no byte past the
    header: what follows it is the application's.
    """
    size = len(buf)
    if not size:
        return 0, None
    version = _version(buf, mode)
    if version == 1:
        end = buf.find(b"\n", 0, V1_MAX_LENGTH)
        # The spec: "must not tolerate a single CR or LF character to end the line".
        cr = buf.find(b"\r", 0, V1_MAX_LENGTH if end < 0 else end)
        if end < 0:
            if 0 <= cr < min(size, V1_MAX_LENGTH) - 1:  # the byte after it is there, and not LF
                raise _error("Invalid PROXY protocol v1 header: a CR not followed by LF in %s" % _show(buf, cr + 2))
            if size >= V1_MAX_LENGTH:
                raise _error(
                    "PROXY protocol v1 header too long: no CRLF in the first %d bytes %s"
                    % (V1_MAX_LENGTH, _show(buf))
                )
            return 1, None
        if 0 <= cr < end - 1:
            raise _error("Invalid PROXY protocol v1 header: a CR not followed by LF in %s" % _show(buf, cr + 2))
        if cr < 0:
            raise _error("Invalid PROXY protocol v1 header: %s does not end with CRLF" % _show(buf[: end + 1], 108))
        return 1, end + 1
    if size >= 13:
        ver_cmd = buf[12]
        if ver_cmd >> 4 != 2:
            raise _error("Invalid PROXY protocol v2 header: version %d in byte 13 (0x%02x), not 2" % (ver_cmd >> 4,
                                                                                                     ver_cmd))
        if ver_cmd & 0xF not in _V2_COMMANDS:
            raise _error("Invalid PROXY protocol v2 header: unknown command %d in byte 13 (0x%02x)" % (ver_cmd & 0xF,
                                                                                                      ver_cmd))
        # LOCAL's family is ignored, as the spec says, so it is not checked either.
        if size >= 14 and ver_cmd & 0xF == 1 and buf[13] not in _V2_VALID_FAMILY_BYTES:
            raise _error("Invalid PROXY protocol v2 header: unknown address family/transport byte 0x%02x" % buf[13])
    if size < 16:
        return 2, None
    length = 16 + (buf[14] << 8 | buf[15])
    if length > limit:
        raise _error("PROXY protocol v2 header too long: %d bytes, the limit is %d" % (length, limit))
    return 2, length


def _parse_v1(line: bytes) -> ProxyHeader:
    """The header from one complete v1 line, CRLF included."""
    fields = line[:-2].split(b" ")
    protocol = fields[1] if len(fields) > 1 else b""
    if protocol == b"UNKNOWN":
        # The spec: "the receiver must ignore anything presented before the CRLF".
        return ProxyHeader(1)
    if protocol not in (b"TCP4", b"TCP6"):
        raise _error("Invalid PROXY protocol v1 header: unknown protocol %s (TCP4, TCP6 or UNKNOWN) in %s"
                     % (_show(protocol, 10), _show(line, 108)))
    if len(fields) != 6:
        raise _error("Invalid PROXY protocol v1 header: %d fields, not 6, in %s" % (len(fields), _show(line, 108)))
    family = "IPv4" if protocol == b"TCP4" else "IPv6"
    addresses = []
    for name, text in (("source", fields[2]), ("destination", fields[3])):
        address = _v1_address(text, family)
        if address is None:
            raise _error("Invalid PROXY protocol v1 header: the %s address %s is not an %s address"
                         % (name, _show(text), family))
        addresses.append(address)
    ports = []
    for name, text in (("source", fields[4]), ("destination", fields[5])):
        if not _PORT.match(text) or int(text) > 0xFFFF:
            raise _error("Invalid PROXY protocol v1 header: the %s port %s is not a port (0-65535, no leading zero)"
                         % (name, _show(text)))
        ports.append(int(text))
    return ProxyHeader(1, "PROXY", family, "STREAM", addresses[0], ports[0], addresses[1], ports[1])


def _v1_address(text: bytes, family: str) -> str | None:
    if family == "IPv4":
        return text.decode("ascii") if _IPV4.match(text) else None
    try:
        # The form getpeername() gives, whichever of the spellings inet_pton accepts was sent.
        return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, text.decode("ascii")))
    except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
        return None


def _parse_v2(header: bytes) -> ProxyHeader:
    """The header from one complete v2 header (its 16 bytes already checked)."""
    command = _V2_COMMANDS[header[12] & 0xF]
    kind = header[13]
    body = memoryview(header)[16:]
    family_nibble = kind >> 4
    if command == "LOCAL":
        # The spec: accept LOCAL and discard its address block "including the family which is
        # ignored".  TLVs are read only when they can be found: after a whole address block
        # of a valid family.
        if kind not in _V2_VALID_FAMILY_BYTES or len(body) < _V2_ADDRESS_LENGTHS[family_nibble]:
            return ProxyHeader(2, command)
        return ProxyHeader(2, command, tlvs=_tlvs(body[_V2_ADDRESS_LENGTHS[family_nibble]:]))
    family = _V2_FAMILIES[family_nibble]
    needed = _V2_ADDRESS_LENGTHS[family_nibble]
    if len(body) < needed:
        raise _error("Invalid PROXY protocol v2 header: %d address bytes, an %s address block takes %d"
                     % (len(body), family, needed))
    tlvs = _tlvs(body[needed:])
    if family is None:
        return ProxyHeader(2, command, tlvs=tlvs)
    transport = _V2_TRANSPORTS[kind & 0xF]
    if family == "unix":
        return ProxyHeader(2, command, family, transport, _unix_path(body[:108]), None, _unix_path(body[108:216]),
                           None, tlvs)
    if family == "IPv4":
        source, dest = "%d.%d.%d.%d" % tuple(body[0:4]), "%d.%d.%d.%d" % tuple(body[4:8])
        source_port, dest_port = _PORTS.unpack_from(body, 8)
    else:
        source, dest = socket.inet_ntop(socket.AF_INET6, body[0:16]), socket.inet_ntop(socket.AF_INET6, body[16:32])
        source_port, dest_port = _PORTS.unpack_from(body, 32)
    return ProxyHeader(2, command, family, transport, source, source_port, dest, dest_port, tlvs)


def _unix_path(raw: memoryview) -> str:
    """A 108-byte ``sun_path`` as the string Node and Python would name it."""
    data = bytes(raw)
    if data[:1] == b"\0":
        # Abstract namespace: the name's length is not carried, so the zero padding goes.
        return "\0" + data[1:].rstrip(b"\0").decode("utf-8", "surrogateescape")
    return data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _tlvs(block: memoryview) -> Tlvs:
    found = []
    offset, size = 0, len(block)
    while offset < size:
        if size - offset < 3:
            raise _error("Invalid PROXY protocol v2 header: %d stray bytes after the last TLV" % (size - offset))
        kind = block[offset]
        end = offset + 3 + (block[offset + 1] << 8 | block[offset + 2])
        if end > size:
            raise _error("Invalid PROXY protocol v2 header: TLV 0x%02x of %d bytes overruns the header by %d"
                         % (kind, end - offset - 3, end - size))
        found.append((kind, bytes(block[offset + 3:end])))
        offset = end
    return tuple(found)


class ProxyProtocolParser:
    """Incremental parser of the header at the start of one connection.

    ``feed(data)`` returns ``None`` while more bytes are needed and ``(header, rest)`` once
    the header is complete, *rest* being the bytes fed after it.  It raises
    :class:`ProxyProtocolError` as soon as the bytes cannot start a valid header; once it
    answered or raised, feeding it again raises (the same error, if it raised).

    ``needed`` and ``at_most`` size reads that must not go past the header (see
    :func:`read_header`), ``header_part(data)`` says how much of not-yet-fed *data* would be
    header.
    """

    __slots__ = ("mode", "limit", "_buffer", "_version", "_length", "_done", "_error")

    def __init__(self, mode: Mode = True, limit: int = DEFAULT_LIMIT) -> None:
        self.mode: Mode = _check_mode(mode)
        self.limit: int = _check_limit(limit)
        self._buffer = bytearray()
        # Known from the start when the mode says: then a v2 header is read in exact sizes.
        self._version = 0 if mode is True else int(mode[1])
        self._length: int | None = None
        self._done = False
        self._error: ProxyProtocolError | None = None

    @property
    def received(self) -> int:
        """Bytes fed so far."""
        return len(self._buffer)

    @property
    def needed(self) -> int:
        """Bytes that certainly belong to the header and have not been fed: a read of this many
        never takes a byte past it.  0 when that is not known (before the first byte, and for
        v1, whose end is its CRLF): peek then, and use :meth:`header_part`."""
        if self._version != 2:
            return 0
        return (16 if self._length is None else self._length) - len(self._buffer)

    @property
    def at_most(self) -> int:
        """The most bytes the rest of the header can take (how much to peek at)."""
        if self._length is not None:
            return self._length - len(self._buffer)
        return (V1_MAX_LENGTH if self._version != 2 else 16) - len(self._buffer)

    def header_part(self, data: bytes) -> int:
        """How many of *data*'s bytes, were they fed next, would be header (all of them unless
        the header ends inside *data*).  Raises if they make the header invalid."""
        self._check_state()
        _, length = _header_length(self._buffer + data, self.mode, self.limit)
        if length is None:
            return len(data)
        return max(0, min(len(data), length - len(self._buffer)))

    def feed(self, data: bytes | bytearray | memoryview) -> Result | None:
        self._check_state()
        buffer = self._buffer
        buffer += data
        try:
            if self._length is None:
                version, self._length = _header_length(buffer, self.mode, self.limit)
                self._version = version or self._version
            length = self._length
            if length is None or len(buffer) < length:
                return None
            header = bytes(buffer[:length])
            parsed = _parse_v1(header) if self._version == 1 else _parse_v2(header)
        except ProxyProtocolError as error:
            self._error = error
            raise
        self._done = True
        return parsed, bytes(buffer[length:])

    def _check_state(self) -> None:
        if self._error is not None:
            raise self._error
        if self._done:
            raise ERR_INVALID_STATE("the PROXY protocol header was already parsed")


def parse(data: bytes | bytearray | memoryview, mode: Mode = True, limit: int = DEFAULT_LIMIT) -> Result:
    """``(header, rest)`` from bytes that hold a whole header; raises if they do not."""
    parser = ProxyProtocolParser(mode, limit)
    result = parser.feed(data)
    if result is None:
        raise _error("Incomplete PROXY protocol header: %d bytes %s" % (len(data), _show(bytes(data))))
    return result


class _Receiver(Protocol):
    def recv(self, bufsize: int, flags: int = ..., /) -> bytes: ...


def read_header(
    sock: _Receiver,
    mode: Mode = True,
    timeout_seconds: float | None = DEFAULT_TIMEOUT,
    limit: int = DEFAULT_LIMIT,
) -> Result:
    """Read the PROXY protocol header from a connected gevent socket; ``(header, leftover)``.

    No byte past the header is taken from the socket, so *leftover* is ``b''``: a v2 header
    is read in exactly sized ``recv`` calls (16 bytes, then the length they announce), a v1
    header is peeked at (``MSG_PEEK``) to find its CRLF and then received up to it.  Only a
    socket that refuses ``MSG_PEEK`` (``ValueError``, as an SSL socket's ``recv`` does) gets
    plain reads, and then *leftover* holds what was read past the header.

    Raises :class:`ProxyProtocolError` when the header is malformed or oversized, when the
    peer closes before it is complete, or when it is not complete within *timeout_seconds*
    (``None``: no deadline, which lets a silent client hold the connection forever); an
    ``OSError`` from the socket is raised with Node's shape (``syscall`` ``'read'``).  It
    blocks cooperatively, so call it in the connection's own greenlet.  Works with and
    without monkey-patching (it uses only the socket passed in).
    """
    parser = ProxyProtocolParser(mode, limit)
    seconds = _check_timeout(timeout_seconds)
    deadline = gevent.Timeout(seconds)
    deadline.start()
    try:
        return _read(sock, parser)
    except gevent.Timeout as timeout:
        if timeout is not deadline or seconds is None:
            raise
        raise _error("No complete PROXY protocol header within %g s (%d bytes received)"
                     % (seconds, parser.received)) from None
    finally:
        deadline.close()


def _check_timeout(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise invalid_arg_type("timeout_seconds", "of type number", value)
    seconds = float(value)
    if math.isnan(seconds) or seconds <= 0:
        raise ERR_OUT_OF_RANGE("timeout_seconds", "> 0", repr(value))
    return seconds


def _read(sock: _Receiver, parser: ProxyProtocolParser) -> Result:
    peek = True
    while True:
        try:
            size = parser.needed
            if size:
                data = sock.recv(size)
            elif peek:
                try:
                    ahead = sock.recv(parser.at_most, socket.MSG_PEEK)
                except ValueError:
                    peek = False
                    continue
                # The peeked bytes that are header are received for real: the socket is then
                # empty or holds the application's bytes, so the next wait is for new data
                # (peeking again at the same bytes would spin).
                data = sock.recv(parser.header_part(ahead)) if ahead else b""
            else:
                data = sock.recv(max(parser.at_most, 1))
        except OSError as error:
            if error.errno is None:  # socket.timeout (the socket's own), gevent's cancel_wait
                raise
            raise os_error(error, "read") from error
        if not data:
            if parser.received:
                raise _error("Connection closed before the PROXY protocol header was complete (%d bytes received)"
                             % parser.received)
            raise _error("Connection closed before a PROXY protocol header was received")
        result = parser.feed(data)
        if result is not None:
            return result
