"""The acceptor: the greenlet of a listening :class:`~nodenet_gevent.server.Server` that accepts.

``Server.listen()`` starts :func:`accept_loop` on the listening gevent socket.  It accepts
until the OS has no connection left (``EAGAIN``), then waits for readiness, as libuv does;
it lets other greenlets run every ``Server.ACCEPTS_BEFORE_YIELD`` connections.  Each
connection becomes a socket of ``Server.SOCKET_CLASS`` (made by its ``_accepted``
classmethod), whose own reader greenlet emits ``'connection'``: the acceptor never runs a
handler.  A connection beyond ``maxConnections``, or from an address the ``blockList``
blocks, is closed at once and reported as ``'drop'`` (:func:`drop`).

Accept errors: running out of descriptors or memory (``Server.BACKOFF_ERRNOS``) backs off,
doubling from ``Server.MIN_BACKOFF`` up to ``Server.MAX_BACKOFF`` seconds; an error that
concerns one connection only (``Server.TRANSIENT_ERRNOS``) skips it; any other is the
server's ``'error'`` and ends the acceptor.  The loop ends as soon as *handle* is no longer
the server's ``_handle`` (``close()`` clears it first; a later ``listen()`` has a new one).
"""

from __future__ import annotations

import socket as _stdlib_socket
from typing import TYPE_CHECKING, Any

import gevent
from gevent import socket as gsocket
from gevent.hub import get_hub

from ._gevent import os_socket, readiness
from .addresses import Peer, describe_address
from .errors import os_error
from .loop import next_tick
from .socket import Socket

if TYPE_CHECKING:
    from .server import Server

__all__ = ["accept_loop", "drop"]

_SOCK_STREAM = int(_stdlib_socket.SOCK_STREAM)
_AF_UNIX = int(_stdlib_socket.AF_UNIX)
_AF_INET6 = int(_stdlib_socket.AF_INET6)


def accept_loop(server: Server, handle: Any) -> None:
    """Accept connections on *handle* (a listening gevent socket) for *server* while it listens there."""
    # Straight to the OS socket's _accept() (the C call: a descriptor and an
    # address): gevent's accept() wrapper costs a dozen Python calls per
    # connection, most of them turning the listener's type into an enum.
    # Accept until EAGAIN, then wait for readiness, as libuv does.
    if server._handle is not handle:
        return  # closed before this greenlet first ran
    raw_accept = os_socket(handle)._accept
    wait, read_event = readiness(handle)
    family, proto = int(handle.family), handle.proto
    make_socket = gsocket.socket
    hub = get_hub()
    delay = 0.0
    accepted = 0
    block_list, hwm = server._block_list, server._hwm
    accepted_socket = server.SOCKET_CLASS._accepted
    while server._handle is handle:
        try:
            try:
                fd, peer = raw_accept()
            except BlockingIOError:
                wait(read_event)
                continue
        except OSError as error:  # also gevent's "closed in another greenlet" from wait()
            if server._handle is not handle:
                return  # closed under us
            if error.errno in server.BACKOFF_ERRNOS:
                delay = min(server.MAX_BACKOFF, max(server.MIN_BACKOFF, delay * 2))
                gevent.sleep(delay)
                continue
            if error.errno in server.TRANSIENT_ERRNOS:
                continue
            server._emit_reported("error", os_error(error, "accept"))
            return
        delay = 0.0
        conn = make_socket(family, _SOCK_STREAM, proto, fileno=fd)
        limit = server._max_connections
        if limit and len(server._connections) >= limit:  # 0: no limit (Node)
            drop(server, conn, peer)
            continue
        if block_list is not None and family != _AF_UNIX and block_list.check(
            peer[0], "ipv6" if family == _AF_INET6 else "ipv4"
        ):
            drop(server, conn, peer)  # Node 22 closes it before 'connection'; 'drop' says so here
            continue
        sock = accepted_socket(conn, peer, server, server._allow_half_open, server._pause_on_connect, hub)
        if hwm != Socket.HIGH_WATER_MARK:
            sock._hwm = hwm
        if server._socket_options:
            sock._apply_socket_options(server._socket_options)
        server._connections.add(sock)
        accepted += 1
        if accepted >= server.ACCEPTS_BEFORE_YIELD:
            accepted = 0
            gevent.sleep(0)


def drop(server: Server, conn: Any, peer: Peer) -> None:
    """Close *conn* unseen; *server* emits ``'drop'`` with its addresses on the next tick."""
    info: dict[str, Any] = {}
    try:
        local = describe_address(conn.getsockname(), conn.family)
        info = {
            "localAddress": local.get("address"), "localPort": local.get("port"), "localFamily": local.get("family")
        }
        if conn.family != _stdlib_socket.AF_UNIX:
            remote = describe_address(peer, conn.family)
            info.update(remoteAddress=remote["address"], remotePort=remote["port"], remoteFamily=remote["family"])
    except OSError:
        pass
    conn.close()
    next_tick(server._emit_reported, "drop", info, context=server._context)
