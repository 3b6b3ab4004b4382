"""Binding a listening socket: TCP (dual-stack by default, as Node) and Unix paths.

``server.listen()`` decides what to bind (``listen_args.listen_request``); these make
the listening gevent socket, or raise Node's ``listen`` error.  A Unix socket
file is recorded with who it is, so that close() removes it only if it is
still ours.
"""

from __future__ import annotations

import errno
import os
import socket as _stdlib_socket
import stat
from collections.abc import Mapping
from typing import Any

from gevent import socket as gsocket

from .errors import os_error
from .lookup import resolve

__all__ = ["bind_tcp", "bind_unix", "remove_unix_path", "UnixPath"]

#: A Unix socket file we created, and who it is (device, inode, type), to unlink on close.
UnixPath = tuple["str | bytes", tuple[int, int, int]]


def bind_unix(path: str | bytes, backlog: int, options: Mapping[str, Any]) -> tuple[Any, UnixPath | None]:
    """A gevent socket listening on *path*, and the file to remove on close (``None``: abstract)."""
    handle = gsocket.socket(_stdlib_socket.AF_UNIX, _stdlib_socket.SOCK_STREAM)
    try:
        # A path that exists is someone's: never unlink a file we did not
        # create.  bind() reports EADDRINUSE for it, as Node does.
        handle.bind(path)
        mode = (stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH if options.get("readableAll") else 0) | (
            stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH if options.get("writableAll") else 0
        )
        if mode:
            os.chmod(path, os.stat(path).st_mode | mode)
        handle.listen(backlog)
        # Who the file at *path* is, so close() removes it only if it is still
        # ours (someone may have removed it and bound the path meanwhile).
        # Linux's abstract names (a leading NUL) have no file.
        identity = None if path[:1] in ("\0", b"\0") else _file_identity(os.stat(path))
    except OSError as error:
        handle.close()
        raise os_error(error, "listen", path, None) from error
    return handle, ((path, identity) if identity is not None else None)


def remove_unix_path(unix_path: UnixPath) -> None:
    """Unlink the socket file we created -- if it is still the one we created."""
    path, identity = unix_path
    try:
        if _file_identity(os.stat(path)) == identity:
            os.unlink(path)
    except OSError:
        pass


def bind_tcp(host: str | None, port: int, backlog: int, options: Mapping[str, Any]) -> Any:
    """A gevent socket listening on *host*:*port* (``reusePort``, ``ipv6Only`` as asked)."""
    candidates = _listen_addresses(host, port)
    last: OSError | None = None
    for family, address in candidates:
        try:
            handle = gsocket.socket(family, _stdlib_socket.SOCK_STREAM)
        except OSError as error:
            last = os_error(error, "listen", address, port)
            continue
        try:
            handle.setsockopt(_stdlib_socket.SOL_SOCKET, _stdlib_socket.SO_REUSEADDR, 1)
            if options.get("reusePort"):
                if not hasattr(_stdlib_socket, "SO_REUSEPORT"):
                    raise OSError(errno.ENOTSUP, "SO_REUSEPORT is not supported")
                handle.setsockopt(_stdlib_socket.SOL_SOCKET, _stdlib_socket.SO_REUSEPORT, 1)
            if family == _stdlib_socket.AF_INET6:
                v6_only = int(bool(options.get("ipv6Only")))
                handle.setsockopt(_stdlib_socket.IPPROTO_IPV6, _stdlib_socket.IPV6_V6ONLY, v6_only)
            handle.bind((address, port))
            handle.listen(backlog)
            return handle
        except OSError as error:
            handle.close()
            last = os_error(error, "listen", address, port)
            if host is None and error.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                continue  # no IPv6 here: fall back to 0.0.0.0 as Node does
            raise last from error
    assert last is not None  # there is at least one candidate, and each one failed
    raise last


def _file_identity(status: os.stat_result) -> tuple[int, int, int]:
    return (status.st_dev, status.st_ino, stat.S_IFMT(status.st_mode))


def _listen_addresses(host: str | None, port: int) -> list[tuple[int, str]]:
    """``[(family, address), ...]`` to try binding, in order."""
    if host is None:
        # Node binds '::' dual-stack and falls back to 0.0.0.0 without IPv6.
        candidates: list[tuple[int, str]] = []
        if _stdlib_socket.has_ipv6:
            candidates.append((_stdlib_socket.AF_INET6, "::"))
        candidates.append((_stdlib_socket.AF_INET, "0.0.0.0"))
        return candidates
    return resolve(host, port)[:1]  # Node listens on the first address only
