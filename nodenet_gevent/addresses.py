"""Addresses as Node reports them: ``{'address', 'family', 'port'}``, for sockets and servers."""

from __future__ import annotations

import socket as _stdlib_socket
from typing import Any, TypedDict, Union

__all__ = ["AddressInfo", "Peer", "describe_address", "family_name", "is_inet"]


class AddressInfo(TypedDict, total=False):
    """What ``address()`` returns: ``{'address', 'family', 'port'}`` for TCP
    (``family`` is ``'IPv4'`` or ``'IPv6'``), ``{'address'}`` for a Unix socket,
    ``{}`` for a socket that is not connected."""

    address: str
    family: str
    port: int


#: A peer's address as getpeername()/accept() give it: a tuple for TCP, a path for Unix.
Peer = Union[tuple[Any, ...], str, bytes, None]

_INET_FAMILIES = (_stdlib_socket.AF_INET, _stdlib_socket.AF_INET6)


def family_name(family: int) -> str:
    """``AF_INET6`` -> ``'IPv6'``, anything else -> ``'IPv4'`` (Node's names)."""
    return "IPv6" if family == _stdlib_socket.AF_INET6 else "IPv4"


def is_inet(family: int) -> bool:
    """A TCP/IP family (where TCP options such as ``TCP_NODELAY`` apply)."""
    return family in _INET_FAMILIES


def describe_address(sockaddr: Any, family: int) -> AddressInfo:
    """A socket address from the OS, in Node's shape."""
    if family == _stdlib_socket.AF_UNIX:
        return {"address": sockaddr if isinstance(sockaddr, str) else sockaddr.decode(errors="replace")}
    return {"address": sockaddr[0], "family": family_name(family), "port": sockaddr[1]}
