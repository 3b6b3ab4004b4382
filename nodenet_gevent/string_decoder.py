"""Node's ``StringDecoder``: bytes -> str, chunk by chunk (``socket.setEncoding()``).

:class:`Decoder` (``Decoder(encoding)``, ``.write(chunk)``, ``.end()``); ``encodings.py``
re-exports it, and its module docstring says how a Python ``str`` stands for a
JavaScript string.

Node behaviours reproduced here (checked against Node 20 by
``tests/test_encodings.py``):

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
"""

from __future__ import annotations

import binascii
from typing import TYPE_CHECKING

from .encoding_names import normalize_encoding
from .errors import invalid_arg_type

if TYPE_CHECKING:
    from .encodings import Chunk

__all__ = ["Decoder"]


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
