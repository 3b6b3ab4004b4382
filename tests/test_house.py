"""Guards for the places the code is written twice for speed, and for the house's rules.

* Both constructors of a Socket (``Socket()`` with ``_reset()``, and the accept
  path's hand-inlined ``Socket._accepted``) set every field.
* ``Pipe``'s direct writes (it attaches as it is made) into the emitters' tables leave exactly what
  three ``on()`` calls would.
* The close tail inlined in ``_destroy`` and ``_emit_close`` do the same.
* No code stores an attribute outside the slots (the instance ``__dict__`` that
  pyee's base class brings stays empty).
* The gevent internals ``_gevent.py`` names exist on the installed gevent.
"""

import _socket
import socket as stdlib_socket

import gevent
import pytest
from gevent import socket as gsocket
from greenlet import getcurrent

import nodenet_gevent as net
from nodenet_gevent import _gevent
from nodenet_gevent.pipe import Pipe
from nodenet_gevent.state import FIELDS, SocketBase
from conftest import event_flag, wait_until

pytestmark = pytest.mark.timeout(30)


def unset_fields(sock):
    return [name for name in FIELDS if not hasattr(sock, name)]


def test_fields_are_the_slots():
    assert SocketBase.__slots__ == FIELDS
    assert net.Socket.__slots__ == ()
    for part in net.Socket.__mro__[1:]:
        if part.__module__.startswith("nodenet_gevent") and part is not SocketBase:
            assert "__slots__" in vars(part) and part.__slots__ in ((), ("_events", "_lock")), part


def test_both_constructors_set_every_field(track):
    accepted = []
    server = track.listen(accepted.append)
    made = net.Socket()
    assert unset_fields(made) == []
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    wait_until(lambda: accepted, message="the accepted socket")
    assert unset_fields(accepted[0]) == []
    assert unset_fields(client) == []
    # And with the same values where nothing distinguishes them yet.
    for name in ("_state", "_read_state", "_write_state", "_held_size", "_queued", "_bytes_written", "_had_error"):
        assert getattr(accepted[0], name) == getattr(client, name), name


def test_pipe_direct_table_writes_equal_three_on_calls(track):
    fast_source, fast_destination = net.Socket(), net.Socket()
    slow_source, slow_destination = net.Socket(), net.Socket()
    added = []
    # A 'new_listener' listener makes Pipe() take the on() path.
    slow_source.on("new_listener", lambda event, f: added.append(event))
    slow_destination.on("new_listener", lambda event, f: added.append(event))
    fast = Pipe(fast_source, fast_destination, True)
    slow = Pipe(slow_source, slow_destination, True)
    assert sorted(added) == ["data", "drain", "end"]

    def tables(sock):
        return {event: list(handlers.items()) for event, handlers in sock._events.items() if event != "new_listener"}

    def names(table, pipe):
        # The same methods, bound to this pipe, keys and values alike.
        assert all(k.__self__ is pipe and v.__self__ is pipe for items in table.values() for k, v in items)
        return {event: [(k.__func__.__name__, v.__func__.__name__) for k, v in items] for event, items in table.items()}

    assert names(tables(fast_source), fast) == names(tables(slow_source), slow)
    assert names(tables(fast_destination), fast) == names(tables(slow_destination), slow)
    assert fast_source.listeners("data") == [fast.on_data] and fast_destination.listeners("drain") == [fast.on_drain]
    fast.detach()
    slow.detach()
    assert tables(fast_source) == {} == tables(fast_destination)
    assert tables(slow_source) == {} == tables(slow_destination)


@pytest.mark.parametrize("how", ["normal", "destroy", "error"])
def test_both_close_tails_tell_the_server_and_emit_close_once(track, must_call, how):
    """The close tail inlined in _destroy (normal end) and _emit_close (the rest) agree."""
    closes = []
    server_side = []

    def on_connection(c):
        server_side.append(c)
        c.on("close", closes.append)
        if how == "normal":
            c.pipe(c)
        elif how == "destroy":
            c.destroy()
        else:
            c.on("error", must_call(lambda error: None))
            c.destroy(RuntimeError("boom"))

    server = track.listen(on_connection)
    client = track.connect(server.address()["port"], "127.0.0.1")
    client.on("error", lambda error: None)
    client.resume()  # the echo is read, so 'end' (and 'close') can follow
    client.end(b"bye")
    assert event_flag(client, "close").wait(5)  # (net.once would raise the error a destroy gives)
    wait_until(lambda: closes, message="the server side's close")
    counts = []
    server.get_connections(lambda error, n: counts.append(n))
    wait_until(lambda: counts, message="getConnections")
    assert counts == [0]
    gevent.sleep(0)
    assert closes == [how == "error"]
    closed = must_call()
    server.close(closed)
    net.once(server, "close", timeout=5)


def test_no_attribute_lands_outside_the_slots(track):
    accepted = []
    server = track.listen(lambda c: (accepted.append(c), c.set_timeout(1000), c.pipe(c)))
    client = track.connect(server.address()["port"], "127.0.0.1")
    client.set_encoding("utf8")
    client.set_no_delay(True)
    client.set_keep_alive(True, 1000)
    client.unref()
    client.ref()
    client.on("data", lambda text: client.end())
    client.write("ping")
    net.once(client, "close", timeout=5)
    wait_until(lambda: accepted and accepted[0].destroyed, message="the server side closed")
    for sock in (client, accepted[0]):
        assert sock.address() == {}
        sock.remote_address, sock.local_port, sock.ready_state, repr(sock)
        assert vars(sock) == {}, sock


def test_gevent_internals_exist_on_this_gevent():
    """What _gevent.py relies on, on the installed gevent (the matrix runs the oldest and newest)."""
    listener = gsocket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_STREAM)
    try:
        for name in _gevent.SOCKET_ATTRIBUTES:
            assert hasattr(listener, name), name
        raw = _gevent.os_socket(listener)
        assert isinstance(raw, _socket.socket) and hasattr(raw, "_accept") and raw.fileno() == listener.fileno()
        wait, read_event = _gevent.readiness(listener)
        assert callable(wait) and hasattr(read_event, "start") and hasattr(read_event, "stop")
        if "libuv" in type(gevent.get_hub().loop).__module__:
            assert hasattr(read_event, "_watcher_ref")
        _gevent.set_ref(listener, False)
        assert listener.ref is False
        _gevent.set_ref(listener, True)
    finally:
        listener.close()


def test_handlers_run_in_the_hubs_runner_which_hands_over_when_one_blocks(track):
    """Readers' handlers run in the hub's runner (dormant.py); gevent's Hub.switch calls its
    switch_out, which makes another greenlet the runner.  Its own switch to the hub at the end
    of a batch (_gevent.raw_hub_switch) skips that call: nothing is handed over there."""
    seen = []

    def on_connection(c):
        wakeups = net.dormant._WAKEUPS[gevent.get_hub()]
        seen.append((type(getcurrent()), wakeups.runner is getcurrent()))
        gevent.sleep(0)  # blocks: Hub.switch calls switch_out
        seen.append(wakeups.runner is getcurrent())
        c.pipe(c)

    server = track.listen(on_connection)
    client = track.connect(server.address()["port"], "127.0.0.1")
    client.on("data", lambda data: client.end())
    client.write(b"x")
    net.once(client, "close", timeout=5)
    assert seen == [(net.dormant.Runner, True), False]
    raw_switch = _gevent.raw_hub_switch(gevent.get_hub())
    assert raw_switch.__self__ is gevent.get_hub()


def test_wait_readable_or_woken_ends_on_wake_and_on_readiness():
    left, right = gsocket.socketpair()
    try:
        waiters = []
        _, read_event = _gevent.readiness(left)
        woken = gevent.spawn(_gevent.wait_readable_or_woken, read_event, waiters.append)
        wait_until(lambda: waiters, message="the waiter handed over")
        _gevent.wake(waiters[0])
        woken.join(timeout=5)
        assert woken.successful() and waiters[-1] is None
        ready = gevent.spawn(_gevent.wait_readable_or_woken, read_event, waiters.append)
        gevent.sleep(0)
        right.send(b"x")
        ready.join(timeout=5)
        assert ready.successful()
    finally:
        left.close()
        right.close()
