"""An idle connection has no live reader greenlet, and nobody can tell (reading.py's lifecycle).

When the reader would wait for readability with nothing held, its greenlet
lets go (reading.py, dormant.py): a pooled greenlet carries on when data comes.
Everything a user sees stays as it was: 'data' in a greenlet of the
connection's own (never the hub), a handler that blocks stalls only its own
connection, pause() before data comes means no recv, destroy() from anywhere,
handler errors reported, contextvars carried.
"""

import contextvars
import fcntl
import os
import socket as stdlib_socket
import struct
import subprocess
import sys
import termios

import gevent
import gevent.event
import greenlet
import pytest

import nodenet_gevent as net
from conftest import event_flag, kill_process, recorded_greenlet_errors, wait_until

pytestmark = pytest.mark.timeout(30)


def dormant(sock):
    """No greenlet reads for this open socket: it waits for readability with none."""
    return sock._reader is None and not sock.destroyed


def echo_pair(track, handler=lambda c: c.pipe(c)):
    accepted = []

    def on_connection(c):
        accepted.append(c)
        handler(c)

    server = track.listen(on_connection)
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    wait_until(lambda: accepted, message="the accepted socket")
    return accepted[0], client


def round_trip(client, payload):
    got = []
    client.on("data", got.append)
    client.write(payload)
    wait_until(lambda: b"".join(got) == payload, message="the echo of %r" % payload)
    client.remove_listener("data", got.append)


def test_an_idle_connection_keeps_no_greenlet_and_still_echoes(track):
    server_side, client = echo_pair(track)
    round_trip(client, b"first")
    wait_until(lambda: dormant(server_side), message="the server's reader dormant")
    for n in range(3):
        round_trip(client, b"again %d" % n)
        wait_until(lambda: dormant(server_side), message="dormant again")
    assert server_side.bytesRead == len(b"first") + 3 * len(b"again 0")


def test_data_handlers_run_in_the_connections_own_greenlet_after_a_dormant_wait(track):
    where = []

    def handler(c):
        def on_data(chunk):
            where.append((greenlet.getcurrent(), c._reader))
            c.write(chunk)

        c.on("data", on_data)

    server_side, client = echo_pair(track, handler)
    round_trip(client, b"one")
    wait_until(lambda: dormant(server_side), message="dormant")
    round_trip(client, b"two")
    hub = gevent.get_hub()
    assert len(where) == 2
    for current, reader in where:
        assert current is reader and current is not hub and current.parent is hub


def test_a_blocked_handler_stalls_only_its_own_connection(track):
    release = gevent.event.Event()
    blocked = []

    def handler(c):
        def on_data(chunk):
            if chunk == b"block":
                blocked.append(c)
                release.wait(10)
            c.write(chunk)

        c.on("data", on_data)

    slow_side, slow = echo_pair(track, handler)
    server = slow_side.server
    fast = track.connect(server.address()["port"], "127.0.0.1")
    net.once(fast, "connect", timeout=5)
    round_trip(fast, b"warm")
    slow.write(b"block")
    wait_until(lambda: blocked, message="the slow handler blocking")
    for n in range(3):  # the other connection goes dormant and wakes while one handler blocks
        round_trip(fast, b"fast %d" % n)
    release.set()
    got = []
    slow.on("data", got.append)
    wait_until(lambda: b"".join(got) == b"block", message="the blocked connection's echo")


def test_pause_during_a_dormant_wait_reads_nothing_until_resume(track):
    server_side, client = echo_pair(track, lambda c: c.on("data", c.write))
    round_trip(client, b"x")
    wait_until(lambda: dormant(server_side), message="dormant")
    server_side.pause()
    client.write(b"held back")
    # The wake-up finds the socket paused and parks without reading.
    wait_until(lambda: server_side._park is not None and server_side._reader, message="the reader parked")
    assert server_side.bytesRead == 1
    got = []
    client.on("data", got.append)
    server_side.resume()
    wait_until(lambda: b"".join(got) == b"held back", message="the echo after resume()")


def test_destroy_from_another_greenlet_during_a_dormant_wait(track, must_call):
    server_side, client = echo_pair(track)
    round_trip(client, b"x")
    wait_until(lambda: dormant(server_side), message="dormant")
    closed = event_flag(server_side, "close")
    ended = event_flag(client, "end")
    with recorded_greenlet_errors() as seen:
        server_side.on("close", must_call(lambda had_error: None))
        gevent.spawn(server_side.destroy).join(5)
        assert closed.wait(5) and closed.args == (False,)
        assert ended.wait(5)
        gevent.sleep(0.05)  # gevent's close finishes in a hub callback: an error there would show now
    assert seen == []
    assert server_side.destroyed and not server_side._reader


def test_a_handler_error_after_a_dormant_wait_is_reported_and_ends_only_that_socket(track):
    def handler(c):
        def on_data(chunk):
            if chunk == b"boom":
                raise ValueError("handler failed")
            c.write(chunk)

        c.on("data", on_data)

    bad_side, bad = echo_pair(track, handler)
    other = track.connect(bad_side.server.address()["port"], "127.0.0.1")
    net.once(other, "connect", timeout=5)
    round_trip(bad, b"fine")
    wait_until(lambda: dormant(bad_side), message="dormant")
    with recorded_greenlet_errors() as seen:
        bad.write(b"boom")
        net.once(bad_side, "close", timeout=5)
    assert [type(e) for e in seen] == [ValueError]
    round_trip(other, b"still here")


def test_the_connections_context_carries_over_a_dormant_wait(track):
    var = contextvars.ContextVar("var", default=None)
    seen = []

    def handler(c):
        var.set("set in 'connection'")

        def on_data(chunk):
            seen.append(var.get())
            c.write(chunk)

        c.on("data", on_data)

    server_side, client = echo_pair(track, handler)
    round_trip(client, b"a")
    wait_until(lambda: dormant(server_side), message="dormant")
    round_trip(client, b"b")
    assert seen == ["set in 'connection'"] * 2


def test_the_peers_fin_during_a_dormant_wait_ends_and_closes(track, must_call):
    server_side, client = echo_pair(track)
    round_trip(client, b"x")
    wait_until(lambda: dormant(server_side), message="dormant")
    server_side.on("end", must_call())
    server_side.on("close", must_call(lambda had_error: None))
    client.end()
    net.once(server_side, "close", timeout=5)
    net.once(client, "close", timeout=5)


def test_wake_ups_reuse_pooled_greenlets_rather_than_make_new_ones(track):
    readers = []

    def handler(c):
        def on_data(chunk):
            readers.append(greenlet.getcurrent())
            c.write(chunk)

        c.on("data", on_data)

    server_side, client = echo_pair(track, handler)
    for n in range(20):
        round_trip(client, b"%d" % n)
        wait_until(lambda: dormant(server_side), message="dormant")
    # One connection, waking 20 times: served by the same pooled greenlet or two, never one each.
    assert len(readers) == 20 and len(set(map(id, readers))) <= 2
    assert net.dormant.pooled_greenlets() <= 1 + net.dormant.POOL_SIZE  # the runner, the spares


# ---------------------------------------------------------------------------
# the hub's runner (dormant.py): one greenlet serves the wake-ups, and hands over when a handler blocks


def wakeups():
    return net.dormant._WAKEUPS[gevent.get_hub()]


def test_one_greenlet_serves_the_wake_ups_of_every_connection(track):
    served = []

    def handler(c):
        c.on("data", lambda chunk: (served.append(greenlet.getcurrent()), c.write(chunk)))

    server = track.listen(handler)
    clients = [track.connect(server.address()["port"], "127.0.0.1") for _ in range(10)]
    connected = [event_flag(client, "connect") for client in clients]
    for client, flag in zip(clients, connected):
        assert flag.wait(5)
        round_trip(client, b"warm")
    served.clear()
    echoes = []
    for client in clients:
        client.on("data", echoes.append)
        client.write(b"ping")
    wait_until(lambda: len(b"".join(echoes)) == 10 * len(b"ping"), message="every echo")
    assert len(served) == 10
    assert set(map(id, served)) == {id(wakeups().runner)}  # no greenlet of their own, nor one each


def test_a_handler_that_blocks_hands_over_and_its_greenlet_becomes_a_spare(track):
    release = gevent.event.Event()
    blocked = []
    fast_readers = []

    def handler(c):
        def on_data(chunk):
            if chunk == b"block":
                blocked.append(greenlet.getcurrent())
                release.wait(10)
            else:
                fast_readers.append(greenlet.getcurrent())
            c.write(chunk)

        c.on("data", on_data)

    slow_side, slow = echo_pair(track, handler)
    fast = track.connect(slow_side.server.address()["port"], "127.0.0.1")
    net.once(fast, "connect", timeout=5)
    slow.write(b"block")
    wait_until(lambda: blocked, message="the slow handler blocking")
    assert blocked[0] is not wakeups().runner  # it handed the others over when it blocked
    assert slow_side._reader is blocked[0]  # and stays the reader of its own connection
    round_trip(fast, b"fast")
    assert fast_readers == [wakeups().runner]
    release.set()
    got = []
    slow.on("data", got.append)
    wait_until(lambda: b"".join(got) == b"block", message="the blocked connection's echo")
    wait_until(lambda: blocked[0] in wakeups().spares, message="the greenlet that blocked waiting as a spare")
    round_trip(slow, b"again")  # served as any dormant connection
    wait_until(lambda: dormant(slow_side), message="dormant again")


def test_pause_in_a_data_handler_reads_nothing_more_until_resume(track):
    got = []

    def handler(c):
        def on_data(chunk):
            got.append(chunk)
            c.pause()

        c.on("data", on_data)

    server_side, client = echo_pair(track, handler)
    client.write(b"one")
    wait_until(lambda: got == [b"one"], message="the first chunk")
    client.write(b"two")
    wait_until(lambda: unread_bytes(server_side.fileno()) == 3, message="the second chunk in the kernel, unread")
    assert server_side.bytesRead == 3 and got == [b"one"]
    server_side.resume()
    wait_until(lambda: got == [b"one", b"two"], message="the second chunk after resume()")


def unread_bytes(fd):
    """Bytes in the kernel's receive queue of descriptor *fd* (FIONREAD)."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, bytes(4)))[0]


FRESH_SERVER = r"""
import sys
sys.path.insert(0, sys.argv[1])
import nodenet_gevent as net
server = net.createServer(lambda c: (c.pipe(c), c.on("close", lambda had_error: server.close())))
server.listen(0, "127.0.0.1", lambda: print(server.address()["port"], flush=True))
net.run()
"""


def test_a_new_hubs_first_connection_is_served_with_nothing_else_to_wake_its_loop():
    # In a new process the first connection accepted makes the hub's runner and check watcher in
    # the middle of a loop iteration, and nothing but that connection may wake the loop again.
    package_root = os.path.dirname(os.path.dirname(net.__file__))
    proc = subprocess.Popen([sys.executable, "-c", FRESH_SERVER, package_root], stdout=subprocess.PIPE)
    try:
        port = int(proc.stdout.readline())
        with stdlib_socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"ping")
            assert client.recv(16) == b"ping"
        assert proc.wait(timeout=10) == 0
    finally:
        kill_process(proc)
        proc.stdout.close()
