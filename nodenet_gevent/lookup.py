"""Name lookups, for connecting and for listening: one cooperative ``getaddrinfo``.

Both sides need the same things: an IP literal is not looked up at all; a name
is checked for IDNA here (gevent's resolver thread would print the error on
top of raising it); a failure becomes Node's ``getaddrinfo ENOTFOUND host``;
and the lookup runs on gevent's resolver without a traceback from its worker.
"""

from __future__ import annotations

import _socket
import socket as _stdlib_socket
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import gevent
from gevent import socket as gsocket
from gevent.event import Event
from gevent.hub import get_hub

from .args import attempt_timeout_ms
from .errors import ERR_INVALID_IP_ADDRESS, invalid_address_family, invalid_arg_type, lookup_error
from .ip import is_ip

if TYPE_CHECKING:
    from .args import TcpTarget
    from .emitter import EventEmitter

__all__ = [
    "getaddrinfo",
    "resolve",
    "look_up",
    "ConnectFailure",
    "defaults",
    "get_default_auto_select_family",
    "set_default_auto_select_family",
    "get_default_auto_select_family_attempt_timeout",
    "set_default_auto_select_family_attempt_timeout",
]

# The C function, never gevent's (which monkey-patching puts in ``socket``):
# it runs in a worker thread.
_system_getaddrinfo = _socket.getaddrinfo

# What getaddrinfo() returns one of: (family, type, proto, canonname, sockaddr).
_AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]


def resolve(host: str, port: int, family: int = 0, flags: int = 0) -> list[tuple[int, str]]:
    """``[(family, address), ...]`` for *host*, in the resolver's order, without repeats.

    *flags* are getaddrinfo's (Node's ``hints``).  An IP literal is its own
    answer.  A failure raises Node's lookup error (``code`` ``'ENOTFOUND'``,
    ``syscall`` ``'getaddrinfo'``, ``hostname``).
    """
    version = is_ip(host)
    if version:
        return [(_stdlib_socket.AF_INET6 if version == 6 else _stdlib_socket.AF_INET, host)]
    try:
        host.encode("idna")
        infos = getaddrinfo(host, port, family, _stdlib_socket.SOCK_STREAM, _stdlib_socket.IPPROTO_TCP, flags)
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


def getaddrinfo(host: str | bytes | None, port: str | int | None, family: int = 0, type: int = 0, proto: int = 0,
                flags: int = 0) -> list[_AddrInfo]:
    """Cooperative ``getaddrinfo`` that raises its failure in the caller only.

    gevent's default (thread) resolver reports a failed lookup from its worker
    thread as well, printing a traceback for an error the caller handles; a
    lookup that cannot fail in the worker keeps stderr for real problems.
    Other resolvers (ares, dnspython) are used as gevent is configured.
    """
    hub = get_hub()
    if _type_name(hub.resolver) != "gevent.resolver.thread.Resolver":
        infos: list[_AddrInfo] = gsocket.getaddrinfo(host, port, family, type, proto, flags)
        return infos
    result: list[_AddrInfo]  # None only with an error
    error: BaseException | None
    result, error = hub.threadpool.apply(_getaddrinfo_quietly, (host, port, family, type, proto, flags))
    if error is not None:
        raise error
    return result


def _type_name(obj: object) -> str:
    cls = type(obj)
    return "%s.%s" % (cls.__module__, cls.__qualname__)


# ---------------------------------------------------------------------------
# Happy Eyeballs' defaults (net.getDefaultAutoSelectFamily() and friends)


class _Defaults:
    """The process-wide defaults of ``autoSelectFamily`` and its attempt timeout (ms), Node 20's."""

    __slots__ = ("auto_select_family", "attempt_timeout")

    def __init__(self) -> None:
        self.auto_select_family = True
        self.attempt_timeout = 250


defaults = _Defaults()


def get_default_auto_select_family() -> bool:
    """``net.getDefaultAutoSelectFamily()``: whether connect() uses Happy Eyeballs by default."""
    return defaults.auto_select_family


def set_default_auto_select_family(value: bool) -> None:
    """``net.setDefaultAutoSelectFamily(value)``."""
    if not isinstance(value, bool):
        raise invalid_arg_type("value", "of type boolean", value)
    defaults.auto_select_family = value


def get_default_auto_select_family_attempt_timeout() -> int:
    """``net.getDefaultAutoSelectFamilyAttemptTimeout()``: ms per attempt (250)."""
    return defaults.attempt_timeout


def set_default_auto_select_family_attempt_timeout(value: int) -> None:
    """``net.setDefaultAutoSelectFamilyAttemptTimeout(value)``: an integer >= 1; below 10 counts as 10."""
    defaults.attempt_timeout = attempt_timeout_ms(value)


class ConnectFailure(Exception):
    """Carries a connect failure that is not an ``OSError`` (a user's lookup error,
    ``ERR_IP_BLOCKED``) to the one place that destroys the socket with it."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


def lookup_options(target: TcpTarget, all_addresses: bool) -> dict[str, Any]:
    """What Node's connect() gives its lookup: ``hints``, ``family`` if the caller gave one, ``all``.

    As Node does (but on Windows), a lookup for either family with no hints
    asks for ``AI_ADDRCONFIG``: only the families this machine has addresses of.
    """
    family = target.family
    options: dict[str, Any] = {"hints": target.hints}
    if family == _stdlib_socket.AF_INET6 or family == _stdlib_socket.AF_INET:
        options["family"] = 6 if family == _stdlib_socket.AF_INET6 else 4
    else:
        if target.family_given:
            options["family"] = 0
        if not target.hints and sys.platform != "win32":
            options["hints"] = _stdlib_socket.AI_ADDRCONFIG
    if all_addresses:
        options["all"] = True
    return options


def look_up(sock: EventEmitter, target: TcpTarget, all_addresses: bool) -> list[tuple[int, str]] | None:
    """Resolve *target*'s host for a connecting socket: ``[(family, address), ...]`` to try, in order.

    With the user's ``lookup(hostname, options, callback)`` it is called as Node
    calls it (:func:`lookup_options`), and the socket's reader waits until the
    callback comes -- from any greenlet, at once or later -- or the socket is
    destroyed (then ``None``).  ``'lookup'`` is emitted as Node does: once per
    address answered (every one of them when *all_addresses*), or once with
    the error.  A failure raises: the resolver's (an ``OSError``), or the
    user's, or a bad answer's, wrapped in :class:`ConnectFailure`.
    """
    host = target.host
    options = lookup_options(target, all_addresses)
    if target.lookup is None:
        try:
            found = resolve(host, target.port, target.family, options["hints"])
        except _stdlib_socket.gaierror as failure:  # Node's lookup error already
            sock.emit("lookup", failure, None, None, host)
            raise
        answers: list[tuple[Any, Any]] = [
            (address, 6 if family == _stdlib_socket.AF_INET6 else 4) for family, address in found
        ]
        if not all_addresses:
            del answers[1:]  # dns.lookup() without all: the first address
    else:
        asked = _ask(sock, target, options)
        if asked is None:
            return None
        error, answers = asked
        if error is not None:
            sock.emit("lookup", error, None, None, host)
            raise ConnectFailure(error)  # the user's error object, as it is
    return _addresses_to_try(sock, target, answers)


def _addresses_to_try(
    sock: EventEmitter, target: TcpTarget, answers: list[tuple[Any, Any]]
) -> list[tuple[int, str]] | None:
    """Node's filter of a lookup's answers: ``'lookup'`` for each; IPs of family 4 or 6 kept, once each.

    The families alternate, the first usable answer's first (RFC 8305, as
    Node 20 orders them).  When none is usable, the first answer says why.
    """
    groups: dict[int, list[tuple[int, str]]] = {}
    for ip, version in answers:
        sock.emit("lookup", None, ip, version, target.host)
        if sock.destroyed:  # type: ignore[attr-defined]  # by a 'lookup' handler
            return None
        if isinstance(ip, str) and is_ip(ip) and (version == 4 or version == 6) and not isinstance(version, bool):
            group = groups.setdefault(int(version), [])
            pair = (_stdlib_socket.AF_INET6 if version == 6 else _stdlib_socket.AF_INET, ip)
            if pair not in group:
                group.append(pair)
    if not groups:
        if not answers:
            no_address = _stdlib_socket.gaierror(_stdlib_socket.EAI_NONAME, "no address")
            raise ConnectFailure(lookup_error(no_address, target.host))
        ip, version = answers[0]
        if not (isinstance(ip, str) and is_ip(ip)):
            raise ConnectFailure(ERR_INVALID_IP_ADDRESS(ip if isinstance(ip, str) else repr(ip)))
        raise ConnectFailure(invalid_address_family(version, target.host, target.port))
    first, *rest = groups.values()
    others = rest[0] if rest else []
    ordered: list[tuple[int, str]] = []
    for index in range(max(len(first), len(others))):
        ordered.extend(group[index] for group in (first, others) if index < len(group))
    return ordered


def _ask(
    sock: EventEmitter, target: TcpTarget, options: dict[str, Any]
) -> tuple[BaseException | None, list[tuple[Any, Any]]] | None:
    """Call the user's lookup and wait for its answer: ``(error, [(ip, family), ...])``, or ``None`` if destroyed."""
    answered = Event()
    answer: list[Any] = []

    def callback(error: BaseException | None = None, address: Any = None, family: Any = None) -> None:
        if not answer:
            answer.append((error, address, family))
            answered.set()

    assert target.lookup is not None
    target.lookup(target.host, options, callback)
    while not answer:
        if sock.destroyed:  # type: ignore[attr-defined]
            return None
        park = sock._park  # type: ignore[attr-defined]  # destroy() sets it
        if park is None:
            park = sock._park = Event()  # type: ignore[attr-defined]
        park.clear()
        gevent.wait([answered, park], count=1)
    error, address, family = answer[0]
    if error is not None:
        return error, []
    if not options.get("all") or not isinstance(address, (list, tuple)):
        return None, [(address, family)]  # (a single answer to an 'all' question is taken as one)
    answers: list[tuple[Any, Any]] = []
    for entry in address:
        if isinstance(entry, Mapping):
            answers.append((entry.get("address"), entry.get("family")))
        elif isinstance(entry, (list, tuple)) and len(entry) == 2:
            answers.append((entry[0], entry[1]))
        else:
            answers.append((entry, None))
    return None, answers
