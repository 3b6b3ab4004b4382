"""The ``onread`` option: reads into the caller's buffer, with no ``'data'``.

Port of nodejs/node test/parallel/test-net-onread-static-buffer.js.  Node's
``Buffer`` is a ``bytearray`` here and its ``Uint8Array`` a ``memoryview`` of
one; ``this`` in the callback is the client socket; the 100 ms ``setTimeout``
before ``resume()`` is a ``gevent.spawn_later`` of 20 ms (what is checked is
that nothing is read while paused, not how long).
"""

import gevent
import pytest

import nodenet_gevent as net
from test_modern_support import RotatingBuffers, greenlet_errors, serve  # noqa: F401

pytestmark = pytest.mark.timeout(30)

MESSAGE = b"hello world"


def _server(track, must_call):
    """Node's ``createServer(mustCall(function(socket) { this.close(); socket.end(message); }))``."""
    server = None

    def on_connection(socket):
        server.close()
        socket.end(MESSAGE)

    server = serve(track, must_call(on_connection), 0)
    return server


def _client(track, must_call, port, onread):
    client = track.connect({"port": port, "onread": onread})
    client.on("data", must_call.never("'data' with onread"))
    return client


@pytest.mark.parametrize("kind", ["Buffer", "Uint8Array"])
def test_a_static_buffer(track, must_call, kind):
    # Node: test/parallel/test-net-onread-static-buffer.js ("Test typical usage",
    # "Test Uint8Array support")
    server = _server(track, must_call)
    sock_buf = bytearray(8) if kind == "Buffer" else memoryview(bytearray(8))
    pieces = []

    def callback(nread, buf):
        assert buf is sock_buf
        pieces.append(bytes(buf[:nread]))

    client = _client(track, must_call, server.address()["port"], {"buffer": sock_buf, "callback": callback})
    net.once(client, "end", timeout=10)
    assert sum(map(len, pieces)) == len(MESSAGE)
    assert b"".join(pieces) == MESSAGE


@pytest.mark.parametrize("kind", ["Buffer", "Uint8Array"])
def test_a_buffer_function_is_asked_once_per_read(track, must_call, kind):
    # Node: test/parallel/test-net-onread-static-buffer.js ("Test Buffer callback
    # usage", "Test Uint8Array callback support"): 11 bytes in 2-byte buffers are
    # 6 reads, and the EOF one: 7 buffers asked for.
    server = _server(track, must_call)
    buffers = RotatingBuffers(kind)
    client = _client(track, must_call, server.address()["port"], buffers.onread())
    net.once(client, "end", timeout=10)
    assert b"".join(buffers.pieces) == MESSAGE
    assert buffers.usage == 7


@pytest.mark.parametrize("how", ["explicit", "implicit"])
def test_pausing_from_the_callback(track, must_call, how):
    # Node: test/parallel/test-net-onread-static-buffer.js ("Test explicit socket
    # pause": this.pause(); "Test implicit socket pause": the callback returns false)
    server = _server(track, must_call)
    sock_buf = bytearray(8)
    pieces = []
    state = {"paused": False}
    client = None

    def unpause():
        state["paused"] = False
        client.resume()

    def callback(nread, buf):
        assert state["paused"] is False
        assert buf is sock_buf
        pieces.append(bytes(buf[:nread]))
        state["paused"] = True
        gevent.spawn_later(0.02, unpause)
        if how == "explicit":
            client.pause()
            return None
        return False

    client = _client(track, must_call, server.address()["port"], {"buffer": sock_buf, "callback": callback})
    net.once(client, "end", timeout=10)
    assert b"".join(pieces) == MESSAGE
