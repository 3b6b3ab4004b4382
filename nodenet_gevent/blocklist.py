"""``net.BlockList``: rules (addresses, ranges, subnets) that IP addresses are checked against.

Matching is Node's, rule by rule:

* A rule and an address of the same family compare as numbers.
* Across families, an IPv6 address stands for an IPv4 one only when it is
  IPv4-mapped (``::ffff:a.b.c.d``): the IPv4 rule ``1.2.3.4`` matches
  ``check('::ffff:1.2.3.4', 'ipv6')``, and the IPv6 rule ``::ffff:1.2.3.4``
  matches ``check('1.2.3.4')``.  No other IPv6 address is ever inside an IPv4
  range or subnet (``::1.2.3.4``, IPv4-compatible, is not).
* An IPv4 address checked against an IPv6 *subnet* is first mapped to
  ``::ffff:a.b.c.d``, so ``::/0`` (and ``::ffff:0:0/96``) hold every IPv4
  address.
* A range whose ends are of different families (possible with
  :class:`SocketAddress` arguments) is accepted when they cannot be ordered,
  and then matches nothing; it is refused when the start comes after the end.

Invalid address text given to :meth:`BlockList.check` is "not blocked"
(``False``), not an error, as in Node.  ``rules`` lists the newest rule first
and, as Node 20 does, keeps a rule added twice twice.

For the code that enforces a list (``connect``/``listen`` with a
``blockList`` option), :func:`is_blocked` answers for a peer's address as a
socket reports it, :func:`ip_blocked_error` is Node's ``ERR_IP_BLOCKED`` and
:func:`validate_block_list` checks the option.
"""

from __future__ import annotations

import socket

from .errors import ERR_INVALID_ARG_VALUE, ERR_IP_BLOCKED, NodeError
from .socketaddress import SocketAddress
from .validators import validate_integer, validate_string

__all__ = ["BlockList", "is_blocked", "ip_blocked_error", "validate_block_list"]

_MAPPED_HIGH_BITS = 0xFFFF  # ::ffff:0:0/96, shifted right by 32


def _as_ipv4(address: SocketAddress) -> int | None:
    """The IPv4 address *address* stands for: itself, or its IPv4-mapped tail."""
    if address._family == "ipv4":
        return address._value
    if address._value >> 32 == _MAPPED_HIGH_BITS:
        return address._value & 0xFFFFFFFF
    return None


def _compare(one: SocketAddress, other: SocketAddress) -> int | None:
    """-1, 0 or 1 as *one* is below, equal to or above *other*; ``None`` if they cannot be ordered."""
    if one._family == other._family:
        a, b = one._value, other._value
    else:
        a_v4, b_v4 = _as_ipv4(one), _as_ipv4(other)
        if a_v4 is None or b_v4 is None:
            return None
        a, b = a_v4, b_v4
    return (a > b) - (a < b)


def _in_subnet(address: SocketAddress, network: SocketAddress, prefix: int) -> bool:
    if network._family == "ipv4":
        value = _as_ipv4(address)
        if value is None:
            return False
        bits = 32
    else:
        value = address._value if address._family == "ipv6" else _MAPPED_HIGH_BITS << 32 | address._value
        bits = 128
    mask = ((1 << prefix) - 1) << (bits - prefix)
    return value & mask == network._value & mask


def _family_label(address: SocketAddress) -> str:
    return "IPv4" if address._family == "ipv4" else "IPv6"


class _AddressRule:
    __slots__ = ("address",)

    def __init__(self, address: SocketAddress) -> None:
        self.address = address

    def applies(self, address: SocketAddress) -> bool:
        return _compare(address, self.address) == 0

    def __str__(self) -> str:
        return "Address: %s %s" % (_family_label(self.address), self.address.address)


class _RangeRule:
    __slots__ = ("start", "end")

    def __init__(self, start: SocketAddress, end: SocketAddress) -> None:
        self.start = start
        self.end = end

    def applies(self, address: SocketAddress) -> bool:
        above_start = _compare(address, self.start)
        below_end = _compare(address, self.end)
        return above_start is not None and above_start >= 0 and below_end is not None and below_end <= 0

    def __str__(self) -> str:
        return "Range: %s %s-%s" % (_family_label(self.start), self.start.address, self.end.address)


class _SubnetRule:
    __slots__ = ("network", "prefix")

    def __init__(self, network: SocketAddress, prefix: int) -> None:
        self.network = network
        self.prefix = prefix

    def applies(self, address: SocketAddress) -> bool:
        return _in_subnet(address, self.network, self.prefix)

    def __str__(self) -> str:
        return "Subnet: %s %s/%d" % (_family_label(self.network), self.network.address, self.prefix)


def _socket_address(value: object, name: str, family: object) -> SocketAddress:
    """Node's ``new SocketAddress({address: value, family})`` after validateString of both."""
    if isinstance(value, SocketAddress):
        return value
    validate_string(value, name)
    if family is None:
        family = "ipv4"
    validate_string(family, "family")
    return SocketAddress(address=value, family=family)


class BlockList:
    """Node's ``net.BlockList()``.

    Every method takes an address as text (with *family* ``'ipv4'``, the
    default, or ``'ipv6'``, in any case) or as a :class:`SocketAddress` (whose
    own family counts; *family* is then not looked at).  A missing argument
    (or ``None``) is JavaScript's ``undefined``: Node's error, with its code,
    or the default for *family*.
    """

    __slots__ = ("_rules",)

    def __init__(self) -> None:
        self._rules: list[_AddressRule | _RangeRule | _SubnetRule] = []  # newest last

    def add_address(self, address: str | SocketAddress | None = None, family: str | None = "ipv4") -> None:
        """Block one address."""
        self._rules.append(_AddressRule(_socket_address(address, "address", family)))

    def add_range(
        self, start: str | SocketAddress | None = None, end: str | SocketAddress | None = None,
        family: str | None = "ipv4",
    ) -> None:
        """Block every address from *start* to *end*, both included.

        ``ERR_INVALID_ARG_VALUE`` if *start* comes after *end*.
        """
        first = _socket_address(start, "start", family)
        last = _socket_address(end, "end", family)
        if _compare(first, last) == 1:
            raise ERR_INVALID_ARG_VALUE.value_error("argument", "start", "must come before end", first)
        self._rules.append(_RangeRule(first, last))

    def add_subnet(
        self, net: str | SocketAddress | None = None, prefix: int | None = None, family: str | None = "ipv4"
    ) -> None:
        """Block the *prefix*-bit network *net* (0-32 for IPv4, 0-128 for IPv6)."""
        network = _socket_address(net, "network", family)
        prefix = validate_integer(prefix, "prefix", 0, 32 if network._family == "ipv4" else 128)
        self._rules.append(_SubnetRule(network, prefix))

    def check(self, address: str | SocketAddress | None = None, family: str | None = "ipv4") -> bool:
        """``True`` if a rule blocks *address*; invalid address text is not blocked."""
        if not isinstance(address, SocketAddress):
            validate_string(address, "address")
            if family is None:
                family = "ipv4"
            validate_string(family, "family")
            try:
                address = SocketAddress(address=address, family=family)
            except NodeError:
                return False
        return any(rule.applies(address) for rule in self._rules)

    @property
    def rules(self) -> list[str]:
        """The rules as Node prints them, newest first: ``['Subnet: IPv6 ::/64', 'Address: IPv4 1.1.1.1']``."""
        return [str(rule) for rule in reversed(self._rules)]

    def __repr__(self) -> str:
        # Node's util.inspect() form.
        rules = self.rules
        return "BlockList { rules: %s }" % ("[ %s ]" % ", ".join(map(repr, rules)) if rules else "[]")

    @staticmethod
    def is_block_list(value: object) -> bool:
        """Node 22's ``BlockList.isBlockList(value)``."""
        return isinstance(value, BlockList)

    addAddress = add_address
    addRange = add_range
    addSubnet = add_subnet
    isBlockList = is_block_list


_FAMILIES: dict[object, str] = {
    "ipv4": "ipv4", "ipv6": "ipv6", 4: "ipv4", 6: "ipv6",
    socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6",
}


def is_blocked(block_list: BlockList, address: object, family: str | int | None = None) -> bool:
    """Whether *block_list* blocks *address*, for the code that enforces a list.

    *family* may be given as a socket reports it (``'IPv4'``/``'IPv6'``, as
    in ``address()``), as Node's ``4``/``6``, as ``socket.AF_INET``/
    ``AF_INET6``, or left out (``':'`` in the text means IPv6).  A zone
    (``fe80::1%eth0``) is ignored.  Text that is not an address, or an unknown
    family, is not blocked; this never raises.
    """
    if not isinstance(address, str):
        return False
    if family is None:
        name: str | None = "ipv6" if ":" in address else "ipv4"
    else:
        name = _FAMILIES.get(family.lower() if isinstance(family, str) else family)
    return name is not None and block_list.check(address, name)


def ip_blocked_error(address: object) -> NodeError:
    """Node's ``ERR_IP_BLOCKED``, the ``'error'`` of a connection a block list refused."""
    return ERR_IP_BLOCKED(address)


def validate_block_list(value: object, name: str = "options.blockList") -> BlockList:
    """The ``blockList`` option: a :class:`BlockList`, else ``ERR_INVALID_ARG_VALUE`` (a ``TypeError``)."""
    if not isinstance(value, BlockList):
        kind = "property" if "." in name else "argument"
        raise ERR_INVALID_ARG_VALUE(kind, name, "must be a net.BlockList", value)
    return value
