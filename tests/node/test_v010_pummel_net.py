"""Ports of node-v0.x-archive's ``test/pummel/test-net-*.js``: load, long runs, timing.

Each test names the Node file it comes from.  They keep Node's sizes unless a
comment says otherwise, and each stays well under 20 s.  Sleeps appear only
where Node's test itself waits with ``setTimeout``/``setInterval`` as part of
what it checks.
"""

import gc
import time
import weakref

import gevent
import gevent.event
import pytest

import nodenet_gevent as net
from conftest import event_flag, wait_until
from test_v010_support import (  # noqa: F401  (handler_errors is an autouse fixture)
    handler_errors,
    has_ipv6,
    next_ticks,
    open_fd_count,
    refused_port,
)

pytestmark = pytest.mark.timeout(60)


# From test/pummel/test-net-connect-econnrefused.js
def test_v010_pummel_net_connect_econnrefused(track):
    # "Verify that connect reqs are properly cleaned up": 10 rounds of 100
    # refused connections.  Node then checks that no request and no handle is
    # left; here: no descriptor is left open and nothing keeps the loop alive.
    rounds_total = 10
    attempts_per_round = 100
    state = {"rounds": 1, "reqs": 0, "pending": 0}
    finished = gevent.event.Event()
    fds_before = open_fd_count()

    with refused_port() as port:

        def on_error(err):
            assert err.code == "ECONNREFUSED"
            state["pending"] -= 1
            if state["pending"] > 0:
                return
            if state["rounds"] == rounds_total:
                finished.set()
                return
            state["rounds"] += 1
            pummel()

        def pummel():
            for _ in range(attempts_per_round):
                state["pending"] += 1
                track.connect(port).on("error", on_error)
                state["reqs"] += 1

        pummel()
        assert finished.wait(30)

    assert state["rounds"] == rounds_total
    assert state["reqs"] == rounds_total * attempts_per_round
    wait_until(lambda: all(s.destroyed for s in track.sockets), message="every socket closed")
    track.sockets.clear()
    assert net.run(timeout=5) is True  # nothing left that keeps the loop alive
    assert open_fd_count() <= fds_before


# From test/pummel/test-net-connect-memleak.js
def test_v010_pummel_net_connect_memleak(track):
    # Node fills a 64M-entry array, keeps it alive only through the connect
    # callback's closure, and checks that >128 MB come back once the callback
    # ran.  In Python: the closure's object must be collectable once the
    # callback ran, i.e. the library keeps no reference to a fired callback.
    server = track.server(lambda c: None)
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    called = gevent.event.Event()

    class Junk:
        pass

    def connect():
        junk = Junk()
        junk.data = bytearray(32 * 1024 * 1024)
        ref = weakref.ref(junk)

        def on_connect():
            assert len(junk.data) != 0  # keep the reference alive
            called.set()

        track.connect(server.address()["port"], "127.0.0.1", on_connect)
        return ref

    ref = connect()
    assert called.wait(5)
    next_ticks()  # Node: setTimeout(done, 10) -- let the connect callback return
    gc.collect()
    assert ref() is None, "the connect callback (and what it holds) is still referenced"


# From test/pummel/test-net-many-clients.js
def test_v010_pummel_net_many_clients(track):
    body_bytes = 1024 * 40
    concurrency = 100
    connections_per_client = 5
    total_connections = []
    body = "C" * body_bytes

    def on_connection(c):
        total_connections.append(True)
        c.write(body)
        c.end()

    server = track.server(on_connection)
    finished_clients = []
    all_done = gevent.event.Event()

    def run_client(callback):
        client = track.connect(port)
        state = {"connections": 0, "recved": ""}
        client.setEncoding("utf8")

        def on_connect():
            state["recved"] = ""
            state["connections"] += 1

        def on_data(chunk):
            state["recved"] += chunk

        def on_error(e):
            raise e

        def on_close(had_error):
            assert had_error is False
            assert len(state["recved"]) == body_bytes
            # (Node also checks the internal client.fd is gone.)
            if state["connections"] < connections_per_client:
                client.connect(port)
            else:
                callback()

        client.on("connect", on_connect)
        client.on("data", on_data)
        client.on("end", lambda: client.end())
        client.on("error", on_error)
        client.on("close", on_close)

    def client_done():
        finished_clients.append(True)
        if len(finished_clients) == concurrency:
            server.close()
            all_done.set()

    server.listen(0)
    net.once(server, "listening", timeout=5)
    port = server.address()["port"]
    try:
        for _ in range(concurrency):
            run_client(client_done)
        assert all_done.wait(10)
    finally:
        for sock in track.sockets:
            sock.remove_all_listeners("close")  # no reconnecting after the test
    assert len(total_connections) == connections_per_client * concurrency


# From test/pummel/test-net-pause.js
def test_v010_pummel_net_pause(track):
    n = 200
    recv = []

    def on_connection(connection):
        def writer():
            for _ in range(n):
                gevent.sleep(0.01)  # Node: setTimeout(..., 10) between writes
                connection.write("C")
            connection.end()

        gevent.spawn(writer)

    server = track.server(on_connection)
    server.listen(0)
    net.once(server, "listening", timeout=5)
    client = track.connect(server.address()["port"])
    client.setEncoding("ascii")
    client.on("data", recv.append)
    ended = event_flag(client, "end")
    server_closed = event_flag(server, "close")
    client.on("end", lambda: (server.close(), client.end()))

    # Node's nested setTimeout(..., 500) chain: pause, check nothing arrives
    # while paused, resume; twice.
    gevent.sleep(0.5)
    chars_recved = len("".join(recv))
    assert chars_recved > 1
    client.pause()
    gevent.sleep(0.5)
    assert len("".join(recv)) == chars_recved
    client.resume()
    gevent.sleep(0.5)
    chars_recved = len("".join(recv))
    client.pause()
    gevent.sleep(0.5)
    assert len("".join(recv)) == chars_recved
    client.resume()

    assert ended.wait(10)
    assert server_closed.wait(5)
    assert len("".join(recv)) == n


def _ping_pong_delay(track, done):
    n = 100
    delay = 0.001
    state = {"count": 0, "client_ended": False}

    def on_connection(socket):
        socket.setEncoding("utf8")

        def on_data(data):
            assert data == "PING"
            assert socket.readyState == "open"
            assert state["count"] <= n

            def later():
                assert socket.readyState == "open"
                socket.write("PONG")

            gevent.spawn_later(delay, later)

        def on_timeout():
            raise AssertionError("server-side timeout!!")

        def on_end():
            assert socket.readyState == "writeOnly"
            socket.end()

        def on_close(had_error):
            assert had_error is False
            assert socket.readyState == "closed"
            socket.server.close()

        socket.on("data", on_data)
        socket.on("timeout", on_timeout)
        socket.on("end", on_end)
        socket.on("close", on_close)

    server = track.server({"allowHalfOpen": True}, on_connection)

    def on_listening():
        client = track.connect(server.address()["port"])
        client.setEncoding("utf8")

        def on_connect():
            assert client.readyState == "open"
            client.write("PING")

        def on_data(data):
            assert data == "PONG"
            assert client.readyState == "open"

            def later():
                assert client.readyState == "open"
                count = state["count"]
                state["count"] += 1
                if count < n:
                    client.write("PING")
                else:
                    client.end()
                    state["client_ended"] = True

            gevent.spawn_later(delay, later)

        def on_timeout():
            raise AssertionError("client-side timeout!!")

        def on_close(had_error):
            assert state["count"] == n + 1
            assert state["client_ended"]
            done.set()

        client.on("connect", on_connect)
        client.on("data", on_data)
        client.on("timeout", on_timeout)
        client.on("close", on_close)

    server.listen(0, on_listening)


# From test/pummel/test-net-pingpong-delay.js
def test_v010_pummel_net_pingpong_delay(track):
    done = gevent.event.Event()
    _ping_pong_delay(track, done)
    assert done.wait(20)


def _ping_pong(track, host, done):
    n = 1000
    state = {"count": 0, "sent_final_ping": False}

    def on_connection(socket):
        address = socket.remoteAddress
        assert address is not None
        if host == "127.0.0.1":
            assert address == "127.0.0.1"
        elif host is None or host == "localhost":
            # Node 0.10: 127.0.0.1 or ::ffff:127.0.0.1; 'localhost' may also be
            # ::1 where the resolver lists it first (current Node keeps that order).
            assert address in ("127.0.0.1", "::ffff:127.0.0.1", "::1")
        else:
            assert address == "::1"
        socket.setEncoding("utf8")
        socket.setNoDelay()
        socket.setTimeout(0)  # Node: `socket.timeout = 0` (a read-only property here)

        def on_data(data):
            assert socket.readyState == "open"
            assert state["count"] <= n
            if "PING" in data:
                socket.write("PONG")

        def on_end():
            assert socket.readyState == "writeOnly"
            socket.end()

        def on_close(had_error):
            assert had_error is False
            assert socket.readyState == "closed"
            socket.server.close()

        socket.on("data", on_data)
        socket.on("end", on_end)
        socket.on("close", on_close)

    server = track.server({"allowHalfOpen": True}, on_connection)

    def on_listening():
        port = server.address()["port"]
        client = track.connect(port, host) if host else track.connect(port)
        client.setEncoding("utf8")

        def on_connect():
            assert client.readyState == "open"
            client.write("PING")

        def on_data(data):
            assert data == "PONG"
            state["count"] += 1
            if state["sent_final_ping"]:
                assert client.readyState == "readOnly"
                return
            assert client.readyState == "open"
            if state["count"] < n:
                client.write("PING")
            else:
                state["sent_final_ping"] = True
                client.write("PING")
                client.end()

        def on_close(had_error):
            assert state["count"] == n + 1
            assert state["sent_final_ping"] is True
            done.set()

        client.on("connect", on_connect)
        client.on("data", on_data)
        client.on("close", on_close)

    if host:
        server.listen(0, host, on_listening)
    else:
        server.listen(0, on_listening)


# From test/pummel/test-net-pingpong.js
def test_v010_pummel_net_pingpong(track):
    # All run at once; Node's fixed ports become OS-chosen ones.
    hosts = ["localhost", None] + (["::1"] if has_ipv6() else [])
    runs = []
    for host in hosts:
        done = gevent.event.Event()
        runs.append(done)
        _ping_pong(track, host, done)
    for done in runs:
        assert done.wait(30)
    assert len(runs) == len(hosts)


# From test/pummel/test-net-throttle.js
def test_v010_pummel_net_throttle(track):
    n = 1024 * 1024
    part_n = n // 3
    chars = {"recved": 0, "npauses": 0}
    body = "C" * n
    writes = []

    def on_connection(connection):
        connection.write(body[:part_n])
        connection.write(body[part_n:2 * part_n])
        ret = connection.write(body[2 * part_n:])
        # Node 0.10 asserted this third write returns false.  The SPEC (and
        # current Node) say false exactly when the bytes the kernel did not take
        # yet reach the high-water mark -- a write the kernel takes at once
        # returns true.  So: the return value agrees with bufferSize.
        writes.append((ret, connection.bufferSize))
        assert ret is (connection.bufferSize < 16384)
        assert 0 <= connection.bufferSize <= n
        connection.end()

    server = track.server(on_connection)
    server.listen(0)
    net.once(server, "listening", timeout=5)
    paused = [False]
    client = track.connect(server.address()["port"])
    client.setEncoding("ascii")

    def on_data(d):
        chars["recved"] += len(d)
        if not paused[0]:
            client.pause()
            chars["npauses"] += 1
            paused[0] = True
            x = chars["recved"]

            def later():
                assert chars["recved"] == x
                client.resume()
                paused[0] = False

            gevent.spawn_later(0.1, later)  # Node: setTimeout(..., 100)

    client.on("data", on_data)
    client.on("end", lambda: (server.close(), client.end()))
    net.once(server, "close", timeout=30)
    assert len(writes) == 1
    assert chars["recved"] == n
    assert chars["npauses"] > 2


# From test/pummel/test-net-timeout.js
def test_v010_pummel_net_timeout(track):
    timeout = 1.0
    times = {"start": None, "timeout": None}
    exchanges = [0]

    def on_connection(socket):
        socket.setTimeout(int(timeout * 1000))

        def on_timeout():
            times["timeout"] = time.monotonic()
            socket.destroy()

        def on_error(e):
            raise AssertionError("Server side socket should not get error. We disconnect willingly.")

        socket.on("timeout", on_timeout)
        socket.on("error", on_error)
        socket.on("data", lambda d: socket.write(d))
        socket.on("end", lambda: socket.end())

    echo_server = track.server(on_connection)
    echo_server.listen(0)
    net.once(echo_server, "listening", timeout=5)
    client = track.connect(echo_server.address()["port"])
    client.setEncoding("UTF8")
    client.setTimeout(0)  # disable the timeout for the client
    client.on("connect", lambda: client.write("hello\r\n"))

    def on_data(chunk):
        assert chunk == "hello\r\n"
        exchanges[0] += 1
        if exchanges[0] - 1 < 5:
            gevent.spawn_later(0.5, client.write, "hello\r\n")  # Node: setTimeout(..., 500)
            if exchanges[0] == 5:
                # wait for the timeout: it should come in `timeout` seconds
                times["start"] = time.monotonic()

    def on_timeout():
        raise AssertionError("client timeout - this shouldn't happen")

    client.on("data", on_data)
    client.on("timeout", on_timeout)
    client.on("end", lambda: client.end())
    client.on("close", lambda had_error: echo_server.close())
    net.once(echo_server, "close", timeout=20)

    assert times["start"] is not None
    assert times["timeout"] is not None
    diff = times["timeout"] - times["start"]
    assert timeout < diff
    assert diff < timeout + 0.8  # "allow for 800 milliseconds more"


# From test/pummel/test-net-timeout2.js
def test_v010_pummel_net_timeout2(track):
    # socket.write must reset the idle timer (https://github.com/joyent/node/issues/2002).
    # Node: a 2.5 s timeout, a write every 1 s, for 5 s.  Scaled by 1/5 here
    # (0.5 s timeout, a write every 0.2 s, 5 writes): the same ratios.
    seconds = 5
    unit = 0.2
    got_timeout = []
    finished = gevent.event.Event()

    def on_connection(socket):
        def on_timeout():
            got_timeout.append(True)
            socket.destroy()

        socket.setTimeout(int(seconds / 2 * unit * 1000), on_timeout)

        def interval():
            counter = 0
            while True:
                gevent.sleep(unit)  # Node: setInterval(..., 1000)
                counter += 1
                if counter == seconds:
                    server.close()
                    socket.destroy()
                if socket.writable:
                    socket.write("%d\n" % int(time.time() * 1000))
                if counter == seconds:
                    finished.set()
                    return

        gevent.spawn(interval)

    server = track.server(on_connection)
    server.listen(0)
    net.once(server, "listening", timeout=5)
    s = track.connect(server.address()["port"])
    s.resume()  # Node pipes it to process.stdout
    assert finished.wait(10)
    assert got_timeout == []


# From test/pummel/test-net-write-callbacks.js
def test_v010_pummel_net_write_callbacks(track):
    n = 500000
    state = {"cbcount": 0, "last_called": -1}

    def on_connection(socket):
        socket.on("data", lambda d: None)

        def on_end():
            socket.destroy()
            server.close()

        socket.on("end", on_end)

    server = net.Server(on_connection)
    track.servers.append(server)

    def make_callback(c):
        called = []

        def callback(err):
            if called:
                raise AssertionError("called callback #%d more than once" % c)
            called.append(True)
            if c < state["last_called"]:
                raise AssertionError("callbacks out of order. last=%d current=%d" % (state["last_called"], c))
            state["last_called"] = c
            state["cbcount"] += 1

        return callback

    def on_listening():
        client = track.connect(server.address()["port"])

        def on_connect():
            for i in range(n):
                client.write("hello world", make_callback(i))
            client.end()

        client.on("connect", on_connect)

    server.listen(0, on_listening)
    net.once(server, "close", timeout=40)
    assert state["cbcount"] == n
