"""A socket's idle timer (``setTimeout``), cheap enough to touch on every read and write.

Activity only records a timestamp; the gevent timer is armed for the whole
period and, when it fires, re-armed for whatever is left if there was activity
meanwhile.  So a busy socket costs one float store per chunk, not a timer
restart.  The timer is unref'd, as Node's socket timers are: it never keeps the
program alive.  It fires in the hub, which only hands over to a fresh greenlet:
``'timeout'`` handlers never run in the hub.
"""

from __future__ import annotations

import contextvars
import time
from typing import Any, Callable

from gevent.hub import get_hub

from .loop import next_tick

__all__ = ["IdleTimer"]

_monotonic = time.monotonic


class IdleTimer:
    """Calls ``on_idle()`` in a greenlet once ``msecs`` pass without :meth:`touch`."""

    __slots__ = ("msecs", "_on_idle", "_last", "_watcher", "_stopped", "_context")

    msecs: float
    _on_idle: Callable[[], object]
    _last: float
    _watcher: Any  # a gevent timer watcher (untyped), or None when not armed
    _stopped: bool
    _context: contextvars.Context | None

    def __init__(self, msecs: float, on_idle: Callable[[], object], context: contextvars.Context | None = None) -> None:
        self.msecs = msecs
        self._context = context  # the greenlet that emits 'timeout' runs in it
        self._on_idle = on_idle
        self._watcher = None
        self._stopped = False
        self._last = _monotonic()
        self._arm(msecs / 1000.0)

    def touch(self) -> None:
        """Activity: push the deadline back (re-arm only if the timer already fired)."""
        self._last = _monotonic()
        if self._watcher is None and not self._stopped:
            self._arm(self.msecs / 1000.0)

    def stop(self) -> None:
        self._stopped = True
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher.close()
            self._watcher = None

    def _arm(self, seconds: float) -> None:
        # libuv counts in whole milliseconds (and warns about less).
        watcher = self._watcher = get_hub().loop.timer(max(seconds, 0.001), 0, ref=False)
        watcher.start(self._fired)

    def _fired(self) -> None:
        # In the hub: close the watcher and hand over to a greenlet.
        self._watcher.close()
        self._watcher = None
        if not self._stopped:
            next_tick(self._check, context=self._context)

    def _check(self) -> None:
        if self._stopped or self._watcher is not None:
            return  # stopped, or re-armed by touch() meanwhile
        period = self.msecs / 1000.0
        idle = _monotonic() - self._last
        if idle + 0.001 >= period:
            self._on_idle()  # one 'timeout' per idle period; the next needs new activity
        else:
            self._arm(period - idle)
