"""Where the exceptions of handlers go: ``logging``, or the application's own reporter.

A handler of the user's that raises, and an ``'error'`` nobody listens to, end
that socket only (SPEC, errors); the exception is then *reported* here, once,
naming the connection -- remote and local address and port, and the server
that accepted it -- rather than printed by gevent against an anonymous
``<callback at 0x...>``:

* by default, ``logging.getLogger('nodenet_gevent').error(...)`` with the
  traceback (configure ``logging`` as usual to see it; with no configuration
  Python's last-resort handler prints it on stderr);
* or by the function given to :func:`set_error_reporter`, called as
  ``reporter(error, emitter)`` -- for applications that report errors
  themselves (Sentry, a metrics counter).  ``None`` restores logging.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

__all__ = ["logger", "set_error_reporter", "report", "log_error", "describe_emitter", "ErrorReporter"]

#: The library's logger.
logger = logging.getLogger("nodenet_gevent")

#: ``reporter(error, emitter)``: the application's hook (see :func:`set_error_reporter`).
ErrorReporter = Callable[[BaseException, Any], object]

_reporter: ErrorReporter | None = None


def set_error_reporter(reporter: ErrorReporter | None) -> None:
    """Send handler exceptions (and unlistened ``'error'`` events) to *reporter* instead of ``logging``.

    ``reporter(error, emitter)`` gets the exception and the ``Socket`` or
    ``Server`` whose handler raised (or that had no ``'error'`` listener); it
    runs in that socket's greenlet.  An exception *reporter* raises is logged.
    """
    global _reporter
    candidate: object = reporter
    if candidate is not None and not callable(candidate):
        from .errors import invalid_arg_type

        raise invalid_arg_type("reporter", "of type function", candidate)
    _reporter = reporter


def report(error: BaseException, emitter: Any) -> None:
    """Report a handler's exception (or an unlistened ``'error'``) of *emitter*, once."""
    reporter = _reporter
    if reporter is not None:
        try:
            reporter(error, emitter)
            return
        except Exception:  # the reporter's own failure: logged, and the original with it
            logger.exception("the error reporter %r raised", reporter)
    log_error(error, emitter)


def log_error(error: BaseException, emitter: Any) -> None:
    """The default report: ``logging``, with the traceback and the connection named."""
    logger.error(
        "%s in %s: %s", type(error).__name__, describe_emitter(emitter), error,
        exc_info=(type(error), error, error.__traceback__),
    )


def describe_emitter(emitter: Any) -> str:
    """``connection 127.0.0.1:50000 -> 127.0.0.1:8124 (server 127.0.0.1:8124)``, or a server's address."""
    try:
        if hasattr(emitter, "remote_address"):
            local = emitter.address() or None
            remote = "%s:%s" % (emitter.remote_address, emitter.remote_port) if emitter.remote_address else "?"
            text = "connection %s -> %s" % (remote, _where(local))
            server = emitter.server
            if server is not None and server.address():
                text += " (server %s)" % _where(server.address())
            return text
        if hasattr(emitter, "listening"):
            return "server %s" % _where(emitter.address())
    except Exception:  # describing must never fail the report
        pass
    return repr(emitter)


def _where(address: Any) -> str:
    if isinstance(address, dict):
        return "%s:%s" % (address.get("address"), address.get("port"))
    if isinstance(address, tuple):
        return "%s:%s" % address[:2]
    return str(address) if address else "?"
