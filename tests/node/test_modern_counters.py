"""Byte counters: bytesRead grows with each chunk, bytesWritten counts bytes accepted.

Ports of nodejs/node test/parallel test-net-bytes-read.js, test-net-bytes-stats.js,
test-net-bytes-written-large.js, test-net-socket-byteswritten.js.
"""

import pytest

import nodenet_gevent as net
from conftest import wait_until
from test_modern_support import assert_equal, greenlet_errors, keep, serve  # noqa: F401

pytestmark = pytest.mark.timeout(60)


def test_bytes_read_rises_with_each_chunk(track, must_call):
    # Node: test/parallel/test-net-bytes-read.js
    big = bytes(1024 * 1024)
    closed = []

    def handler(socket):
        socket.end(big)
        server.close()

    server = serve(track, must_call(handler))
    prev = [0]

    def check_raise(value):
        assert value > prev[0]
        prev[0] = value

    def on_data(chunk):
        check_raise(socket.bytesRead)

    def on_end():
        assert socket.bytesRead == prev[0]
        assert len(big) == prev[0]

    def on_close(*_):
        assert socket.destroyed  # Node: !socket._handle
        assert socket.bytesRead == prev[0]
        assert len(big) == prev[0]
        closed.append(True)

    def on_connect():
        socket.on("data", on_data)  # mustCallAtLeast: checked through prev below
        socket.on("end", must_call(on_end))
        socket.on("close", must_call(on_close))
        socket.end()

    socket = track.connect(server.address()["port"], "127.0.0.1", must_call(on_connect))
    wait_until(lambda: closed, message="client 'close'")
    assert prev[0] > 0


def test_bytes_stats_over_a_reconnect(track):
    # Node: test/parallel/test-net-bytes-stats.js
    totals = {"read": 0, "written": 0}
    count = [0]
    finished = []

    def on_connection(s):
        s.resume()  # "trigger old mode"

        def on_end():
            totals["read"] += s.bytesRead

        s.on("end", on_end)

    tcp = net.Server(on_connection)
    track.servers.append(tcp)

    def listening():
        socket = keep(track, net.createConnection(tcp.address()["port"]))

        def on_connect():
            count[0] += 1
            socket.write("foo", lambda *_: socket.end("bar"))

        def on_finish():
            totals["written"] += socket.bytesWritten

        def on_close(*_):
            if count[0] < 2:
                socket.connect(tcp.address()["port"])
            else:
                tcp.close(lambda *_: finished.append(True))

        socket.on("connect", on_connect)
        socket.on("finish", on_finish)
        socket.on("close", on_close)
        socket.resume()

    tcp.listen(0, listening)
    wait_until(lambda: finished, message="two connections and close")
    assert totals == {"read": 12, "written": 12}


N = 10000000


@pytest.mark.parametrize(
    "variant",
    ["buffer", "string", "writev-mixed"],
)
def test_bytes_written_counts_sync_and_queued_parts(track, must_call, variant):
    # Node: test/parallel/test-net-bytes-written-large.js -- a write first pushes what
    # the kernel takes at once and queues the rest; bytesWritten counts both parts.
    # Variant 3 corks the socket, so that the writes leave together (Node's writev).
    expected = 2 * N if variant == "writev-mixed" else N
    closed = []

    def on_connection(socket):
        def on_finished(*_):
            assert socket.bytesWritten == expected

        if variant == "buffer":
            socket.end(bytes(N), must_call(on_finished))
            assert socket.bytesWritten == N
        elif variant == "string":
            socket.end("a" * N, must_call(on_finished))
            assert socket.bytesWritten == N
        else:
            socket.cork()
            socket.write("a" * N)
            assert socket.bytesWritten == N
            socket.write(bytes(N))
            assert socket.bytesWritten == 2 * N
            socket.end("", must_call(on_finished))
            socket.uncork()

    server = serve(track, must_call(on_connection))
    client = track.connect(server.address()["port"], "127.0.0.1")
    client.resume()

    def on_close(*_):
        assert client.bytesRead == expected
        server.close()
        closed.append(True)

    client.on("close", must_call(on_close))
    wait_until(lambda: closed, timeout=30, message="client 'close'")


def test_bytes_written_counts_utf8_bytes_of_queued_writes(track, must_call):
    # Node: test/parallel/test-net-socket-byteswritten.js
    done = []
    server = serve(track, lambda socket: socket.end())
    socket = track.connect(server.address()["port"], "127.0.0.1")
    # Cork the socket, then write twice; this should cause a writev, which
    # previously caused an err in the bytesWritten count.
    socket.cork()
    socket.write("one")
    socket.write("twø".encode())
    socket.uncork()
    # one = 3 bytes, twø = 4 bytes
    assert socket.bytesWritten == 3 + 4
    socket.on("connect", must_call(lambda: assert_equal(socket.bytesWritten, 3 + 4)))

    def on_end():
        assert socket.bytesWritten == 3 + 4
        server.close()
        done.append(True)

    socket.on("end", must_call(on_end))
    wait_until(lambda: done, message="client 'end'")
