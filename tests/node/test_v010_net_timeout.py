"""Ports of node-v0.x-archive's net tests on idle timeouts and keep-alive.

Each test names the ``test/simple/test-net-*.js`` file it comes from.  Sleeps
appear only where Node's test itself waits with ``setTimeout`` as part of what
it checks (an idle period, "nothing happened by then").
"""

import math
import time

import gevent
import pytest

import nodenet_gevent as net
from conftest import event_flag
from test_v010_support import handler_errors  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.timeout(60)


# From test/simple/test-net-can-reset-timeout.js
def test_v010_net_can_reset_timeout(track):
    timeouts = []

    def on_connection(stream):
        stream.setTimeout(100)
        stream.resume()

        def on_timeout():
            # Try to reset the timeout.  The socket did not *really* time out.
            stream.write("WHAT.")
            timeouts.append(True)

        stream.on("timeout", on_timeout)
        stream.on("end", lambda: stream.end())

    server = track.server(on_connection)
    server.listen(0)
    net.once(server, "listening", timeout=5)
    c = track.connect(server.address()["port"])
    c.on("data", lambda data: c.end())
    c.on("end", lambda: server.close())
    net.once(server, "close", timeout=5)
    assert len(timeouts) == 1


# From test/simple/test-net-keepalive.js
def test_v010_net_keepalive(track):
    server_connection = []

    def on_connection(connection):
        server_connection.append(connection)
        connection.setTimeout(0)
        assert connection.setKeepAlive is not None
        connection.setKeepAlive(True, 1000)  # a keep-alive probe after 1000 ms
        connection.on("end", lambda: connection.end())

    echo_server = track.server(on_connection)
    echo_server.listen(0)
    net.once(echo_server, "listening", timeout=5)
    client_connection = track.connect(echo_server.address()["port"])
    client_connection.setTimeout(0)
    gevent.sleep(1.2)  # Node: setTimeout(..., 1200), past the first probe
    # Both connections are still open.
    assert server_connection and server_connection[0].readyState == "open"
    assert client_connection.readyState == "open"
    server_connection[0].end()
    client_connection.end()
    echo_server.close()
    net.once(echo_server, "close", timeout=5)


# From test/simple/test-net-settimeout.js
def test_v010_net_settimeout(track, must_call):
    # Set a timeout, then at once disable it (https://github.com/joyent/node/pull/2245).
    t = 0.1
    server = track.server(lambda c: c.write("hello"))
    server.listen(0)
    net.once(server, "listening", timeout=5)
    socket = track.connect(server.address()["port"], "localhost")
    socket.setTimeout(int(t * 1000), must_call.never("timeout callback after setTimeout(0)"))
    socket.setTimeout(0)
    gevent.sleep(t * 2)  # Node: setTimeout(..., T * 2): the timer must not have fired by then
    socket.destroy()
    server.close()


# From test/simple/test-net-socket-timeout.js
def test_v010_net_socket_timeout(track, must_call):
    # Invalid delays raise: TypeError for a non-number, RangeError (ValueError
    # here) for a number out of range.  (undefined and null are both None.)
    noop = lambda: None  # noqa: E731
    s = net.Socket()
    non_numeric_delays = ["100", True, False, None, "", {}, noop, []]
    bad_range_delays = [-0.001, -1, -math.inf, math.inf, math.nan]
    valid_delays = [0, 0.001, 1, 1e6]
    for delay in non_numeric_delays:
        with pytest.raises(TypeError):
            s.setTimeout(delay, noop)
    for delay in bad_range_delays:
        with pytest.raises(ValueError):
            s.setTimeout(delay, noop)
    for delay in valid_delays:
        s.setTimeout(delay, noop)
    s.destroy()

    server = track.server()
    server.listen(0)
    net.once(server, "listening", timeout=5)
    socket = track.connect(server.address()["port"])
    timed_out = event_flag(socket, "timeout")
    server_closed = event_flag(server, "close")
    started = time.monotonic()

    def on_timeout():
        socket.destroy()
        server.close()

    socket.setTimeout(100, must_call(on_timeout))
    # Node exits with failure if no timeout came within 200 ms -- a hang guard;
    # a loaded machine gets a little more slack here.
    assert timed_out.wait(2)
    assert time.monotonic() - started >= 0.09
    assert server_closed.wait(5)


# From test/simple/test-net-socket-timeout-unref.js
def test_v010_net_socket_timeout_unref(track):
    def on_connection(c):
        c.write("hello")
        c.unref()

    server = track.server(on_connection)
    server.listen(0)
    net.once(server, "listening", timeout=5)
    server.unref()
    timed_out = []
    for t in [8, 5, 3, 6, 2, 4]:
        socket = track.connect(server.address()["port"], "localhost")

        def on_timeout(socket=socket):
            timed_out.append(True)
            socket.destroy()

        socket.setTimeout(t * 1000, on_timeout)
        socket.unref()
    started = time.monotonic()
    assert net.run(timeout=10) is True
    assert time.monotonic() - started < 2  # before the first (2 s) timeout
    assert timed_out == [], "Socket timeout should not hold loop open"
