"""Node's string encodings: ``Buffer.from(string, encoding)`` and ``StringDecoder``.

Everything a socket does with text goes through here:

* :func:`normalize_encoding` turns any spelling Node accepts into one canonical
  name (``'utf8'``, ``'ascii'``, ``'latin1'``, ``'base64'``, ``'base64url'``,
  ``'hex'``, ``'utf16le'``).
* :func:`encode` is ``Buffer.from(text, encoding)``, byte for byte.
* :func:`to_bytes` is what ``socket.write(data, encoding)`` does to its chunk.
* :class:`Decoder` is Node's ``StringDecoder`` (``socket.setEncoding()``).

The names are ``encoding_names.py``'s and the decoder ``string_decoder.py``'s
(each says where it differs from Node); this module re-exports them, and holds
the str -> bytes side.

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
"""

from __future__ import annotations

import binascii
import re
from typing import Any, Callable, Union

from .encoding_names import ENCODINGS, normalize_encoding
from .errors import ERR_STR_AS_BUFFER, invalid_arg_type
from .string_decoder import Decoder

__all__ = ["ENCODINGS", "normalize_encoding", "encode", "to_bytes", "Decoder"]


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
