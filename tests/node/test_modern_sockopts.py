"""Socket options: setNoDelay, setKeepAlive, the noDelay/keepAlive options, ipv6Only.

Ports of nodejs/node test/parallel test-net-connect-keepalive.js,
test-net-connect-nodelay.js, test-net-server-keepalive.js, test-net-server-nodelay.js,
test-net-persistent-nodelay.js, test-net-persistent-keepalive.js,
test-net-socket-setnodelay.js, test-net-keepalive.js, test-net-listen-ipv6only.js.

Node's tests spy on the internal handle's setNoDelay/setKeepAlive; we read the
resulting socket options with getsockopt() on the connected socket instead (through
the socket's ``_handle``, the gevent socket).  JavaScript's truthy ``{}`` and ``[]``
are falsy in Python; the option values tested are the ones both languages agree on.
"""

import socket as stdlib_socket

import gevent
import pytest

import nodenet_gevent as net
from conftest import event_flag, wait_until
from test_modern_support import greenlet_errors, keep, needs_ipv6, pipe_path, serve  # noqa: F401

pytestmark = pytest.mark.timeout(60)

TRUTHY = [True, 1, "true"]
FALSY = [False, 0, ""]


def nodelay(sock):
    return sock._handle.getsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY)


def keepalive(sock):
    return sock._handle.getsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_KEEPALIVE)


def keepidle(sock):
    return sock._handle.getsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_KEEPIDLE)


def system_keepidle():
    with stdlib_socket.socket() as probe:
        return probe.getsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_KEEPIDLE)


def connected(track, server, **options):
    sock = track.connect({"port": server.address()["port"], "host": "127.0.0.1", **options})
    net.once(sock, "connect", timeout=5)
    return sock


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-connect-keepalive.js and test-net-connect-nodelay.js

@pytest.mark.parametrize("value", TRUTHY, ids=repr)
@pytest.mark.parametrize("delay, expected_seconds", [(123, 0), (456123, 456), (-123000, 0), (None, 0)], ids=repr)
def test_connect_keep_alive_option(track, value, delay, expected_seconds):
    # Node: test/parallel/test-net-connect-keepalive.js (truthy values: keep-alive on,
    # initial delay floor(ms / 1000) s; 0 leaves the system's delay)
    server = serve(track)
    sock = connected(track, server, keepAlive=value, keepAliveInitialDelay=delay)
    assert keepalive(sock) == 1
    assert keepidle(sock) == (expected_seconds or system_keepidle())


@pytest.mark.parametrize("value", FALSY, ids=repr)
def test_connect_keep_alive_option_falsy(track, value):
    # Node: test/parallel/test-net-connect-keepalive.js (falsy values: never enabled)
    server = serve(track)
    sock = connected(track, server, keepAlive=value)
    assert keepalive(sock) == 0


@pytest.mark.parametrize("value", TRUTHY, ids=repr)
def test_connect_no_delay_option(track, value):
    # Node: test/parallel/test-net-connect-nodelay.js (truthy values)
    server = serve(track)
    sock = connected(track, server, noDelay=value)
    assert nodelay(sock) == 1


@pytest.mark.parametrize("value", FALSY, ids=repr)
def test_connect_no_delay_option_falsy(track, value):
    # Node: test/parallel/test-net-connect-nodelay.js (falsy values: Nagle stays on)
    server = serve(track)
    sock = connected(track, server, noDelay=value)
    assert nodelay(sock) == 0


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-server-keepalive.js and test-net-server-nodelay.js


def accepted_socket(track, **server_options):
    accepted = []
    server = serve(track, accepted.append, 0, "127.0.0.1", **server_options)
    track.connect(server.address()["port"], "127.0.0.1")
    wait_until(lambda: accepted, message="'connection'")
    return accepted[0]


def test_server_keep_alive_option(track):
    # Node: test/parallel/test-net-server-keepalive.js -- accepted sockets start with
    # keep-alive on and the server's initial delay; setKeepAlive() still changes it.
    socket = accepted_socket(track, keepAlive=True, keepAliveInitialDelay=1000)
    assert keepalive(socket) == 1
    assert keepidle(socket) == 1
    socket.setKeepAlive(True, 2000)
    socket.setKeepAlive(True, 3000)
    assert keepidle(socket) == 3


def test_server_no_delay_option(track):
    # Node: test/parallel/test-net-server-nodelay.js
    socket = accepted_socket(track, noDelay=True)
    assert nodelay(socket) == 1
    socket.setNoDelay(True)
    assert nodelay(socket) == 1


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-persistent-nodelay.js and test-net-persistent-keepalive.js


def test_set_no_delay_before_connect_persists(track, must_call):
    # Node: test/parallel/test-net-persistent-nodelay.js
    done = []
    server = serve(track, lambda connection: connection.end())
    sock1 = keep(track, net.Socket())
    s = sock1.setNoDelay()  # before the socket exists
    assert isinstance(s, net.Socket)
    sock1.connect(server.address()["port"], "127.0.0.1")

    def on_end():
        assert nodelay(sock1) == 1
        server.close()
        done.append(True)

    sock1.on("end", must_call(on_end))
    sock1.resume()
    wait_until(lambda: done, message="client 'end'")


def test_set_keep_alive_before_connect_persists(track):
    # Node: test/parallel/test-net-persistent-keepalive.js (plus the check that the
    # option really reached the socket, which is the test's point)
    conns = {}

    def on_connection(connection):
        conns["server"] = connection
        connection.setTimeout(0)
        assert callable(connection.setKeepAlive)
        connection.on("end", lambda: connection.end())

    server = serve(track, on_connection, 0)
    client = keep(track, net.Socket())
    s = client.setKeepAlive(True, 400)
    assert isinstance(s, net.Socket)
    client.connect(server.address()["port"])
    client.setTimeout(0)
    net.once(client, "connect", timeout=5)
    wait_until(lambda: "server" in conns, message="'connection'")
    assert keepalive(client) == 1
    gevent.sleep(0.6)  # Node: setTimeout(..., 600): both still open afterwards
    assert conns["server"].readyState == "open"
    assert client.readyState == "open"
    conns["server"].end()
    client.end()


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-socket-setnodelay.js


def test_set_no_delay_values(track):
    # Node: test/parallel/test-net-socket-setnodelay.js -- setNoDelay() defaults to
    # true; truthy values enable, falsy values disable.
    server = serve(track)
    socket = connected(track, server)
    assert socket.setNoDelay() is socket
    assert nodelay(socket) == 1
    for value in TRUTHY:
        socket.setNoDelay(value)
        assert nodelay(socket) == 1
    for value in FALSY:
        socket.setNoDelay(value)
        assert nodelay(socket) == 0
    for value in TRUTHY + FALSY + TRUTHY:
        socket.setNoDelay(value)
        assert nodelay(socket) == (1 if value else 0)


def test_set_no_delay_without_tcp_is_harmless(track):
    # Node: test/parallel/test-net-socket-setnodelay.js ("If a handler doesn't have a
    # setNoDelay function it shouldn't be called"): a Unix socket has no Nagle.
    path = pipe_path()
    server = serve(track, None, path)
    socket = track.connect(path)
    net.once(socket, "connect", timeout=5)
    returned = socket.setNoDelay(True)
    assert isinstance(returned, net.Socket)
    server.close()


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-keepalive.js


def test_keep_alive_does_not_disturb_open_connections(track, must_call):
    # Node: test/parallel/test-net-keepalive.js
    conns = {}
    done = []

    def on_connection(connection):
        conns["server"] = connection

        def later():
            # Make sure both connections are still open
            assert conns["server"].readyState == "open"
            assert conns["client"].readyState == "open"
            conns["server"].end()
            conns["client"].end()
            echo_server.close()
            done.append(True)

        gevent.spawn_later(0.1, must_call(later))
        connection.setTimeout(0)
        assert connection.setKeepAlive is not None
        # Send a keepalive packet after 50 ms
        connection.setKeepAlive(True, 50)
        connection.on("end", lambda: connection.end())

    echo_server = net.createServer(on_connection)
    track.servers.append(echo_server)
    echo_server.listen(0)

    def on_listening():
        conns["client"] = keep(track, net.createConnection(echo_server.address()["port"]))
        conns["client"].setTimeout(0)

    echo_server.on("listening", on_listening)
    wait_until(lambda: done, message="keepalive check")


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-listen-ipv6only.js


@needs_ipv6
def test_ipv6_only_refuses_ipv4(track, must_call):
    # Node: test/parallel/test-net-listen-ipv6only.js
    errors = []
    server = net.createServer()
    track.servers.append(server)
    closed = event_flag(server, "close")

    def listening():
        socket = keep(track, net.connect({"host": "0.0.0.0", "port": server.address()["port"]}))
        socket.on("connect", must_call.never("'connect'"))
        socket.on("error", must_call(lambda err: (errors.append(err), server.close())))

    server.listen({"host": "::", "port": 0, "ipv6Only": True}, must_call(listening))
    wait_until(lambda: errors, message="'error'")
    assert errors[0].code == "ECONNREFUSED"
    assert closed.wait(5)
