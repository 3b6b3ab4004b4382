"""The parsed PROXY protocol header: :class:`ProxyHeader`, an immutable value.

``proxy_protocol.py`` makes it (and re-exports it: import it from either); a server's
accepted socket carries it as ``socket.proxyHeader`` (``proxy_accept.py``).
"""

from __future__ import annotations

__all__ = ["ProxyHeader", "Tlvs"]

#: v2's type-length-value fields in the order sent, as ``(type, value)`` pairs.
Tlvs = tuple[tuple[int, bytes], ...]


class ProxyHeader:
    """A parsed PROXY protocol header; immutable.

    ``version``: 1 or 2.  ``command``: ``'PROXY'``, or ``'LOCAL'`` (v2 only: the proxy's own
    connection, a health check; use the real endpoints).  ``family``: ``'IPv4'``, ``'IPv6'``,
    ``'unix'``, or ``None`` when the header carries no usable address (v1 ``UNKNOWN``, v2
    ``LOCAL`` or ``UNSPEC``); the addresses and ports are ``None`` then.  ``transport``:
    ``'STREAM'`` (TCP, and always for v1), ``'DGRAM'`` (v2 only), or ``None`` with ``family``.
    Addresses are strings in the form ``getpeername()`` gives (``'::ffff:1.2.3.4'`` for a
    mapped IPv4 address); a Unix address is the path, or ``'\\0name'`` for Linux's abstract
    namespace, and has no port.  ``tlvs``: v2's type-length-value fields in the order sent,
    as ``(type, value)`` pairs (empty for v1); :meth:`tlv` finds one.
    """

    __slots__ = (
        "version",
        "command",
        "family",
        "transport",
        "source_address",
        "source_port",
        "dest_address",
        "dest_port",
        "tlvs",
    )

    version: int
    command: str
    family: str | None
    transport: str | None
    source_address: str | None
    source_port: int | None
    dest_address: str | None
    dest_port: int | None
    tlvs: Tlvs

    def __init__(
        self,
        version: int,
        command: str = "PROXY",
        family: str | None = None,
        transport: str | None = None,
        source_address: str | None = None,
        source_port: int | None = None,
        dest_address: str | None = None,
        dest_port: int | None = None,
        tlvs: Tlvs = (),
    ) -> None:
        values = (version, command, family, transport, source_address, source_port, dest_address, dest_port,
                  tuple(tlvs))
        for name, value in zip(self.__slots__, values):
            object.__setattr__(self, name, value)

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ProxyHeader is immutable: cannot set %r" % name)

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ProxyHeader is immutable: cannot delete %r" % name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProxyHeader):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return "ProxyHeader(%s)" % ", ".join("%s=%r" % (name, getattr(self, name)) for name in self.__slots__)

    def __reduce__(self) -> tuple[type[ProxyHeader], tuple[object, ...]]:
        # The default would restore the slots with setattr, which is refused.
        return (ProxyHeader, self._fields())

    def tlv(self, type: int) -> bytes | None:
        """The value of the first TLV of this *type*, or ``None``."""
        for kind, value in self.tlvs:
            if kind == type:
                return value
        return None
