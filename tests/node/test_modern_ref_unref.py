"""ref()/unref(): what keeps ``net.run()`` (Node's event loop) alive.

Ports of nodejs/node test/parallel test-net-server-unref.js,
test-net-server-unref-persistent.js, test-net-persistent-ref-unref.js,
test-net-socket-timeout-unref.js, test-net-connect-paused-connection.js.

Node's tests end with "the process exits" (guarded by an unref'd timer that fails
if it fires); here ``net.run(timeout)`` returning ``True`` is "the loop had nothing
ref'd left", and ``False`` means it was still held when the guard expired.
``run()`` is called from the test's own (main) greenlet, as a Node program's loop
runs after its main script.
"""

import time

import pytest

import nodenet_gevent as net
from conftest import event_flag, wait_until
from test_modern_support import greenlet_errors, keep  # noqa: F401

pytestmark = pytest.mark.timeout(60)

GUARD = 1.0  # Node: setTimeout(common.mustNotCall(), 1000).unref()


def exits(guard=GUARD):
    """True if the loop empties (Node: the process exits) before *guard* seconds."""
    started = time.monotonic()
    finished = net.run(timeout=guard)
    return finished and time.monotonic() - started < guard


def test_unref_listening_server_lets_the_loop_end(track):
    # Node: test/parallel/test-net-server-unref.js
    s = net.createServer()
    track.servers.append(s)
    s.listen(0)
    s.unref()
    assert exits()


def test_unref_before_listen_persists(track):
    # Node: test/parallel/test-net-server-unref-persistent.js
    server = net.createServer()
    track.servers.append(server)
    server.unref()  # unref before listening
    server.listen()
    net.once(server, "listening", timeout=5)
    assert exits()


@pytest.mark.parametrize("order", ["unref-then-ref", "ref-then-unref"])
def test_ref_state_set_before_connect_persists(track, order):
    # Node: test/parallel/test-net-persistent-ref-unref.js -- ref()/unref() called
    # before connect() apply to the connection made afterwards.  (Node counts the
    # calls reaching its internal TCPWrap; we observe what that is for: whether the
    # open socket holds the loop.)
    accepted = []
    server = net.createServer(lambda conn: (conn.unref(), accepted.append(conn)))
    track.servers.append(server)
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    server.unref()
    sock = keep(track, net.Socket())
    if order == "unref-then-ref":
        sock.unref()
        sock.ref()
    else:
        sock.ref()
        sock.unref()
    sock.connect(server.address()["port"], "127.0.0.1")
    net.once(sock, "connect", timeout=5)
    wait_until(lambda: accepted, message="server-side connection")
    if order == "unref-then-ref":
        assert net.run(timeout=0.3) is False  # the ref'd socket holds the loop
        sock.unref()
    assert exits()


def test_unrefd_sockets_with_timeouts_do_not_hold_the_loop(track, must_call):
    # Node: test/parallel/test-net-socket-timeout-unref.js
    def on_connection(c):
        c.write("hello")
        c.unref()

    server = net.createServer(on_connection)
    track.servers.append(server)
    server.listen(0)
    net.once(server, "listening", timeout=5)
    server.unref()
    connections = [0]
    sockets = []
    delays = [8, 5, 3, 6, 2, 4]
    all_connected = event_flag(server, "all-connected")

    def on_connect():
        connections[0] += 1
        if connections[0] == len(delays):
            for s in sockets:
                def on_timeout(s=s):
                    s["socket"].destroy()
                    raise AssertionError("socket timed out unexpectedly")

                s["socket"].setTimeout(s["timeout"], on_timeout)
                s["socket"].unref()
            server.emit("all-connected")

    for t in delays:
        socket = keep(track, net.createConnection(server.address()["port"], "localhost"))
        socket.on("connect", must_call(on_connect))
        sockets.append({"socket": socket, "timeout": t * 1000})
    assert all_connected.wait(5)
    assert exits()


def test_paused_connection_does_not_hold_the_loop(track, must_call):
    # Node: test/parallel/test-net-connect-paused-connection.js -- a connected socket
    # that is paused (not reading) and has nothing to write keeps nothing alive.
    server = net.createServer(lambda conn: conn.unref())
    track.servers.append(server)
    listening = event_flag(server, "listening")
    server.listen(0, must_call())
    server.unref()
    assert listening.wait(5)
    client = keep(track, net.connect(server.address()["port"], "localhost"))
    client.pause()
    assert exits()
    assert client.destroyed is False
