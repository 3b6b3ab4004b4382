"""Node's string encodings: ``Buffer.from(string, encoding)`` and ``StringDecoder``.

Everything a socket does with text goes through here:

* :func:`normalize_encoding` turns any spelling Node accepts into one canonical
  name (``'utf8'``, ``'ascii'``, ``'latin1'``, ``'base64'``, ``'base64url'``,
  ``'hex'``, ``'utf16le'``).
* :func:`encode` is ``Buffer.from(text, encoding)``, byte for byte.
* :func:`to_bytes` is what ``socket.write(data, encoding)`` does to its chunk.
* :class:`Decoder` is Node's ``StringDecoder`` (``socket.setEncoding()``).

A Python ``str`` is treated as the JavaScript string with the same UTF-16
code units: an astral character is a surrogate pair, and a lone surrogate
(``'\\ud800'``) is the lone code unit.  Two adjacent surrogate *code points*
that form a valid pair (``'\\ud83d\\ude00'``) are the same JavaScript string as
``'\\U0001f600'`` and encode the same way.

Node behaviours reproduced here (checked against Node 20 by
``tests/test_encodings.py``):

* ``utf8``: a lone surrogate becomes U+FFFD (``ef bf bd``).
* ``ascii`` and ``latin1`` (``binary``) encode alike: each UTF-16 code unit
  ``& 0xff``, so ``'\\U0001f600'`` (``d83d de00``) is ``3d 00``.
* ``base64``/``base64url`` decoding of a string is lenient and identical for
  both names: both alphabets are accepted, every character is first cut to the
  low byte of its code unit (so ``'\\u0141'`` counts as ``'A'`` and
  ``'\\u013d'`` as ``'='``), characters outside the alphabet are skipped,
  decoding stops at the first ``'='``, a trailing lone character is dropped and
  missing padding is fine.
* ``hex`` decodes pairs (again on low bytes, so ``'\\u0661'`` is ``'a'``) up to
  the first pair with a non-hex digit; an odd trailing digit is dropped.
* ``StringDecoder('ascii')`` strips the high bit of every byte
  (``0xc1`` -> ``'A'``); ``latin1`` maps bytes to U+0000..U+00FF.
* ``StringDecoder`` ``base64`` emits 3-byte groups and carries the rest; its
  ``end()`` pads with ``'='``, but ``base64url`` output never has padding.
* ``StringDecoder('utf8')`` holds an incomplete character at the end of a
  chunk, judging its length from the lead byte alone (even an invalid lead such
  as ``0xf5`` or ``0xc0``, or a lead followed by bytes that cannot follow it);
  a held character is cut short by the first non-continuation byte of the next
  chunk, and ``end()`` decodes what is held (one U+FFFD for a truncated valid
  prefix such as ``e2 82``).  The per-chunk outputs are Node's exactly.

Where Python differs from Node, by choice:

* ``StringDecoder('utf16le')``: Node sometimes returns the high half of a
  surrogate pair at the end of one ``write()`` and the low half at the start of
  the next (when the pair is split across an odd byte boundary, or the high
  half completes a unit started in the previous chunk).  Concatenated in
  JavaScript that is harmless; in Python it would give a string holding two
  surrogate code points instead of the astral character.  :class:`Decoder`
  therefore always holds a trailing high surrogate back for the next call.
  The concatenated output is Node's code unit for code unit; only the place
  where a pair is split moves, and within one result a valid pair is always
  one astral character.  A surrogate still unpaired at ``end()`` is returned
  lone, like Node.
* U+FFFD counts for invalid UTF-8: Python's ``'replace'`` handler and V8 both
  follow the Unicode "maximal subpart" practice, and the differential tests
  find no difference; no workaround is needed.
* ``normalize_encoding`` raises :class:`NodeValueError` (Node throws a
  ``TypeError`` with code ``ERR_UNKNOWN_ENCODING``); a non-string encoding
  (``5``, ``b'utf8'``) is an unknown encoding too, with ``str()`` of it in the
  message (``Unknown encoding: 5``; Node says ``true`` where Python says
  ``True``).  The empty string means "default", as ``''`` does for
  ``Buffer.from``, ``StringDecoder`` and ``Writable.write`` in Node.
  Node's pseudo-encoding ``'buffer'`` (accepted only by ``Writable.write``) is
  not an encoding here.
"""

from __future__ import annotations

import binascii
import re
from typing import Any, Callable, Union

from .errors import ERR_STR_AS_BUFFER, ERR_UNKNOWN_ENCODING, NodeValueError, invalid_arg_type

__all__ = ["ENCODINGS", "normalize_encoding", "encode", "to_bytes", "Decoder"]


# ---------------------------------------------------------------------------
# Names

_ALIASES: dict[object, str] = {
    "utf8": "utf8",
    "utf-8": "utf8",
    "ascii": "ascii",
    "latin1": "latin1",
    "binary": "latin1",
    "base64": "base64",
    "base64url": "base64url",
    "hex": "hex",
    "ucs2": "utf16le",
    "ucs-2": "utf16le",
    "utf16le": "utf16le",
    "utf-16le": "utf16le",
}

#: The canonical names :func:`normalize_encoding` returns.
ENCODINGS = frozenset(_ALIASES.values())


def _unknown_encoding(encoding: object) -> NodeValueError:
    return ERR_UNKNOWN_ENCODING(encoding)  # type: ignore[return-value]


def normalize_encoding(encoding: object, default: str = "utf8") -> str:
    """Node's encoding name -> canonical name; ``None`` (or ``''``) -> *default*.

    Case-insensitive.  Raises :class:`NodeValueError` with code
    ``ERR_UNKNOWN_ENCODING`` and Node's message (``Unknown encoding: foo``)
    for any other string, and for any non-string other than ``None``.
    *default* is returned as it is.
    """
    try:
        name = _ALIASES.get(encoding)  # the common case: a lower-case name
    except TypeError:  # unhashable
        raise _unknown_encoding(encoding) from None
    if name is not None:
        return name
    if encoding is None:
        return default
    if isinstance(encoding, str):
        if not encoding:
            return default
        name = _ALIASES.get(encoding.lower())
        if name is not None:
            return name
    raise _unknown_encoding(encoding)


# ---------------------------------------------------------------------------
# str -> bytes (Buffer.from(string, encoding))


def _encode_utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Surrogate code points.  Go through UTF-16 code units so that a valid
        # high+low pair is one character, as in JavaScript, and each lone
        # surrogate becomes U+FFFD, as V8 does.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").encode("utf-8")


def _encode_low_bytes(text: str) -> bytes:
    # Node's ascii and latin1: the low byte of each UTF-16 code unit.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass")[::2]


def _encode_utf16le(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
_B64_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_B64_SKIPPED = bytes(b for b in range(256) if b not in _B64_ALPHABET)


def _encode_base64(text: str) -> bytes:
    raw = _encode_low_bytes(text)
    stop = raw.find(b"=")
    if stop >= 0:
        raw = raw[:stop]
    raw = raw.translate(_B64_TO_STANDARD, _B64_SKIPPED)
    tail = len(raw) & 3
    if tail == 1:
        raw = raw[:-1]  # one character carries no whole byte
    elif tail:
        raw += b"=="[: 4 - tail]
    return binascii.a2b_base64(raw)


_NOT_HEX = re.compile(rb"[^0-9A-Fa-f]")


def _encode_hex(text: str) -> bytes:
    raw = _encode_low_bytes(text)
    end = len(raw) & ~1
    if end != len(raw):
        raw = raw[:end]
    try:
        return binascii.unhexlify(raw)
    except (binascii.Error, ValueError):
        bad = _NOT_HEX.search(raw)
        assert bad is not None  # unhexlify() failed on an even length: there is a non-hex digit
        return binascii.unhexlify(raw[: bad.start() & ~1])


_ENCODERS: dict[object, Callable[[str], bytes]] = {
    "utf8": _encode_utf8,
    "ascii": _encode_low_bytes,
    "latin1": _encode_low_bytes,
    "base64": _encode_base64,
    "base64url": _encode_base64,
    "hex": _encode_hex,
    "utf16le": _encode_utf16le,
}


def encode(text: str, encoding: object) -> bytes:
    """``Buffer.from(text, encoding)`` for a ``str``: returns ``bytes``.

    *encoding* should be canonical (see :func:`normalize_encoding`); any
    other accepted spelling works too, at the cost of a second lookup.
    """
    try:
        encoder = _ENCODERS.get(encoding)
    except TypeError:  # unhashable
        encoder = None
    if encoder is None:
        encoder = _ENCODERS[normalize_encoding(encoding)]
    return encoder(text)


# ---------------------------------------------------------------------------
# socket.write() chunks


_STR_ENCODERS = dict(_ENCODERS)
_STR_ENCODERS[None] = _encode_utf8  # socket.write(text): utf8


def _str_to_bytes(data: str, encoding: object) -> bytes:
    try:
        encoder = _STR_ENCODERS.get(encoding)
    except TypeError:  # unhashable
        encoder = None
    if encoder is None:
        if encoding == "buffer":
            # Node's stream base refuses a string said to be a Buffer (and crashes, unconnected).
            raise ERR_STR_AS_BUFFER()
        encoder = _ENCODERS[normalize_encoding(encoding)]
    return encoder(data)


def _copy_to_bytes(data: bytes | bytearray, encoding: object) -> bytes:
    return bytes(data)


def _view_to_bytes(data: memoryview, encoding: object) -> bytes:
    return data.tobytes()  # any format, shape or stride: the raw bytes, C order


_TO_BYTES: dict[type, Callable[[Any, object], bytes]] = {
    str: _str_to_bytes,
    bytearray: _copy_to_bytes,
    memoryview: _view_to_bytes,
}

#: What ``socket.write()`` and ``Decoder.write()`` take.
Chunk = Union[str, bytes, bytearray, memoryview]

_CHUNK_TYPES = "of type str or bytes-like (bytes, bytearray, memoryview)"


def to_bytes(data: object, encoding: object = None) -> bytes:
    """What ``socket.write(data, encoding)`` queues: always ``bytes``.

    ``bytes`` comes back as it is (no copy); ``bytearray`` and ``memoryview``
    are copied, so the caller may reuse them at once; ``str`` is encoded with
    *encoding* (default utf8; a bad name raises ``ERR_UNKNOWN_ENCODING``).
    *encoding* is ignored for bytes-likes.  Anything else raises
    :class:`NodeTypeError` ``ERR_INVALID_ARG_TYPE``.
    """
    if type(data) is bytes:
        return data
    convert = _TO_BYTES.get(type(data))
    if convert is not None:
        return convert(data, encoding)
    # Subclasses.  A bytes subclass is turned into plain bytes.
    if isinstance(data, (bytes, bytearray)):
        return _copy_to_bytes(data, encoding)
    if isinstance(data, memoryview):
        return _view_to_bytes(data, encoding)
    if isinstance(data, str):
        return _str_to_bytes(str(data), encoding)
    raise invalid_arg_type("chunk", _CHUNK_TYPES, data)


# ---------------------------------------------------------------------------
# bytes -> str (StringDecoder)


def _coerce_chunk(chunk: object) -> bytes | str:
    """A non-``bytes`` argument of ``Decoder.write``: bytes, or a str to pass through."""
    if isinstance(chunk, (bytes, bytearray)):
        return bytes(chunk)
    if isinstance(chunk, memoryview):
        return chunk.tobytes()
    if isinstance(chunk, str):  # Node's StringDecoder returns a string as is
        return str(chunk)
    raise invalid_arg_type("buf", "of type bytes-like (bytes, bytearray, memoryview)", chunk)


class Decoder:
    """Node's ``StringDecoder``: ``Decoder(encoding)``, ``.write(chunk)``, ``.end()``.

    ``write(chunk)`` returns the text decodable so far and keeps an incomplete
    character (or, for base64, an incomplete 3-byte group) for the next call;
    ``end([chunk])`` returns the rest and resets the decoder.  ``write`` also
    takes ``bytearray`` and ``memoryview``, and returns a ``str`` unchanged,
    as Node does.  ``Decoder(...)`` returns an instance of a private subclass
    specialised for the encoding; ``.encoding`` is the canonical name.
    """

    __slots__ = ("encoding",)

    encoding: str

    def __new__(cls, encoding: object = "utf8") -> Decoder:
        name = normalize_encoding(encoding)
        self = object.__new__(_DECODERS[name])
        self.encoding = name
        return self

    def __repr__(self) -> str:
        return "Decoder(%r)" % (self.encoding,)

    def write(self, chunk: Chunk) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def end(self, chunk: Chunk | None = None) -> str:
        return "" if chunk is None else self.write(chunk)


class _StatelessDecoder(Decoder):
    __slots__ = ()


class _Latin1Decoder(_StatelessDecoder):
    __slots__ = ()

    def write(self, chunk: Chunk) -> str:
        if type(chunk) is not bytes:
            chunk = _coerce_chunk(chunk)
            if isinstance(chunk, str):  # exactly str: _coerce_chunk converts subclasses
                return chunk
        return chunk.decode("latin-1")


_STRIP_HIGH_BIT = bytes(b & 0x7F for b in range(256))


class _AsciiDecoder(_StatelessDecoder):
    __slots__ = ()

    def write(self, chunk: Chunk) -> str:
        if type(chunk) is not bytes:
            chunk = _coerce_chunk(chunk)
            if isinstance(chunk, str):  # exactly str: _coerce_chunk converts subclasses
                return chunk
        if not chunk.isascii():
            chunk = chunk.translate(_STRIP_HIGH_BIT)
        return chunk.decode("ascii")


class _HexDecoder(_StatelessDecoder):
    __slots__ = ()

    def write(self, chunk: Chunk) -> str:
        if type(chunk) is not bytes:
            chunk = _coerce_chunk(chunk)
            if isinstance(chunk, str):  # exactly str: _coerce_chunk converts subclasses
                return chunk
        return chunk.hex()


# How long a UTF-8 character is, judged from its lead byte as Node's
# StringDecoder does (0 = not a lead byte that starts a multi-byte character).
_UTF8_LENGTH = bytes(
    2 if b >> 5 == 0b110 else 3 if b >> 4 == 0b1110 else 4 if b >> 3 == 0b11110 else 0 for b in range(256)
)


class _Utf8Decoder(Decoder):
    __slots__ = ("_held", "_missing")

    def __init__(self, encoding: object = "utf8") -> None:
        self._held = b""  # the start of an incomplete character
        self._missing = 0  # how many more bytes it wants

    def write(self, chunk: Chunk) -> str:
        if type(chunk) is not bytes:
            chunk = _coerce_chunk(chunk)
            if isinstance(chunk, str):  # exactly str: _coerce_chunk converts subclasses
                return chunk
        if not self._missing:
            if not chunk or chunk[-1] < 0x80:
                return chunk.decode("utf-8", "replace")
            return self._body(chunk, "")
        # Finish the character held from the previous chunk.
        missing = self._missing
        take = missing if missing < len(chunk) else len(chunk)
        i = 0
        while i < take and chunk[i] & 0xC0 == 0x80:
            i += 1
        if i < take:
            # Not a continuation byte: the held character ends here, and this
            # byte starts a new one.
            missing = 0
        else:
            missing -= i
        held = self._held + chunk[:i]
        if missing:  # the whole chunk went into the held character
            self._held = held
            self._missing = missing
            return ""
        self._held = b""
        self._missing = 0
        head = held.decode("utf-8", "replace")
        if i == len(chunk):
            return head
        chunk = chunk[i:]
        if chunk[-1] < 0x80:
            return head + chunk.decode("utf-8", "replace")
        return self._body(chunk, head)

    def _body(self, chunk: bytes, head: str) -> str:
        # chunk ends in a non-ASCII byte: hold it back if it is the start of an
        # incomplete character (Node's rules, including its blind spots).
        i = len(chunk) - 1
        count = 1
        while chunk[i] & 0xC0 == 0x80:
            if count >= 4 or i == 0:
                return head + chunk.decode("utf-8", "replace")
            i -= 1
            count += 1
        length = _UTF8_LENGTH[chunk[i]]
        if count >= length:
            return head + chunk.decode("utf-8", "replace")
        self._held = chunk[i:]
        self._missing = length - count
        return head + chunk[:i].decode("utf-8", "replace")

    def end(self, chunk: Chunk | None = None) -> str:
        text = "" if chunk is None else self.write(chunk)
        if self._held:
            text += self._held.decode("utf-8", "replace")
            self._held = b""
            self._missing = 0
        return text


class _Utf16Decoder(Decoder):
    __slots__ = ("_held",)

    def __init__(self, encoding: object = "utf16le") -> None:
        self._held = b""  # an odd byte and/or a high surrogate waiting for its pair

    def write(self, chunk: Chunk) -> str:
        if type(chunk) is not bytes:
            chunk = _coerce_chunk(chunk)
            if isinstance(chunk, str):  # exactly str: _coerce_chunk converts subclasses
                return chunk
        if self._held:
            chunk = self._held + chunk
        size = len(chunk)
        keep = size & 1
        last = size - keep - 1  # high byte of the last whole code unit
        if last > 0 and chunk[last] & 0xFC == 0xD8:
            keep += 2
        if keep:
            self._held = chunk[size - keep :]
            chunk = chunk[: size - keep]
        elif self._held:
            self._held = b""
        return chunk.decode("utf-16-le", "surrogatepass")

    def end(self, chunk: Chunk | None = None) -> str:
        text = "" if chunk is None else self.write(chunk)
        held = self._held
        if held:
            self._held = b""
            if len(held) & 1:
                held = held[:-1]  # a lone trailing byte is dropped, as Node does
            text += held.decode("utf-16-le", "surrogatepass")
        return text


class _Base64Decoder(Decoder):
    __slots__ = ("_held",)

    def __init__(self, encoding: object = "base64") -> None:
        self._held = b""  # 0-2 bytes of an incomplete 3-byte group

    def _encode(self, data: bytes, final: bool) -> str:
        return binascii.b2a_base64(data, newline=False).decode("ascii")

    def write(self, chunk: Chunk) -> str:
        if type(chunk) is not bytes:
            chunk = _coerce_chunk(chunk)
            if isinstance(chunk, str):  # exactly str: _coerce_chunk converts subclasses
                return chunk
        if self._held:
            chunk = self._held + chunk
        keep = len(chunk) % 3
        if keep:
            self._held = chunk[-keep:]
            chunk = chunk[:-keep]
        elif self._held:
            self._held = b""
        return self._encode(chunk, False)

    def end(self, chunk: Chunk | None = None) -> str:
        text = "" if chunk is None else self.write(chunk)
        if self._held:
            text += self._encode(self._held, True)
            self._held = b""
        return text


_B64_TO_URL = bytes.maketrans(b"+/", b"-_")


class _Base64UrlDecoder(_Base64Decoder):
    __slots__ = ()

    def _encode(self, data: bytes, final: bool) -> str:
        # base64url never pads; only the final group can need padding
        encoded = binascii.b2a_base64(data, newline=False)
        return encoded.translate(_B64_TO_URL, b"=" if final else b"").decode("ascii")


_DECODERS: dict[str, type[Decoder]] = {
    "utf8": _Utf8Decoder,
    "ascii": _AsciiDecoder,
    "latin1": _Latin1Decoder,
    "base64": _Base64Decoder,
    "base64url": _Base64UrlDecoder,
    "hex": _HexDecoder,
    "utf16le": _Utf16Decoder,
}
