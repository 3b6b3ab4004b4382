"""Node's encoding names: every spelling Node accepts -> one canonical name.

:func:`normalize_encoding` is the one place a name is read, for ``encodings.py``
(``Buffer.from``, ``socket.write``) and ``string_decoder.py`` (``StringDecoder``);
``encodings.py`` re-exports it with :data:`ENCODINGS`.

Where Python differs from Node, by choice:

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

from .errors import ERR_UNKNOWN_ENCODING, NodeValueError

__all__ = ["ENCODINGS", "normalize_encoding"]


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
