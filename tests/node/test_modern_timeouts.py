"""Idle timeouts: setTimeout arms, resets, disarms; 'timeout' closes nothing.

Ports of nodejs/node test/parallel test-net-settimeout.js,
test-net-socket-timeout.js (the runtime half; its argument checks are in
test_modern_connect_args.py), test-net-can-reset-timeout.js,
test-net-timeout-no-handle.js, test-net-write-slow.js.

Where a Node test waits a fixed time to show that something does *not* happen
(a disarmed timer), the same wait is kept: it is the observation window of the
test, not a pause to let things settle.
"""

import gevent
import pytest

import nodenet_gevent as net
from conftest import wait_until
from test_modern_support import greenlet_errors, keep, serve  # noqa: F401

pytestmark = pytest.mark.timeout(60)


def test_set_timeout_then_zero_disarms(track, must_call):
    # Node: test/parallel/test-net-settimeout.js ("sets a timeout then immediately
    # attempts to disable the timeout")
    t = 0.1
    done = []
    server = serve(track, must_call(lambda c: c.write("hello")))
    socket = track.connect(server.address()["port"], "localhost")
    s = socket.setTimeout(t * 1000, must_call.never("timeout callback"))
    assert isinstance(s, net.Socket)

    def on_data(*_):
        def later():
            socket.destroy()
            server.close()
            done.append(True)

        gevent.spawn_later(t * 2, later)  # Node: setTimeout(..., T * 2)

    socket.on("data", must_call(on_data))
    socket.setTimeout(0)
    wait_until(lambda: done, message="observation window")


def test_timeout_then_destroy_then_set_timeout_is_inert(track, must_call):
    # Node: test/parallel/test-net-socket-timeout.js (runtime half)
    done = []
    server = net.Server()
    track.servers.append(server)

    def listening():
        socket = keep(track, net.createConnection(server.address()["port"]))

        def on_timeout():
            socket.destroy()
            assert socket.setTimeout(1, must_call.never("timeout after destroy")) is socket
            server.close(lambda *_: done.append(True))

        assert socket.setTimeout(1, must_call(on_timeout)) is socket

    server.listen(0, must_call(listening))
    wait_until(lambda: done, message="server closed")


def test_write_in_timeout_handler_resets_the_timer(track, must_call):
    # Node: test/parallel/test-net-can-reset-timeout.js
    done = []

    def on_connection(stream):
        stream.setTimeout(100)
        stream.resume()
        stream.once("timeout", must_call(lambda: stream.write("WHAT.")))
        stream.on("end", must_call(lambda: stream.end()))

    server = serve(track, must_call(on_connection))
    c = track.connect(server.address()["port"], "127.0.0.1")
    c.on("data", lambda *_: c.end())
    c.on("end", lambda: (server.close(), done.append(True)))
    wait_until(lambda: done, message="client 'end'")


def test_timeout_on_a_socket_that_never_connected(must_call):
    # Node: test/parallel/test-net-timeout-no-handle.js (its `_handle === null` check
    # is about an internal field; `pending` says the same publicly).
    socket = net.Socket()
    fired = []

    def on_timeout():
        assert socket.pending is True
        fired.append(True)

    socket.setTimeout(50)
    socket.on("timeout", must_call(on_timeout))
    socket.on("connect", must_call.never("'connect'"))
    wait_until(lambda: fired, message="'timeout'")
    socket.destroy()


def test_slow_reader_never_trips_the_writers_timeout(track, must_call):
    # Node: test/parallel/test-net-write-slow.js -- the writer's 9999 ms idle timer
    # must not fire while a reader that pauses 20 ms per chunk drains 10 x 200 kB.
    size = 2 * 10**5
    n = 10
    flushed = [0]
    received = [0]
    done = []
    buf = b"a" * size

    def on_connection(socket):
        socket.setNoDelay()
        socket.setTimeout(9999)
        socket.on("timeout", lambda: pytest.fail("flushed: %d, received: %d/%d" % (flushed[0], received[0], size * n)))

        def on_flushed(*_):
            flushed[0] += 1
            if flushed[0] == n:
                socket.setTimeout(0)

        for _ in range(n):
            socket.write(buf, on_flushed)
        socket.end()

    server = serve(track, on_connection)
    conn = track.connect(server.address()["port"], "127.0.0.1")

    def on_data(chunk):
        received[0] += len(chunk)
        conn.pause()
        gevent.spawn_later(0.02, conn.resume)

    def on_end():
        server.close()
        assert received[0] == size * n
        done.append(True)

    conn.on("data", on_data)
    conn.on("end", must_call(on_end))
    wait_until(lambda: done, timeout=30, message="client 'end'")
