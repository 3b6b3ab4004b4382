"""In a real gevent codebase: handing a socket over, context, logging, shutdown, ``with``.

Each of these failed before (issue 15): the hand-over closed the fd under us, context
was lost in 'drain'/'finish'/'timeout', handler errors went to gevent's anonymous print.
"""

import contextvars
import hashlib
import logging
import os
import socket as stdlib_socket

import gevent
import gevent.event
import gevent.server
import pytest

import nodenet_gevent as net
from conftest import event_flag, wait_until

pytestmark = pytest.mark.timeout(30)

request_id = contextvars.ContextVar("request_id", default=None)


# ---------------------------------------------------------------------------
# handing a socket over


@pytest.mark.parametrize("how", ["dict", "keyword"])
def test_a_stream_server_handler_hands_its_socket_over_and_returns(track, how):
    blob = os.urandom(512 * 1024)
    adopted = gevent.event.AsyncResult()

    def handle(sock, address):
        # The gevent handler returns at once; StreamServer then closes its object.
        conn = net.Socket({"socket": sock}) if how == "dict" else net.Socket(socket=sock)
        track.sockets.append(conn)
        conn.pipe(conn)
        adopted.set(conn)

    stream_server = gevent.server.StreamServer(("127.0.0.1", 0), handle)
    stream_server.start()
    try:
        client = track.connect(stream_server.address[1], "127.0.0.1")
        got = []
        client.on("data", got.append)
        client.end(blob)
        net.once(client, "end", timeout=10)
        assert hashlib.sha256(b"".join(got)).digest() == hashlib.sha256(blob).digest()
        conn = adopted.get(timeout=5)
        assert conn.remote_port == client.local_port
    finally:
        stream_server.stop()


def test_after_adoption_exactly_one_object_owns_the_descriptor(track):
    server = track.listen(lambda c: c.resume())
    raw = gevent.socket.create_connection(("127.0.0.1", server.address()["port"]))
    fd = raw.fileno()
    conn = net.Socket(socket=raw)
    assert raw.fileno() == -1 and conn.fileno() == fd  # the old object no longer owns the number
    raw.close()  # harmless now
    conn.write(b"still open")
    conn.destroy()
    net.once(conn, "close", timeout=5)
    # The number may be reused at once; the old object must not touch the new owner.
    reuse = stdlib_socket.socket()
    try:
        raw.close()
        reuse.connect(("127.0.0.1", server.address()["port"]))
        assert reuse.send(b"ok") == 2
    finally:
        reuse.close()


def test_a_stdlib_socket_can_be_adopted_and_bad_ones_refused(track):
    server = track.listen(lambda c: c.end(b"hi"))
    raw = stdlib_socket.create_connection(("127.0.0.1", server.address()["port"]))
    conn = net.Socket({"socket": raw})
    chunks = []
    conn.on("data", chunks.append)
    net.once(conn, "end", timeout=5)
    assert b"".join(chunks) == b"hi"
    with pytest.raises(TypeError) as caught:
        net.Socket(socket="not a socket")
    assert caught.value.code == "ERR_INVALID_ARG_TYPE"
    udp = stdlib_socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_DGRAM)
    try:
        with pytest.raises(TypeError) as caught:
            net.Socket(socket=udp)
        assert caught.value.code == "ERR_INVALID_FD_TYPE"
    finally:
        udp.close()


# ---------------------------------------------------------------------------
# context


def test_server_handlers_all_see_what_the_connection_handler_set(track):
    seen = {}
    done = gevent.event.Event()

    def on_connection(c):
        request_id.set("req-%d" % c.remote_port)
        c.set_timeout(20)
        c.on("timeout", lambda: (seen.setdefault("timeout", request_id.get()), c.end(b"x" * 200000)))
        c.on("drain", lambda: seen.setdefault("drain", request_id.get()))
        c.on("finish", lambda: seen.setdefault("finish", request_id.get()))
        c.on("close", lambda had_error: (seen.setdefault("close", request_id.get()), done.set()))
        c.on("data", lambda data: seen.setdefault("data", request_id.get()))
        while c.write(b"y" * 65536):  # until back-pressure, so 'drain' comes from the writer
            pass

    server = track.listen(on_connection)
    client = track.connect(server.address()["port"], "127.0.0.1")
    client.write(b"ping")
    client.resume()
    client.on("end", client.end)
    net.once(client, "connect", timeout=5)
    expected = "req-%d" % client.local_port
    assert done.wait(10)
    assert seen == {"timeout": expected, "drain": expected, "finish": expected, "close": expected, "data": expected}
    assert request_id.get() is None  # nothing leaked into the test's own context


def test_client_handlers_see_the_context_of_the_code_that_connected(track):
    server = track.listen(lambda c: c.end(b"bye"))
    seen = []
    token = request_id.set("caller")
    try:
        client = track.connect(server.address()["port"], "127.0.0.1")
    finally:
        request_id.reset(token)
    closed = event_flag(client, "close")
    for event in ("connect", "data", "end", "finish"):
        client.on(event, lambda *a, event=event: seen.append((event, request_id.get())))
    assert closed.wait(5)
    assert seen and all(value == "caller" for _, value in seen), seen


def test_a_raising_handler_is_logged_naming_the_connection(track, caplog):
    def on_connection(c):
        raise RuntimeError("boom in the handler")

    server = track.listen(on_connection)
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    with caplog.at_level(logging.ERROR, logger="nodenet_gevent"):
        wait_until(lambda: caplog.records, message="the log record")
    record = caplog.records[0]
    assert record.name == "nodenet_gevent" and record.exc_info[1].args == ("boom in the handler",)
    port = server.address()["port"]
    assert record.getMessage() == (
        "RuntimeError in connection 127.0.0.1:%d -> 127.0.0.1:%d (server 127.0.0.1:%d): boom in the handler"
        % (client.local_port, port, port))
    net.once(client, "close", timeout=5)


def test_the_reporter_hook_gets_unlistened_errors(track):
    reported = []
    net.set_error_reporter(lambda error, emitter: reported.append((error, emitter)))
    try:
        server = track.listen(lambda c: c.destroy(ValueError("nobody listens")))
        client = track.connect(server.address()["port"], "127.0.0.1")
        client.on("error", lambda error: None)
        net.once(client, "close", timeout=5)
        wait_until(lambda: reported, message="the report")
    finally:
        net.set_error_reporter(None)
    error, emitter = reported[0]
    assert str(error) == "nobody listens" and isinstance(emitter, net.Socket) and emitter.server is server
    with pytest.raises(TypeError):
        net.set_error_reporter("not callable")


def test_async_def_handlers_are_refused_at_registration():
    sock = net.Socket()

    async def on_data(chunk):
        pass

    class Handler:
        async def method(self, *args):
            pass

    for listener in (on_data, Handler().method):
        with pytest.raises(TypeError) as caught:
            sock.on("data", listener)
        assert caught.value.code == "ERR_INVALID_ARG_TYPE" and "async def" in str(caught.value)
    with pytest.raises(TypeError):
        net.createServer(on_data)
    assert sock.listeners("data") == []


# ---------------------------------------------------------------------------
# shutdown and with


def test_with_closes_the_server_and_ends_the_socket(track):
    with track.server(lambda c: c.resume()) as server:
        server.listen(0, "127.0.0.1")
        net.once(server, "listening", timeout=5)
        with track.connect(server.address()["port"], "127.0.0.1") as client:
            net.once(client, "connect", timeout=5)
            client.write(b"last words")
        assert client.writableEnded
    assert not server.listening
    net.once(client, "close", timeout=5)


def test_connections_do_not_share_context(track):
    # Each connection's handlers see what its own 'connection' handler set, even
    # while the two are open at once and run interleaved.
    both_open = gevent.event.Event()
    opened = []
    seen = {}

    def on_connection(c):
        request_id.set("req-%d" % c.remote_port)
        opened.append(c)
        if len(opened) == 2:
            both_open.set()
        port = c.remote_port
        c.on("data", lambda data: (both_open.wait(5), seen.setdefault(port, request_id.get()), c.end()))

    server = track.listen(on_connection)
    clients = [track.connect(server.address()["port"], "127.0.0.1") for _ in range(2)]
    closed = [event_flag(client, "close") for client in clients]
    for client in clients:
        client.resume()
        client.write(b"hello")
    net.once(clients[-1], "connect", timeout=5)  # (each connects in turn: the last one last)
    ports = [client.local_port for client in clients]
    assert all(flag.wait(10) for flag in closed)
    assert seen == {port: "req-%d" % port for port in ports}


def test_stop_ends_every_connection_and_returns_none_cut(track):
    ended = []
    server = track.listen(lambda c: (c.resume(), c.on("end", lambda: ended.append(c.remote_port))))
    clients = [track.connect(server.address()["port"], "127.0.0.1") for _ in range(3)]
    client_closed = [event_flag(client, "close") for client in clients]
    for client in clients:
        client.resume()  # allowHalfOpen false: the client ends back when the server ends
    wait_until(lambda: len(server.open_connections) == 3, message="three connections")
    ports = sorted(c.remote_port for c in server.open_connections)
    closed = event_flag(server, "close")
    assert server.stop(5) == 0
    assert closed.is_set() and not server.listening and server.open_connections == []
    assert sorted(ended) == ports
    assert all(flag.wait(5) for flag in client_closed)


def test_stop_cuts_what_is_still_open_at_the_deadline(track):
    server = track.listen(lambda c: c.resume())
    polite = track.connect(server.address()["port"], "127.0.0.1")
    polite.resume()
    stubborn = track.connect({"port": server.address()["port"], "host": "127.0.0.1", "allowHalfOpen": True})
    stubborn.resume()  # reads the server's FIN, never sends its own
    stubborn_ended, stubborn_closed = event_flag(stubborn, "end"), event_flag(stubborn, "close")
    polite_closed = event_flag(polite, "close")
    wait_until(lambda: len(server.open_connections) == 2, message="two connections")
    started = gevent.get_hub().loop.now()
    assert server.stop(0.3) == 1
    assert gevent.get_hub().loop.now() - started >= 0.29
    assert not server.listening and server.open_connections == []
    assert stubborn_ended.wait(5) and polite_closed.wait(5)  # the FIN came first, then the cut
    assert not stubborn_closed.is_set()  # half-open: it may still write; the server is gone, so
    stubborn.end()  # it ends, and closes
    assert stubborn_closed.wait(5)
