"""Ports of node-v0.x-archive's net tests on moving data: encodings, flow control, ping-pong.

Each test names the ``test/simple/test-net-*.js`` file it comes from.  Node's
``common.PORT`` becomes a port the OS picks and ``common.PIPE`` a Unix socket in
a temporary directory; ``process.on('exit', ...)`` checks become asserts after
waiting for the events.
"""

import os
import re

import gevent
import gevent.event
import pytest

import nodenet_gevent as net
from conftest import event_flag, scratch_dir
from test_v010_support import handler_errors, has_ipv6  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.timeout(60)


# From test/simple/test-net-binary.js
def test_v010_net_binary(track):
    binary_string = "".join(chr(i) for i in range(255, -1, -1))
    assert [ord(c) for c in binary_string] == list(range(255, -1, -1))

    def on_connection(connection):
        connection.setEncoding("binary")
        connection.on("data", lambda chunk: connection.write(chunk, "binary"))
        connection.on("end", lambda: connection.end())

    echo_server = net.Server(on_connection)  # Node's "safe constructor" net.Server(fn)
    track.servers.append(echo_server)
    echo_server.listen(0)
    net.once(echo_server, "listening", timeout=5)

    recv = []
    state = {"j": 0}
    c = track.connect({"port": echo_server.address()["port"]})
    c.setEncoding("binary")

    def on_data(chunk):
        j = state["j"]
        n = j + len(chunk)
        while j < n and j < 256:
            c.write(chr(j), "binary")
            j += 1
        state["j"] = j
        if j == 256:
            c.end()
        recv.append(chunk)

    c.on("data", on_data)
    c.on("connect", lambda: c.write(binary_string, "binary"))
    c.on("close", lambda had_error: echo_server.close())
    net.once(echo_server, "close", timeout=10)

    received = "".join(recv)
    assert len(received) == 2 * 256
    first = received[:256][::-1]
    second = received[256:]
    assert first == second


# From test/simple/test-net-buffersize.js
def test_v010_net_buffersize(track, must_call):
    iterations = 10

    def on_connection(socket):
        socket.on("readable", lambda: socket.read())
        socket.on("end", lambda: server.close())

    server = track.server(on_connection)
    server.listen(0)
    net.once(server, "listening", timeout=5)
    client = track.connect(server.address()["port"])

    def on_finish():
        assert client.bufferSize == 0

    client.on("finish", must_call(on_finish))
    for i in range(1, iterations):
        client.write("a")
        assert client.bufferSize == i  # still connecting: everything is queued
    client.end()
    net.once(server, "close", timeout=5)


# From test/simple/test-net-large-string.js
def test_v010_net_large_string(track):
    k_pool_size = 40 * 1024
    data = "あ" * k_pool_size  # 3 bytes each in UTF-8
    received = {"size": 0}
    encoding = "UTF-8"

    def on_connection(socket):
        socket.setEncoding(encoding)

        def on_data(chunk):
            received["size"] += len(chunk)

        socket.on("data", on_data)
        socket.on("end", lambda: socket.end())

    server = track.server(on_connection)
    server.listen(0)
    net.once(server, "listening", timeout=5)
    client = track.connect(server.address()["port"])
    client.on("end", lambda: server.close())
    client.write(data, encoding)
    client.end()
    net.once(server, "close", timeout=10)
    assert received["size"] == k_pool_size


# From test/simple/test-net-pause-resume-connecting.js
def test_v010_net_pause_resume_connecting(track, must_call):
    counts = {"connections": 0, "data": 0}

    def on_connection(conn):
        counts["connections"] += 1
        conn.end("This was the year he fell to pieces.")
        if counts["connections"] == 5:
            server.close()

    server = track.server(on_connection)
    server.listen(0)
    net.once(server, "listening", timeout=5)
    port = server.address()["port"]
    closed = event_flag(server, "close")

    def on_data_ok(data):
        counts["data"] += 1

    on_data_error = must_call.never("'data' on a paused socket")

    def schedule_tear_down(conn):
        def tear_down():
            conn.removeAllListeners("data")
            conn.resume()

        gevent.spawn_later(0.1, tear_down)  # Node: setTimeout(..., 100)

    # Client 1
    conn = track.connect(port, "localhost")
    conn.resume()
    conn.on("data", on_data_ok)

    # Client 2
    conn = track.connect(port, "localhost")
    conn.pause()
    conn.resume()
    conn.on("data", on_data_ok)

    # Client 3
    conn = track.connect(port, "localhost")
    conn.pause()
    conn.on("data", on_data_error)
    schedule_tear_down(conn)

    # Client 4
    conn = track.connect(port, "localhost")
    conn.resume()
    conn.pause()
    conn.resume()
    conn.on("data", on_data_ok)

    # Client 5
    conn = track.connect(port, "localhost")
    conn.resume()
    conn.resume()
    conn.pause()
    conn.on("data", on_data_error)
    schedule_tear_down(conn)

    assert closed.wait(10)
    assert counts["connections"] == 5
    assert counts["data"] == 3


def _ping_pong(track, pipe, host, done):
    """Body of test-net-pingpong.js's pingPongTest(port, host); *pipe* is a path or None (TCP)."""
    n = 1000
    state = {"count": 0, "sent_pongs": 0, "sent_final_ping": False}

    def on_connection(socket):
        assert socket.server is server
        with pytest.deprecated_call():
            assert server.connections == 1
        socket.setNoDelay()
        socket.setTimeout(0)  # Node: `socket.timeout = 0` (a read-only property here)
        socket.setEncoding("utf8")

        def on_data(data):
            # Since we never queue data (we always wait for the PING before
            # sending a PONG), the write queue holds less than one message.
            assert 0 <= socket.bufferSize <= 4
            assert socket.writable is True
            assert socket.readable is True
            assert state["count"] <= n
            if re.search("PING", data):

                def sent(err):
                    state["sent_pongs"] += 1

                socket.write("PONG", sent)

        def on_end():
            assert socket.allowHalfOpen is True
            assert socket.writable is True  # because allowHalfOpen
            assert socket.readable is False
            socket.end()

        def on_error(e):
            raise e

        def on_close(had_error):
            assert socket.writable is False
            assert socket.readable is False
            socket.server.close()

        socket.on("data", on_data)
        socket.on("end", on_end)
        socket.on("error", on_error)
        socket.on("close", on_close)

    server = track.server({"allowHalfOpen": True}, on_connection)

    def on_listening():
        # Node uses fixed ports (common.PORT + k); here the OS picks one.
        target = pipe if pipe else server.address()["port"]
        client = track.connect(target, host) if host else track.connect(target)
        client.setEncoding("ascii")

        def on_connect():
            assert client.readable is True
            assert client.writable is True
            client.write("PING")

        def on_data(data):
            assert data == "PONG"
            state["count"] += 1
            if state["sent_final_ping"]:
                assert client.writable is False
                assert client.readable is True
                return
            assert client.writable is True
            assert client.readable is True
            if state["count"] < n:
                client.write("PING")
            else:
                state["sent_final_ping"] = True
                client.write("PING")
                client.end()

        def on_close(had_error):
            assert state["count"] == n + 1
            assert state["sent_pongs"] == n + 1
            assert state["sent_final_ping"] is True
            done.set()

        def on_error(e):
            raise e

        client.on("connect", on_connect)
        client.on("data", on_data)
        client.on("close", on_close)
        client.on("error", on_error)

    if pipe:
        server.listen(pipe, on_listening)
    elif host:
        server.listen(0, host, on_listening)
    else:
        server.listen(0, on_listening)


# From test/simple/test-net-pingpong.js
def test_v010_net_pingpong(track):
    # "All are run at once, so run on different ports": a pipe, a port, a port
    # on 'localhost', and '::1' where there is IPv6.
    runs = []
    pipe = os.path.join(scratch_dir("nodenet-v010-"), "pingpong.sock")
    for target, host in [(pipe, None), (None, None), (None, "localhost")] + ([(None, "::1")] if has_ipv6() else []):
        done = gevent.event.Event()
        runs.append(done)
        _ping_pong(track, target, host, done)
    for done in runs:
        assert done.wait(30)
    assert len(runs) == (4 if has_ipv6() else 3)


# From test/simple/test-net-write-slow.js
def test_v010_net_write_slow(track):
    size = 2 * 10 ** 5
    n = 10
    buf = b"a" * size
    counts = {"flushed": 0, "received": 0}

    def on_connection(socket):
        socket.setNoDelay()
        socket.setTimeout(1000)

        def on_timeout():
            raise AssertionError(
                "flushed: %d, received: %d/%d" % (counts["flushed"], counts["received"], size * n)
            )

        socket.on("timeout", on_timeout)

        def flushed(err):
            counts["flushed"] += 1
            if counts["flushed"] == n:
                socket.setTimeout(0)

        for _ in range(n):
            socket.write(buf, flushed)
        socket.end()

    server = track.server(on_connection)
    server.listen(0)
    net.once(server, "listening", timeout=5)
    conn = track.connect(server.address()["port"])

    def on_data(data):
        counts["received"] += len(data)
        conn.pause()
        gevent.spawn_later(0.02, conn.resume)  # Node: setTimeout(resume, 20)

    conn.on("data", on_data)
    conn.on("end", lambda: server.close())
    net.once(server, "close", timeout=30)
    assert counts["received"] == size * n
