"""Dormant readers: an idle connection holds no greenlet; one greenlet per hub serves the wake-ups.

A greenlet waiting for readability costs about 7.5 KiB (its saved C stack, and
the frame data stack CPython gives every greenlet that runs Python code), and
waking it costs two greenlet switches -- hub to reader, reader back to the hub,
about 2,500 of the 17,500 instructions an echo's round trip takes
(``benchmarks/instructions.py``).  So a reader with nothing to do lets go of its
greenlet (``reading.py``: the connection is *dormant*), and its read watcher is
started with its hub's :class:`ReadyList`'s ``append`` as the callback and the
socket as the argument: the hub calls that in C, with no Python frame::

    readable --the hub--> ready.append(sock)       (each connection found readable this loop iteration)
    then --the hub's check watcher--> the runner: for each ready socket, recv and 'data'

The *runner* is the one greenlet of the hub that serves the ready sockets (and
announces new connections, :attr:`Wakeups.accepted`), one after the other,
each in its own ``contextvars`` context and as its ``_reader`` meanwhile; it
switches back to the hub once for all of them.  The common wake-up -- flowing,
nothing held, a short read -- is served inline (:meth:`Wakeups._serve`) and
leaves the watcher started for the next one: no watcher call either.
Everything else goes through the reader's own loop (``ReadSide._read_loop``,
whose rules the inline path follows), in the runner.

A handler that blocks: gevent's ``Hub.switch`` first calls the current
greenlet's ``switch_out``; the runner's (:class:`Runner`) hands the job over
(:meth:`Wakeups.hand_over`) to a spare greenlet or a new one, which serves the
rest of this iteration's sockets and every wake-up after.  The greenlet whose
handler blocked stays the reader of that one socket until its read loop
returns (dormant again, or done), then waits as a spare (at most
:data:`POOL_SIZE` do; more end).  So a handler that blocks stalls only its own
connection, and no handler ever runs in the hub.

A handler must wait through gevent (its primitives and monkey-patched calls all
go through ``Hub.switch``): a greenlet switched away from by hand, bypassing the
hub, hands nothing over, and the check could switch back into it early.

The check watcher: libev runs it after the loop iteration's I/O callbacks (it
has the lowest priority), libuv in its check phase, after the poll phase (and
gevent runs libuv's callbacks in that order).  An iteration that found no
socket ready costs it a switch there and back.  New connections are added by
an acceptor greenlet, which may run at another phase of the iteration: the
first one also schedules a kick (``run_callback``), so the loop cannot sleep
on them.  With libuv there is no check watcher (``Wakeups.__init__`` says why):
each wake-up appends and schedules one kick per iteration.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any, Callable

from greenlet import getcurrent
from greenlet import greenlet as RawGreenlet

from ._gevent import os_socket, raw_hub_switch, readiness
from .errors import os_error
from .state import EOF, OPEN, READING

if TYPE_CHECKING:
    from .reading import ReadSide
    from .server import Server

__all__ = ["DORMANT_OWNERS", "POOL_SIZE", "ReadyList", "Runner", "Wakeups", "pooled_greenlets", "wakeups"]

#: Spare greenlets kept per hub (for the next handler that blocks); more than this many end.
POOL_SIZE = 64

#: libev's lowest priority: the check watcher runs after the iteration's I/O callbacks.
_LAST = -2


class ReadyList(collections.deque):  # type: ignore[type-arg]
    """A hub's sockets found readable this loop iteration: dormant read watchers call its ``append``.

    (A deque: a list would allocate its array at the first append of each
    iteration and free it at the last pop.)
    """

    __slots__ = ()


class Runner(RawGreenlet):
    """A greenlet that serves a hub's wake-ups while it is that hub's runner (:class:`Wakeups`)."""

    def switch_out(self) -> None:
        """(gevent's ``Hub.switch``: a handler in this greenlet blocks.)  The others must not wait for it."""
        found = _WAKEUPS.get(self.parent)
        if found is not None and found.runner is self:
            found.hand_over()


class Wakeups:
    """One hub's ready sockets, new connections, runner, spares and check watcher (see the module)."""

    __slots__ = ("hub", "ready", "append", "accepted", "runner", "spares", "check", "rearm", "_kick_owed")

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.ready = ReadyList()
        #: New connections, ``(sock, server)``, for the runner to announce (``'connection'``) and read;
        #: ``Socket._accepted`` appends them from an acceptor greenlet, which may run at any phase of a
        #: loop iteration (woken by its listener, a ``sleep(0)`` or a back-off timer), perhaps after this
        #: iteration's check: the first of a burst also schedules :meth:`_kick`, so that the loop cannot
        #: sleep on them.
        self.accepted: collections.deque[tuple[ReadSide, Server]] = collections.deque()
        self.spares: list[Runner] = []
        self.runner = Runner(self._body, hub)
        self._kick_owed = False
        #: libuv stops a poll handle that reports an error (a reset), with gevent's watcher still
        #: marked active: there a dormant watcher is started afresh at each wake-up.
        self.rearm = "libuv" in type(hub.loop).__module__
        self.check: Any = None
        if self.rearm:
            # A check watcher newer than gevent's own runs before it, and in libuv a SIGINT's
            # KeyboardInterrupt then lands in gevent's queueing of that callback, where it is
            # lost: here the wake-ups kick the runner themselves (a Python frame each, in the hub).
            self.append: Callable[[ReadSide], None] = self._append_and_kick
        else:
            #: What a dormant read watcher calls (with its socket): the same object each time.
            self.append = self.ready.append
            # ref=False: dormant connections keep the loop alive through their own watchers, not this.
            self.check = hub.loop.check(ref=False, priority=_LAST)
            self.check.start(self.runner.switch)

    def _append_and_kick(self, sock: ReadSide) -> None:
        # (libuv: a dormant watcher's callback, in the hub -- it only schedules the runner.)
        self.ready.append(sock)
        if not self._kick_owed:
            self._kick_owed = True
            self.hub.loop.run_callback(self._kick)

    def _kick(self) -> None:
        # (A hub callback: it only switches, and only if the check watcher did not serve them already.)
        self._kick_owed = False
        if self.accepted or self.ready:
            self.runner.switch()

    def hand_over(self) -> None:
        """The runner's handler blocks: make another greenlet the runner, serving what is left now."""
        spares = self.spares
        runner = spares.pop() if spares else Runner(self._body, self.hub)
        self.runner = runner
        if self.check is not None:
            self.check.callback = runner.switch
        if self.ready or self.accepted:
            self.hub.loop.run_callback(self._kick)

    def _body(self) -> None:
        """A runner's life: serve while it is the runner, then wait as a spare until it is again."""
        current: Runner = getcurrent()  # type: ignore[assignment]  # (this body runs only in a Runner)
        hub_switch = raw_hub_switch(self.hub)  # (no switch_out call: blocking there hands nothing over)
        spares = self.spares
        while True:
            try:
                self._serve(current, hub_switch)
            except BaseException:  # KeyboardInterrupt or SystemExit from a handler: it ends this greenlet
                if self.runner is current:
                    self.hand_over()
                raise
            current.gr_context = None
            if len(spares) >= POOL_SIZE:
                return
            spares.append(current)
            hub_switch()  # switched into once it is the runner again (hand_over, then the check or a kick)

    def _serve(self, current: Runner, hub_switch: Callable[[], Any]) -> None:
        """Serve new connections and ready sockets until handed over (then return), switching to
        the hub whenever none is left.

        The inline wake-up follows ``ReadSide._read_loop`` exactly for its case
        (flowing, nothing held): one ``recv``, ``'data'`` (a sole listener called
        directly), the watcher left started.  A full read (more may follow, and
        TLS may hold decrypted bytes no watcher announces), EOF, an error, or a
        handler that paused, held, ended or blocked: the reader's loop takes over
        from there, in this greenlet, the watcher stopped.
        """
        ready = self.ready
        pop = ready.popleft
        accepted = self.accepted
        context = None  # the context this greenlet runs in, as set here
        while True:
            while accepted:
                sock, server = accepted.popleft()
                context = current.gr_context = sock._context
                sock._reader = current
                sock._run_reader(server, None)  # ('connection', then the read loop; it reports errors)
                if sock._reader is current:
                    sock._reader = None
                del sock, server
                if self.runner is not current:
                    return
            while ready:
                sock = pop()
                if sock._reader is not None:
                    # Its handler blocks in another greenlet, which reads again when it returns: no more
                    # wake-ups until then (the watcher is level-triggered).
                    if sock._state is OPEN:
                        readiness(sock._handle)[1].stop()
                elif sock._state is OPEN:
                    if sock._context is not context:  # (the greenlet's own is not looked at: it costs more)
                        context = current.gr_context = sock._context
                    sock._reader = current
                    if sock._flowing is not True or sock._held:
                        # No consumer yet, paused, or data held: the read loop decides (it stops the watcher).
                        sock._read_loop()
                    else:
                        handle = sock._handle
                        size = sock.READ_SIZE
                        try:
                            data = os_socket(handle).recv(size)
                        except BlockingIOError:
                            data = None  # a wake-up another read answered already
                        except OSError as error:
                            data = None
                            if sock._state is OPEN:  # (a TLS error destroyed it already)
                                readiness(handle)[1].stop()
                                try:
                                    sock._destroy(os_error(error, "read"))
                                except BaseException as failure:
                                    sock._reader_failed(failure)
                        if data is not None:
                            try:
                                nbytes = len(data)
                                if not nbytes:  # the peer's FIN
                                    readiness(handle)[1].stop()
                                    sock._read_state = EOF
                                    sock._finish_reading(False)
                                else:
                                    sock._bytes_read += nbytes
                                    if sock._idle is not None:
                                        sock._idle.touch()
                                    # The delivery of ReadSide._read_loop, inline (a Python call per
                                    # chunk less): keep the two in step.
                                    decoder = sock._decoder
                                    if decoder is not None:
                                        data = decoder.write(data)
                                        if data:
                                            sock.emit("data", data)
                                    else:
                                        listeners = sock._events.get("data")
                                        if listeners is not None and len(listeners) == 1:
                                            for listener in listeners.values():  # noqa: B007 - the one listener
                                                break
                                            listener(data)
                                        else:
                                            sock.emit("data", data)
                                    if (
                                        nbytes >= size
                                        or sock._flowing is not True
                                        or sock._held
                                        or sock._read_state is not READING
                                        or self.runner is not current
                                    ):
                                        if sock._state is OPEN:
                                            readiness(handle)[1].stop()
                                            if sock._read_state is READING:
                                                sock._read_loop(True)  # (it reports what handlers raise)
                                            else:  # a handler iterated the socket to its EOF
                                                sock._finish_reading(True)
                                    elif self.rearm and sock._state is OPEN:
                                        watcher = readiness(handle)[1]
                                        watcher.stop()
                                        watcher.start(self.append, sock)
                            except BaseException as failure:  # a handler raised
                                sock._reader_failed(failure)
                    if sock._reader is current:
                        sock._reader = None
                del sock
                if self.runner is not current:
                    return
            if accepted:
                continue
            # (gr_context is not reset here: ``context`` above says what it is, so that one connection
            # waking again and again does not set it each time.)
            hub_switch()


#: Whose bound method a dormant read watcher's callback is.  Before closing a socket, gevent's close
#: throws its "closed" error into the greenlet its started read watcher's callback is bound to; a
#: dormant watcher's is bound to one of these, no greenlet at all, so ``closing.py`` stops it first.
DORMANT_OWNERS = (ReadyList, Wakeups)

# hub -> its Wakeups.
_WAKEUPS: dict[Any, Wakeups] = {}


def wakeups(hub: Any) -> Wakeups:
    """*hub*'s :class:`Wakeups` (looked up as ``_WAKEUPS.get(hub) or wakeups(hub)``)."""
    found = _WAKEUPS.get(hub)
    if found is None:
        found = _WAKEUPS[hub] = Wakeups(hub)
    return found


def pooled_greenlets() -> int:
    """How many live greenlets this machinery keeps while no connection needs them: each hub's
    runner and its spares (for leak checks: ``benchmarks/soak.py``)."""
    return sum(1 + len(found.spares) for found in _WAKEUPS.values())
