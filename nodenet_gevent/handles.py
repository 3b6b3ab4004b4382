"""Descriptors handed to us: ``Socket({'fd': n})`` and ``listen(handle)``.

Node wraps whatever libuv can (pipes, ttys, files); we take stream sockets
only and say, with libuv's names, what else was given.
"""

from __future__ import annotations

import errno
import os
import socket as _stdlib_socket
import stat
from typing import Any

from gevent import socket as gsocket

from .errors import ERR_INVALID_FD_TYPE, ERR_OUT_OF_RANGE, invalid_arg_type, os_error

__all__ = ["is_fd", "fd_type", "adopt_connected_fd", "adopt_socket_object", "adopt_listening_fd"]

_MAX_FD = 2147483647


def is_fd(fd: object) -> bool:
    """An int that could be a descriptor (not a bool, not negative)."""
    return isinstance(fd, int) and not isinstance(fd, bool) and fd >= 0


def fd_type(fd: int) -> str | None:
    """``None`` for a stream socket, else the name libuv's guess_handle gives *fd*."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return "UNKNOWN"
    if stat.S_ISFIFO(mode):
        return "PIPE"
    if stat.S_ISCHR(mode) and os.isatty(fd):
        return "TTY"
    if not stat.S_ISSOCK(mode):
        return "FILE"
    try:
        with _stdlib_socket.socket(fileno=os.dup(fd)) as probe:
            if probe.type == _stdlib_socket.SOCK_STREAM:
                return None
            return "UDP" if probe.type == _stdlib_socket.SOCK_DGRAM else "UNKNOWN"
    except OSError:
        return "UNKNOWN"


def adopt_connected_fd(fd: object) -> Any:
    """``Socket({'fd': fd})``: a gevent socket that owns descriptor *fd* from now on."""
    if isinstance(fd, bool) or not isinstance(fd, int):
        raise invalid_arg_type("fd", "of type int", fd)
    if not 0 <= fd <= _MAX_FD:
        raise ERR_OUT_OF_RANGE("fd", ">= 0 && <= %d" % _MAX_FD, repr(fd))
    kind = fd_type(fd)
    if kind is not None:
        raise ERR_INVALID_FD_TYPE(kind)
    try:
        return gsocket.socket(fileno=fd)
    except OSError as error:
        raise os_error(error, "open") from error


def adopt_socket_object(sock: object) -> Any:
    """``Socket({'socket': sock})``: take over a connected gevent or stdlib socket object.

    The object is detached (``sock.detach()``): from now on the new gevent
    socket alone owns the descriptor, so closing (or dropping) the old object
    -- as gevent's ``StreamServer`` does when its handler returns -- no longer
    touches it, and once we close it no stale object still owns its number.
    """
    detach = getattr(sock, "detach", None)
    family = getattr(sock, "family", None)
    if not callable(detach) or not isinstance(family, int):
        raise invalid_arg_type("options.socket", "a socket object (gevent's or the standard library's)", sock)
    kind = getattr(sock, "type", None)
    if kind is not None and int(kind) & 0xF != _stdlib_socket.SOCK_STREAM:
        raise ERR_INVALID_FD_TYPE("UDP" if int(kind) & 0xF == _stdlib_socket.SOCK_DGRAM else "UNKNOWN")
    proto = getattr(sock, "proto", 0)
    fd = detach()
    if not isinstance(fd, int) or fd < 0:
        raise os_error(errno.EBADF, "open")  # it was closed already
    try:
        return gsocket.socket(family, _stdlib_socket.SOCK_STREAM, proto, fileno=fd)
    except OSError as error:
        os.close(fd)
        raise os_error(error, "open") from error


def adopt_listening_fd(fd: int, backlog: int) -> Any:
    """``listen(handle)``: a gevent socket on a duplicate of bound (or listening) descriptor *fd*.

    A duplicate, so that the handle's owner keeps its own descriptor.
    """
    try:
        duplicate = os.dup(fd)
    except OverflowError:
        # Beyond a C int: no descriptor can have that number (libuv: EINVAL).
        raise os_error(errno.EINVAL, "listen") from None
    except OSError as error:
        raise os_error(error, "listen") from error
    try:
        sock = gsocket.socket(fileno=duplicate)
    except OSError as error:
        os.close(duplicate)
        # libuv reports a descriptor that is no socket as EINVAL, and so does Node.
        raise os_error(errno.EINVAL if error.errno == errno.ENOTSOCK else error, "listen") from error
    try:
        sock.listen(backlog)  # harmless on a listening socket; required otherwise
    except OSError as error:
        sock.close()
        raise os_error(error, "listen") from error
    return sock
