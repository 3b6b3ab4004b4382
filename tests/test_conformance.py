"""One conformance check for a half-closeable Node stream, run on TCP and Unix sockets.

In the manner of trio's ``check_half_closeable_stream``: the same helper runs
against every transport, and the whole suite runs plain and monkey-patched
(``tests/run_monkeypatched.py``), so each behaviour is proven four ways.
"""

import hashlib
import os

import gevent
import gevent.event
import pytest

import nodenet_gevent as net
from conftest import event_flag, read_all

pytestmark = pytest.mark.timeout(60)


def make_pair(track, transport, **options):
    """A connected ``(client, accepted)`` pair of Sockets over *transport*."""
    accepted = gevent.event.AsyncResult()
    handler = accepted.set
    if transport == "tcp":
        server = track.listen(handler, **options)
        client = track.connect(dict(port=server.address()["port"], host="127.0.0.1", **options))
    elif transport == "tcp6":
        server = track.listen(handler, host="::1", **options)
        client = track.connect(dict(port=server.address()["port"], host="::1", **options))
    else:
        server, path = track.listen_unix(handler, **options)
        client = track.connect(dict(path=path, **options))
    net.once(client, "connect", timeout=5)
    return client, accepted.get(timeout=5)


TRANSPORTS = ["tcp", "tcp6", "unix"]


@pytest.fixture(params=TRANSPORTS)
def transport(request):
    import socket

    if request.param == "tcp6" and not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    return request.param


def digest(data):
    return hashlib.sha256(data).hexdigest()


def test_bulk_both_directions_in_order(track, transport):
    client, server = make_pair(track, transport)
    up = os.urandom(2 * 1024 * 1024 + 7)
    down = os.urandom(3 * 1024 * 1024 + 3)
    received_up = []
    server.on("data", received_up.append)
    server.on("end", lambda: server.end(down))
    for i in range(0, len(up), 100003):
        client.write(up[i:i + 100003])
    client.end()
    got_down = read_all(client, timeout=20)
    assert digest(got_down) == digest(down)
    assert digest(b"".join(received_up)) == digest(up)
    assert client.bytes_read == len(down) and client.bytes_written == len(up)
    assert server.bytes_read == len(up) and server.bytes_written == len(down)


def test_half_close_keeps_other_direction_open(track, transport):
    client, server = make_pair(track, transport, allowHalfOpen=True)
    events = []
    server.on("end", lambda: events.append(("server", "end", server.ready_state)))
    server.on("data", lambda d: None)
    client.on("finish", lambda: events.append(("client", "finish", client.ready_state)))
    client_closed = event_flag(client, "close")
    server_closed = event_flag(server, "close")
    client.end(b"request")
    net.once(server, "end", timeout=5)
    assert server.writable and server.ready_state == "writeOnly"
    for _ in range(3):
        server.write(b"late reply ")
    gevent.sleep(0.05)  # the half-open state persists: nothing closes by itself
    assert not client.destroyed and not server.destroyed
    server.end(b"done")
    assert read_all(client) == b"late reply " * 3 + b"done"
    assert client_closed.wait(5) and server_closed.wait(5)
    assert client_closed.args == (False,) and server_closed.args == (False,)
    assert ("client", "finish", "readOnly") in events and ("server", "end", "writeOnly") in events


def test_peer_fin_ends_our_side_without_allow_half_open(track, transport):
    client, server = make_pair(track, transport)
    server.resume()
    server_closed = event_flag(server, "close")
    client.end()
    assert read_all(client) == b""
    assert server_closed.wait(5) and server_closed.args == (False,)
    assert server.ready_state == "closed" and client.ready_state == "closed"


def test_destroy_gives_peer_end_and_close(track, transport):
    client, server = make_pair(track, transport)
    closed = event_flag(client, "close")
    server.destroy()
    client.resume()
    net.once(client, "end", timeout=5)
    assert closed.wait(5) and closed.args == (False,)


def test_pause_resume_across_transport(track, transport):
    client, server = make_pair(track, transport)
    payload = os.urandom(512 * 1024)
    got = []
    server.pause()
    server.on("data", got.append)
    client.end(payload)
    gevent.sleep(0.1)  # paused: nothing may be delivered however long we wait
    assert got == []
    server.resume()
    net.once(server, "end", timeout=10)
    assert b"".join(got) == payload


def test_encoding_over_transport(track, transport):
    client, server = make_pair(track, transport)
    text = "ß€𝄞 " * 10000
    server.set_encoding("utf8")
    chunks = []
    server.on("data", chunks.append)
    client.end(text)
    net.once(server, "end", timeout=10)
    assert "".join(chunks) == text and all(type(c) is str for c in chunks)


def test_write_callbacks_and_drain(track, transport):
    client, server = make_pair(track, transport, highWaterMark=4096)
    server.pause()
    flags = []
    while True:
        ok = client.write(b"w" * 65536)
        flags.append(ok)
        if not ok:
            break
    assert flags[-1] is False and client.buffer_size >= 4096
    drained = event_flag(client, "drain")
    server.resume()
    server.on("data", lambda d: None)
    assert drained.wait(10)
    done = gevent.event.AsyncResult()
    client.write(b"last", done.set)
    assert done.get(timeout=5) is None
