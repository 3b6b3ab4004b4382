"""``server.listen()``'s arguments: every call form of it -> one :class:`ListenRequest`.

``listen(port, [host], [backlog], [cb])``, ``listen(path, [backlog], [cb])``,
``listen(handle, [backlog], [cb])`` and ``listen(options, [cb])``, with keyword arguments
and snake_case names as everywhere (``args.normalize_args``), are read here as Node reads
them, and their values checked with the validators of ``args.py``: what the server is to
bind (a handle, a Unix path, or a host and port), the backlog and the callback.  Binding
is ``binding.py``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, NamedTuple

from .args import (
    invalid_options,
    is_pipe_name,
    missing_port_or_path,
    normalize_args,
    to_port,
    validate_int,
    validate_unix_path,
)
from .errors import invalid_arg_type

__all__ = ["ListenRequest", "listen_request"]

# listen(2) takes a C int; larger backlogs are capped by the kernel anyway.
_MAX_BACKLOG = 2**31 - 1


class ListenRequest(NamedTuple):
    """What a ``listen()`` call asks for: exactly one of *handle*, *path*, or *host*/*port*."""

    handle: Any  # a Server, Socket, object with fileno(), or {'fd': n}; or None
    path: str | bytes | None
    host: str | None
    port: int
    backlog: int
    options: dict[str, Any]
    callback: Callable[..., object] | None


def listen_request(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], is_handle: Callable[[object], bool], default_backlog: int
) -> ListenRequest:
    """Every ``listen()`` form -> one :class:`ListenRequest`; raises Node's argument errors.

    *is_handle* says whether a value is a handle to listen on (a Server, a
    Socket, anything with ``fileno()``): the caller knows those classes.
    """
    all_args = args
    handle = None
    if args and is_handle(args[0]):
        handle, args = args[0], args[1:]
    options, callback = normalize_args(args, kwargs)
    if handle is None:
        handle = options.get("handle") or options.get("_handle")
        if handle is not None and not (is_handle(handle) or isinstance(handle, dict)):
            raise invalid_options(options)
        fd = options.get("fd")
        if handle is None and isinstance(fd, int) and not isinstance(fd, bool) and fd >= 0:
            handle = {"fd": fd}
    backlog = options.get("backlog")
    if backlog is None:
        # listen(port, backlog), listen(port, host, backlog) and
        # listen(handle, backlog), as Node reads them.
        for candidate in all_args[1:3]:
            if isinstance(candidate, (int, float)) and not isinstance(candidate, bool):
                backlog = candidate
                break
    if backlog is None:
        backlog = default_backlog
    else:
        # Node hands any number to libuv; the kernel caps it at somaxconn anyway.
        backlog = min(validate_int(backlog, "backlog"), _MAX_BACKLOG)
    if handle is not None:
        return ListenRequest(handle, None, None, 0, backlog, options, callback)
    given_options = bool(args) and isinstance(args[0], dict)
    if options.get("path") is not None and options.get("port") is None:
        # As Node: a port, when given, wins over a path; a path must not be a number.
        path = options["path"]
        if not (isinstance(path, bytes) or is_pipe_name(path)):
            raise invalid_options(options)
        return ListenRequest(None, validate_unix_path(path), None, 0, backlog, options, callback)
    if "port" in options or not given_options:
        port = options.get("port")
        if port is None:
            port = 0
        elif isinstance(port, bool) or not isinstance(port, (int, float, str)):
            raise invalid_options({"port": port})
        else:
            port = to_port(port)
        host = options.get("host") or None  # Node: a falsy host is no host
        if host is not None and not isinstance(host, str):
            raise invalid_arg_type("hostname", "of type string", host)
        return ListenRequest(None, None, host, port, backlog, options, callback)
    if "path" in options:
        raise invalid_options(options)
    raise missing_port_or_path(options)
