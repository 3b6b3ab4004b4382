"""Name lookups, for connecting and for listening: one cooperative ``getaddrinfo``.

Both sides need the same things: an IP literal is not looked up at all; a name
is checked for IDNA here (gevent's resolver thread would print the error on
top of raising it); a failure becomes Node's ``getaddrinfo ENOTFOUND host``;
and the lookup runs on gevent's resolver without a traceback from its worker.
"""

from __future__ import annotations

import _socket
import socket as _stdlib_socket
from typing import Any

from gevent import socket as gsocket
from gevent.hub import get_hub

from .errors import lookup_error
from .ip import is_ip

__all__ = ["getaddrinfo", "resolve"]

# The C function, never gevent's (which monkey-patching puts in ``socket``):
# it runs in a worker thread.
_system_getaddrinfo = _socket.getaddrinfo

# What getaddrinfo() returns one of: (family, type, proto, canonname, sockaddr).
_AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]


def resolve(host: str, port: int, family: int = 0) -> list[tuple[int, str]]:
    """``[(family, address), ...]`` for *host*, in the resolver's order, without repeats.

    An IP literal is its own answer.  A failure raises Node's lookup error
    (``code`` ``'ENOTFOUND'``, ``syscall`` ``'getaddrinfo'``, ``hostname``).
    """
    version = is_ip(host)
    if version:
        return [(_stdlib_socket.AF_INET6 if version == 6 else _stdlib_socket.AF_INET, host)]
    try:
        host.encode("idna")
        infos = getaddrinfo(host, port, family, _stdlib_socket.SOCK_STREAM, _stdlib_socket.IPPROTO_TCP)
    except (_stdlib_socket.gaierror, UnicodeError) as error:
        raise lookup_error(error, host) from error
    addresses: list[tuple[int, str]] = []
    for info in infos:
        pair = (info[0], info[4][0])
        if pair not in addresses:
            addresses.append(pair)
    return addresses


def _getaddrinfo_quietly(*args: Any) -> tuple[list[_AddrInfo] | None, BaseException | None]:
    try:
        return _system_getaddrinfo(*args), None
    except (OSError, UnicodeError) as error:
        return None, error


def getaddrinfo(host: str | bytes | None, port: str | int | None, family: int = 0, type: int = 0, proto: int = 0
                ) -> list[_AddrInfo]:
    """Cooperative ``getaddrinfo`` that raises its failure in the caller only.

    gevent's default (thread) resolver reports a failed lookup from its worker
    thread as well, printing a traceback for an error the caller handles; a
    lookup that cannot fail in the worker keeps stderr for real problems.
    Other resolvers (ares, dnspython) are used as gevent is configured.
    """
    hub = get_hub()
    if _type_name(hub.resolver) != "gevent.resolver.thread.Resolver":
        infos: list[_AddrInfo] = gsocket.getaddrinfo(host, port, family, type, proto)
        return infos
    result: list[_AddrInfo]  # None only with an error
    error: BaseException | None
    result, error = hub.threadpool.apply(_getaddrinfo_quietly, (host, port, family, type, proto))
    if error is not None:
        raise error
    return result


def _type_name(obj: object) -> str:
    cls = type(obj)
    return "%s.%s" % (cls.__module__, cls.__qualname__)
