"""Interop with a real Node.js peer: our server against a Node client, our client
against a Node server.

Each Node peer is a small script written to a temporary file and run with ``node``;
it reports what it observed as JSON lines on stdout (the first line is a greeting
such as ``{"port": ...}``; the last one its observations), and the test asserts that
both sides agree on what happened.  Every Node process is killed when its test ends
(``node_peer_support.py``).

Covered: an echo of 64 MiB checked with SHA-256 (both directions), half-close with
allowHalfOpen on both sides, pause/resume under load (both directions, back-pressure
seen by the writer), a refused connect (Node's error next to ours), and a peer that
resets mid-stream (Node's ``resetAndDestroy()`` against our client; our
``destroy()`` against a Node client).
"""

import fcntl
import hashlib
import os
import socket as stdlib_socket
import struct
import termios

import gevent
import pytest

import nodenet_gevent as net
from conftest import event_flag, wait_until
from node_peer_support import NODE, node_peers
from test_modern_support import greenlet_errors, pipe_path, refused_port, serve  # noqa: F401

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
]

MIB = 1024 * 1024
ECHO_SIZE = 64 * MIB
FLOOD_SIZE = 16 * MIB


@pytest.fixture
def node_peer(tmp_path):
    """``node_peer(source, *args)`` starts a Node script; every one is killed when the test ends."""
    yield from node_peers(tmp_path)


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def write_all(sock, data, chunk=MIB):
    """Write *data* honouring back-pressure (wait for 'drain' when write() says so)."""
    for offset in range(0, len(data), chunk):
        if not sock.write(data[offset:offset + chunk]):
            net.once(sock, "drain", timeout=30)


# ---------------------------------------------------------------------------
# Echo of 64 MiB, checked with SHA-256

NODE_ECHO_CLIENT = r"""
const net = require('net');
const crypto = require('crypto');
const port = +process.argv[2];
const size = +process.argv[3];
const data = crypto.randomBytes(size);
const sentSha = crypto.createHash('sha256').update(data).digest('hex');
const hash = crypto.createHash('sha256');
let received = 0;
const c = net.connect(port, '127.0.0.1', () => {
  let offset = 0;
  const CHUNK = 1 << 20;
  (function pump() {
    while (offset < size) {
      const ok = c.write(data.subarray(offset, offset + CHUNK));
      offset += CHUNK;
      if (!ok) return c.once('drain', pump);
    }
    c.end();
  })();
});
c.on('data', (d) => { hash.update(d); received += d.length; });
c.on('error', (e) => console.log(JSON.stringify({ error: e.code })));
c.on('close', (hadError) => console.log(JSON.stringify({
  sentSha, recvSha: hash.digest('hex'), received, hadError,
  bytesWritten: c.bytesWritten, bytesRead: c.bytesRead,
})));
"""


def test_node_client_echo_64mib(track, node_peer):
    digest = hashlib.sha256()
    closed = []

    def on_connection(c):
        c.on("data", digest.update)
        c.pipe(c)
        c.on("close", lambda had_error: closed.append((had_error, c.bytesRead, c.bytesWritten)))

    server = serve(track, on_connection, 0, "127.0.0.1")
    peer = node_peer(NODE_ECHO_CLIENT, server.address()["port"], ECHO_SIZE)
    seen = peer.message(timeout=50)
    peer.finish()
    wait_until(lambda: closed, message="server-side 'close'")
    assert seen.get("error") is None, seen
    assert seen["received"] == ECHO_SIZE
    assert seen["recvSha"] == seen["sentSha"] == digest.hexdigest()
    assert seen["hadError"] is False
    assert closed == [(False, ECHO_SIZE, ECHO_SIZE)]
    assert seen["bytesWritten"] == seen["bytesRead"] == ECHO_SIZE


NODE_ECHO_SERVER = r"""
const net = require('net');
const crypto = require('crypto');
const server = net.createServer((c) => {
  const hash = crypto.createHash('sha256');
  let received = 0;
  c.on('data', (d) => { hash.update(d); received += d.length; });
  c.pipe(c);
  c.on('error', (e) => console.log(JSON.stringify({ error: e.code })));
  c.on('close', (hadError) => {
    console.log(JSON.stringify({ recvSha: hash.digest('hex'), received, hadError,
                                 bytesWritten: c.bytesWritten }));
    server.close();
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
"""


def test_our_client_echo_64mib_against_node_server(track, node_peer):
    peer = node_peer(NODE_ECHO_SERVER)
    port = peer.message()["port"]
    data = os.urandom(ECHO_SIZE)
    digest = hashlib.sha256()
    sock = track.connect(port, "127.0.0.1")
    sock.on("data", digest.update)
    closed = event_flag(sock, "close")
    net.once(sock, "connect", timeout=5)
    write_all(sock, data)
    sock.end()
    assert closed.wait(50)
    seen = peer.message()
    peer.finish()
    assert seen.get("error") is None, seen
    assert closed.args == (False,)
    assert sock.bytesWritten == sock.bytesRead == ECHO_SIZE
    assert seen["received"] == seen["bytesWritten"] == ECHO_SIZE
    assert seen["recvSha"] == digest.hexdigest() == sha256_hex(data)
    assert seen["hadError"] is False


# ---------------------------------------------------------------------------
# Half-close with allowHalfOpen on both sides

NODE_HALF_OPEN_CLIENT = r"""
const net = require('net');
const events = [];
let reply = '';
const c = net.connect({ port: +process.argv[2], host: '127.0.0.1', allowHalfOpen: true }, () => {
  c.end('question');
  events.push('end() called');
});
c.setEncoding('utf8');
c.on('data', (d) => { reply += d; });
c.on('finish', () => events.push('finish'));
c.on('end', () => events.push('end'));
c.on('error', (e) => events.push('error ' + e.code));
c.on('close', (hadError) => {
  events.push('close');
  console.log(JSON.stringify({ events, reply, hadError }));
});
"""


def test_half_close_node_client_our_server(track, node_peer):
    # The Node client sends its request and FIN; our allowHalfOpen server, still
    # writable after 'end', answers afterwards and then ends.
    server_events = []
    closed = []

    def on_connection(c):
        request = []
        c.on("data", request.append)

        def on_end():
            server_events.append(("end", b"".join(request), c.writable, c.readable))
            gevent.sleep(0.05)  # a handler may block: the answer comes later, after the FIN
            c.write(b"answer to " + b"".join(request))
            c.end(b", after your FIN")

        c.on("end", on_end)
        c.on("finish", lambda: server_events.append("finish"))
        c.on("close", lambda had_error: closed.append(had_error))

    server = serve(track, on_connection, 0, "127.0.0.1", allowHalfOpen=True)
    peer = node_peer(NODE_HALF_OPEN_CLIENT, server.address()["port"])
    seen = peer.message()
    peer.finish()
    wait_until(lambda: closed, message="server-side 'close'")
    assert server_events == [("end", b"question", True, False), "finish"]
    assert closed == [False]
    assert seen["reply"] == "answer to question, after your FIN"
    assert seen["events"] == ["end() called", "finish", "end", "close"]
    assert seen["hadError"] is False


NODE_HALF_OPEN_SERVER = r"""
const net = require('net');
const server = net.createServer({ allowHalfOpen: true }, (c) => {
  const events = [];
  let request = '';
  c.setEncoding('utf8');
  // The server says its piece and half-closes first...
  c.end('server speaks first and ends');
  c.on('finish', () => events.push('finish'));
  c.on('data', (d) => { request += d; });
  c.on('end', () => events.push('end'));
  c.on('error', (e) => events.push('error ' + e.code));
  c.on('close', (hadError) => {
    events.push('close');
    console.log(JSON.stringify({ events, request, hadError }));
    server.close();
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
"""


def test_half_close_our_client_node_server(track, node_peer):
    # ...and our allowHalfOpen client, still writable after 'end', answers afterwards.
    peer = node_peer(NODE_HALF_OPEN_SERVER)
    port = peer.message()["port"]
    sock = track.connect({"port": port, "host": "127.0.0.1", "allowHalfOpen": True})
    sock.setEncoding("utf8")
    got = []
    states = []
    sock.on("data", got.append)

    def on_end():
        states.append((sock.readable, sock.writable, sock.readyState))
        sock.write("client answers after the server's FIN")
        sock.end()

    sock.on("end", on_end)
    closed = event_flag(sock, "close")
    assert closed.wait(10)
    seen = peer.message()
    peer.finish()
    assert "".join(got) == "server speaks first and ends"
    assert states == [(False, True, "writeOnly")]
    assert closed.args == (False,)
    assert seen["request"] == "client answers after the server's FIN"
    assert seen["events"] == ["finish", "end", "close"]
    assert seen["hadError"] is False


# ---------------------------------------------------------------------------
# Pause/resume under load

NODE_FLOOD_SERVER = r"""
const net = require('net');
const crypto = require('crypto');
const size = +process.argv[2];
const data = crypto.randomBytes(size);
const server = net.createServer((c) => {
  let offset = 0, falseWrites = 0, drains = 0, maxBuffered = 0;
  const CHUNK = 64 * 1024;
  (function pump() {
    while (offset < size) {
      const ok = c.write(data.subarray(offset, offset + CHUNK));
      offset += CHUNK;
      maxBuffered = Math.max(maxBuffered, c.writableLength);
      if (!ok) { falseWrites++; return c.once('drain', () => { drains++; pump(); }); }
    }
    c.end();
  })();
  c.resume();
  c.on('error', (e) => console.log(JSON.stringify({ error: e.code })));
  c.on('close', (hadError) => {
    console.log(JSON.stringify({ sha: crypto.createHash('sha256').update(data).digest('hex'),
                                 falseWrites, drains, maxBuffered, hadError }));
    server.close();
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
"""


def test_our_client_pauses_a_flooding_node_server(track, node_peer):
    peer = node_peer(NODE_FLOOD_SERVER, FLOOD_SIZE)
    port = peer.message()["port"]
    sock = track.connect(port, "127.0.0.1")
    digest = hashlib.sha256()
    received = [0]
    next_pause = [2 * MIB]
    pauses = []  # (bytesRead at pause, bytesRead at resume)

    def on_data(chunk):
        digest.update(chunk)
        received[0] += len(chunk)
        if received[0] >= next_pause[0]:
            next_pause[0] += 2 * MIB
            sock.pause()
            at_pause = sock.bytesRead

            def resume():
                pauses.append((at_pause, sock.bytesRead))
                sock.resume()

            gevent.spawn_later(0.1, resume)

    sock.on("data", on_data)
    closed = event_flag(sock, "close")
    assert closed.wait(50)
    seen = peer.message()
    peer.finish()
    assert seen.get("error") is None, seen
    assert received[0] == FLOOD_SIZE
    assert digest.hexdigest() == seen["sha"]
    assert len(pauses) >= 4
    # Paused means no recv at all: nothing was read during a pause...
    assert all(before == after for before, after in pauses), pauses
    # ...so the Node writer saw back-pressure and waited for 'drain'.
    assert seen["falseWrites"] >= 1 and seen["drains"] == seen["falseWrites"]
    assert seen["hadError"] is False and closed.args == (False,)


NODE_PAUSING_CLIENT = r"""
const net = require('net');
const crypto = require('crypto');
const hash = crypto.createHash('sha256');
let received = 0, nextPause = 2 << 20, paused = false, dataWhilePaused = 0, pauses = 0;
const c = net.connect(+process.argv[2], '127.0.0.1');
c.on('data', (d) => {
  if (paused) dataWhilePaused++;
  hash.update(d);
  received += d.length;
  if (received >= nextPause) {
    nextPause += 2 << 20;
    c.pause(); paused = true; pauses++;
    setTimeout(() => { paused = false; c.resume(); }, 100);
  }
});
c.on('error', (e) => console.log(JSON.stringify({ error: e.code })));
c.on('close', (hadError) => console.log(JSON.stringify({
  sha: hash.digest('hex'), received, pauses, dataWhilePaused, hadError })));
"""


def test_node_client_pauses_our_flooding_server(track, node_peer):
    data = os.urandom(FLOOD_SIZE)
    stats = {"false_writes": 0, "drains": 0, "max_buffer": 0}
    closed = []

    def on_connection(c):
        # A 'connection' handler may block: it waits for 'drain' right here.
        c.on("close", lambda had_error: closed.append(had_error))
        for offset in range(0, len(data), 64 * 1024):
            ok = c.write(data[offset:offset + 64 * 1024])
            stats["max_buffer"] = max(stats["max_buffer"], c.bufferSize)
            if not ok:
                stats["false_writes"] += 1
                net.once(c, "drain", timeout=30)
                stats["drains"] += 1
        c.end()

    server = serve(track, on_connection, 0, "127.0.0.1")
    peer = node_peer(NODE_PAUSING_CLIENT, server.address()["port"])
    seen = peer.message(timeout=50)
    peer.finish()
    wait_until(lambda: closed, message="server-side 'close'")
    assert seen.get("error") is None, seen
    assert seen["received"] == FLOOD_SIZE
    assert seen["sha"] == sha256_hex(data)
    assert seen["pauses"] >= 4
    assert seen["dataWhilePaused"] == 0
    assert stats["false_writes"] >= 1 and stats["drains"] == stats["false_writes"]
    assert stats["max_buffer"] >= net.Socket.HIGH_WATER_MARK
    assert closed == [False] and seen["hadError"] is False


# ---------------------------------------------------------------------------
# A refused connect: Node's error next to ours

NODE_CONNECT_ERROR = r"""
const net = require('net');
const target = process.argv[2];
const c = /^\d+$/.test(target) ? net.connect(+target, '127.0.0.1') : net.connect(target);
let error = null;
c.on('connect', () => console.log(JSON.stringify({ connected: true })));
c.on('error', (e) => {
  error = { code: e.code, errno: e.errno, syscall: e.syscall, address: e.address,
            port: e.port, message: e.message };
});
c.on('close', (hadError) => console.log(JSON.stringify({ error, hadError })));
"""


def _our_connect_error(track, target):
    sock = track.connect(target, "127.0.0.1") if isinstance(target, int) else track.connect(target)
    errors = []
    sock.on("error", errors.append)
    closed = event_flag(sock, "close")
    assert closed.wait(5)
    return errors, closed.args


def test_refused_tcp_connect_matches_node(track, node_peer):
    with refused_port() as port:
        peer = node_peer(NODE_CONNECT_ERROR, port)
        seen = peer.message()
        peer.finish()
        errors, close_args = _our_connect_error(track, port)
    node_error = seen["error"]
    assert node_error["code"] == "ECONNREFUSED"
    assert seen["hadError"] is True and close_args == (True,)
    (ours,) = errors
    assert isinstance(ours, ConnectionRefusedError)
    assert ours.code == node_error["code"]
    assert ours.errno == -node_error["errno"]  # libuv's negative errno, Python's positive one
    assert ours.syscall == node_error["syscall"] == "connect"
    assert ours.address == node_error["address"] == "127.0.0.1"
    assert ours.port == node_error["port"] == port
    assert str(ours) == node_error["message"] == "connect ECONNREFUSED 127.0.0.1:%d" % port


def test_refused_unix_connect_matches_node(track, node_peer):
    # A socket file nobody listens on (bound, never listening): ECONNREFUSED.
    path = pipe_path("stale")
    holder = stdlib_socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
    holder.bind(path)
    try:
        peer = node_peer(NODE_CONNECT_ERROR, path)
        seen = peer.message()
        peer.finish()
        errors, close_args = _our_connect_error(track, path)
    finally:
        holder.close()
        os.unlink(path)
    node_error = seen["error"]
    (ours,) = errors
    assert ours.code == node_error["code"] == "ECONNREFUSED"
    assert ours.syscall == node_error["syscall"] == "connect"
    assert ours.address == node_error["address"] == path
    assert str(ours) == node_error["message"] == "connect ECONNREFUSED %s" % path
    assert seen["hadError"] is True and close_args == (True,)


# ---------------------------------------------------------------------------
# A peer that resets mid-stream

NODE_RESETTING_SERVER = r"""
const net = require('net');
const server = net.createServer((c) => {
  c.write(Buffer.alloc(256 * 1024, 'x'));  // mid-stream: data is flowing
  c.on('data', (d) => {
    if (String(d).includes('reset')) {
      const bytesWritten = c.bytesWritten;
      c.resetAndDestroy();
      console.log(JSON.stringify({ did: 'resetAndDestroy', bytesWritten }));
      server.close();
    }
  });
  c.on('error', (e) => console.log(JSON.stringify({ error: e.code })));
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
"""


def test_node_reset_gives_us_econnreset_and_close_true(track, node_peer):
    peer = node_peer(NODE_RESETTING_SERVER)
    port = peer.message()["port"]
    sock = track.connect(port, "127.0.0.1")
    errors = []
    events = []
    sock.on("error", lambda e: (errors.append(e), events.append("error")))
    sock.on("end", lambda: events.append("end"))
    sock.on("close", lambda had_error: events.append(("close", had_error)))
    closed = event_flag(sock, "close")
    first = []

    def on_data(chunk):
        if not first:
            first.append(chunk)
            sock.write("please reset")

    sock.on("data", on_data)
    seen = peer.message()
    assert closed.wait(10)
    peer.finish()
    assert seen == {"did": "resetAndDestroy", "bytesWritten": 256 * 1024}
    assert events == ["error", ("close", True)]
    (error,) = errors
    assert isinstance(error, ConnectionResetError)
    assert error.code == "ECONNRESET"
    assert error.syscall == "read"
    assert str(error) == "read ECONNRESET"
    assert sock.bytesRead <= 256 * 1024


def unread_bytes(fd):
    """Bytes in the kernel's receive queue of descriptor *fd* (FIONREAD)."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, bytes(4)))[0]


NODE_STREAMING_CLIENT = r"""
const net = require('net');
const events = [];
let error = null, received = 0;
const c = net.connect(+process.argv[2], '127.0.0.1', () => {
  c.write(Buffer.alloc(1 << 20, 'y'));  // more than one read: some stays unread
  const chunk = Buffer.alloc(64 * 1024, 'y');
  (function pump() {           // keep writing until the connection dies
    if (c.destroyed || !c.writable) return;
    if (c.write(chunk)) setImmediate(pump); else c.once('drain', pump);
  })();
});
c.on('data', (d) => { received += d.length; });
c.on('end', () => events.push('end'));
c.on('error', (e) => { events.push('error'); error = { code: e.code, syscall: e.syscall }; });
c.on('close', (hadError) => {
  events.push('close');
  console.log(JSON.stringify({ events, error, hadError, received, bytesWritten: c.bytesWritten }));
});
"""


def test_our_destroy_mid_stream_as_node_sees_it(track, node_peer):
    # Our server greets, reads one chunk of the 1 MiB the Node client sent at once
    # (the rest stays unread), pauses and destroys the connection while the client is
    # still streaming: closing with unread data sends a RST, so Node sees an 'error'
    # (ECONNRESET, or EPIPE if its write hit the reset first; an 'end' may come first
    # if our FIN got there before the RST) and 'close' with hadError; we see no
    # 'error' and 'close' without error.
    ours = {}
    closed = []

    def on_connection(c):
        c.write(b"bye")

        def on_data(chunk):
            if "first" not in ours:
                ours["first"] = len(chunk)
                c.pause()
                # The reset needs unread data at the close: if this read emptied the kernel's
                # queue, our FIN could reach Node first and its 'end' close it cleanly.
                wait_until(lambda: unread_bytes(c.fileno()) > 0, message="more of Node's data queued")
                c.destroy()

        c.on("data", on_data)
        c.on("error", lambda e: ours.setdefault("error", e))
        c.on("close", lambda had_error: closed.append((had_error, c.bytesRead, c.bytesWritten)))

    server = serve(track, on_connection, 0, "127.0.0.1")
    peer = node_peer(NODE_STREAMING_CLIENT, server.address()["port"])
    seen = peer.message()
    peer.finish()
    wait_until(lambda: closed, message="server-side 'close'")
    assert "error" not in ours
    (had_error, bytes_read, bytes_written) = closed[0]
    assert had_error is False
    assert seen["hadError"] is True
    assert seen["error"]["code"] in ("ECONNRESET", "EPIPE"), seen
    assert seen["events"] in (["error", "close"], ["end", "error", "close"]), seen
    # Both sides agree on the bytes: Node wrote at least what we read, and got our
    # 3-byte greeting -- unless the reset reached it first (a RST discards what the
    # peer has not read yet; Node then reports ECONNRESET from its pending write).
    assert bytes_written == 3
    assert seen["received"] in (0, 3), seen
    assert seen["bytesWritten"] >= bytes_read > 0
