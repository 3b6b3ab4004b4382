"""Lingering readers: a busy connection keeps its greenlet; one idle for a sweep period goes dormant.

Going dormant and back (``dormant.py``) costs two greenlet switches and a
Python call per wake-up, which a ping-pong connection pays on every round
trip.  So a reader that must wait for readability with nothing held first
*lingers*: it waits in its own greenlet, its read watcher's callback being
that greenlet's ``switch`` (in C: no Python frame between the hub and the
reader).  Only a connection that stays idle goes dormant and gives its
greenlet back.

Which ones are idle is found by one sweep per hub: a timer (not keeping the
loop alive) wakes the hub's *sweeper* greenlet every :data:`PERIOD` seconds;
a lingering reader that has read nothing since the previous sweep has its
watcher stopped and is switched into (by the hub, through ``run_callback``)
with :data:`GO_DORMANT`, upon which it goes dormant itself.  No handler runs
in the hub or the sweeper: they only look at counters and wake readers.
A connection idle for between one and two periods is dormant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from greenlet import greenlet as RawGreenlet

from ._gevent import readiness
from .state import OPEN

if TYPE_CHECKING:
    from .reading import ReadSide

__all__ = ["GO_DORMANT", "MAX_LINGERING", "PERIOD", "Lingering", "lingering", "set_period"]

#: Seconds between sweeps: a reader idle for a whole period goes dormant at the next one.
PERIOD = 1.0

#: Readers lingering at once per hub, at most; more go dormant at once.  Each holds a greenlet
#: (about 7.5 KiB, benchmarks/README.md) for up to two periods, and memory freed is not
#: always given back: 10,000 connections opened at once must not all linger.
MAX_LINGERING = 512


class _GoDormant:
    """The value a swept reader is woken with (a readable socket wakes it with ``()``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "GO_DORMANT"


GO_DORMANT = _GoDormant()


class Lingering:
    """One hub's lingering readers (socket -> bytes read at the last sweep), its timer and sweeper."""

    __slots__ = ("readers", "_hub", "timer", "_sweeper")

    def __init__(self, hub: Any) -> None:
        #: Every socket whose reader may be lingering; the reader adds itself and removes itself on leaving.
        self.readers: dict[ReadSide, int] = {}
        self._hub = hub
        self.timer = self._new_timer()
        self._sweeper = RawGreenlet(self._sweep, hub)

    def _new_timer(self) -> Any:
        return self._hub.loop.timer(PERIOD, PERIOD, ref=False)  # (ref=False: an idle program still ends)

    def start(self) -> None:
        """Start the sweeps (they stop when no reader lingers).

        A reader about to linger (for the first time since it last woke from
        dormant) adds itself to :attr:`readers` with a count of -1 (idle only
        after a whole period), unless :data:`MAX_LINGERING` already linger, and
        starts the sweeps if they are stopped (``ReadSide._read_loop``, inline).
        """
        self.timer.start(self._sweeper.switch)

    def _sweep(self) -> None:
        """Body of the sweeper: at each tick, send the readers idle since the previous one dormant."""
        hub = self._hub
        readers = self.readers
        run_callback = hub.loop.run_callback
        while True:
            self._sweep_once(readers, run_callback)
            if not readers:
                self.timer.stop()  # restarted by the next reader to linger
            hub.switch()

    @staticmethod
    def _sweep_once(readers: dict[ReadSide, int], run_callback: Any) -> None:
        for sock, seen in list(readers.items()):
            reader = sock._reader
            if reader is None or sock._state is not OPEN:
                del readers[sock]  # (its reader removes it too; this is for safety)
                continue
            count = sock._bytes_read
            if count != seen:
                readers[sock] = count
                continue
            watcher = readiness(sock._handle)[1]
            # Lingering right now (not running a handler, parked, or waiting with data held):
            # its watcher's callback is the reader greenlet's own switch.
            switch = reader.switch
            if watcher.active and watcher.callback == switch:
                del readers[sock]
                watcher.stop()  # (so neither readability nor gevent's close switches in too)
                run_callback(switch, GO_DORMANT)

# hub -> its Lingering.
_LINGERING: dict[Any, Lingering] = {}


def lingering(hub: Any) -> Lingering:
    """*hub*'s :class:`Lingering` (looked up as ``_LINGERING.get(hub) or lingering(hub)``)."""
    found = _LINGERING.get(hub)
    if found is None:
        found = _LINGERING[hub] = Lingering(hub)
    return found


def set_period(seconds: float) -> float:
    """Make the sweep period *seconds* in every hub from now on; returns the previous one.

    For tests that wait for a connection to go dormant (``tests/test_dormant_reader.py``).
    """
    global PERIOD
    previous, PERIOD = PERIOD, float(seconds)
    for linger in _LINGERING.values():
        active = linger.timer.active
        linger.timer.close()
        linger.timer = linger._new_timer()
        if active:
            linger.timer.start(linger._sweeper.switch)
    return previous
