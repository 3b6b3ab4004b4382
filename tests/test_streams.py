"""The Socket as a Node stream.Duplex: state, cork, destroySoon, resetAndDestroy, pipe
options, paused mode, meta-events, and iteration -- each checked against Node 20 where
Node can be asked in the same run, over real sockets.
"""

import hashlib
import json
import os
import subprocess

import gevent
import gevent.event
import pytest

import nodenet_gevent as net
from conftest import NODE, event_flag, wait_until

pytestmark = pytest.mark.timeout(30)

needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed: the expectations come from Node 20")

STATE_PROPS = [
    "writableEnded", "writableFinished", "writableLength", "writableNeedDrain", "writableHighWaterMark",
    "writableCorked", "writableObjectMode", "readableEnded", "readableFlowing", "readableLength",
    "readableHighWaterMark", "readableEncoding", "closed", "errored", "destroyed", "readable", "writable",
    "pending", "connecting", "readyState",
]


def run_node(script, timeout=20):
    done = subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


# ---------------------------------------------------------------------------
# stream state, at every point of the lifecycle

NODE_STATE_SCRIPT = """
const net = require('net');
const props = %s;
function snap(label, s) {
  const o = {label};
  for (const p of props) { let v = s[p]; if (v instanceof Error) v = 'Error:' + v.message; o[p] = v; }
  console.log(JSON.stringify(o));
}
const srv = net.createServer((c) => { c.on('data', () => {}); c.on('end', () => c.end()); });
srv.listen(0, '127.0.0.1', () => {
  const port = srv.address().port;
  const s = new net.Socket();
  snap('new', s);
  s.connect(port, '127.0.0.1');
  snap('connecting', s);
  s.on('connect', () => { snap('open', s); s.setEncoding('utf8'); s.end(); snap('after_end', s); });
  s.on('finish', () => snap('finish', s));
  s.on('end', () => snap('peer_fin', s));
  s.on('close', () => {
    snap('close', s);
    const d = net.connect(port, '127.0.0.1', () => { d.destroy(new Error('boom')); snap('destroy_err', d); });
    d.on('error', () => {});
    d.on('close', () => {
      snap('destroy_err_close', d);
      const p = net.connect(port, '127.0.0.1', () => {
        p.pause(); snap('paused', p); p.resume(); snap('resumed', p); p.destroy(); snap('destroyed', p); srv.close();
      });
    });
  });
});
""" % json.dumps(STATE_PROPS)


def snapshot(label, sock):
    row = {"label": label}
    for prop in STATE_PROPS:
        value = getattr(sock, prop)
        if isinstance(value, BaseException):
            value = "Error:" + str(value)
        row[prop] = value
        snake = "".join("_" + c.lower() if c.isupper() else c for c in prop)
        assert getattr(sock, snake) == getattr(sock, prop) or isinstance(value, str), snake  # the PEP 8 name
    return row


def our_state_rows(track):
    rows = []
    done = gevent.event.Event()

    def on_connection(c):
        c.on("data", lambda data: None)
        c.on("end", c.end)

    server = track.listen(on_connection)
    port = server.address()["port"]
    s = net.Socket()
    rows.append(snapshot("new", s))
    s.connect(port, "127.0.0.1")
    rows.append(snapshot("connecting", s))

    def on_connect():
        rows.append(snapshot("open", s))
        s.set_encoding("utf8")
        s.end()
        rows.append(snapshot("after_end", s))

    def on_close(had_error):
        rows.append(snapshot("close", s))
        d = net.connect(port, "127.0.0.1")

        def destroy_d():
            d.destroy(RuntimeError("boom"))
            rows.append(snapshot("destroy_err", d))

        d.on("connect", destroy_d)
        d.on("error", lambda error: None)

        def on_d_close(had_error):
            rows.append(snapshot("destroy_err_close", d))
            p = net.connect(port, "127.0.0.1")

            def on_p_connect():
                p.pause()
                rows.append(snapshot("paused", p))
                p.resume()
                rows.append(snapshot("resumed", p))
                p.destroy()
                rows.append(snapshot("destroyed", p))
                done.set()

            p.on("connect", on_p_connect)

        d.on("close", on_d_close)

    s.on("connect", on_connect)
    s.on("finish", lambda: rows.append(snapshot("finish", s)))
    s.on("end", lambda: rows.append(snapshot("peer_fin", s)))
    s.on("close", on_close)
    assert done.wait(10)
    return rows


@needs_node
def test_stream_state_matches_node_at_every_point(track):
    expected = run_node(NODE_STATE_SCRIPT)
    ours = our_state_rows(track)
    assert [row["label"] for row in ours] == [row["label"] for row in expected]
    for mine, node in zip(ours, expected):
        assert mine == node, mine["label"]


def test_writable_need_drain_and_length_follow_back_pressure(track):
    peers = []
    server = track.listen(lambda c: (peers.append(c), c.pause()))
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    while client.write(b"x" * 65536):
        pass
    assert client.writableNeedDrain and client.writableLength >= client.writableHighWaterMark
    wait_until(lambda: peers, message="the accepted socket")
    peers[0].resume()
    net.once(client, "drain", timeout=10)
    assert not client.writableNeedDrain and client.writableLength == 0


# ---------------------------------------------------------------------------
# cork, setDefaultEncoding, destroySoon, resetAndDestroy


def test_writes_while_corked_leave_together(track):
    received = gevent.event.AsyncResult()
    server = track.listen(lambda c: c.once("data", received.set))
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    client.cork()
    client.cork()
    for part in (b"one,", b"two,", b"three"):
        assert client.write(part) is True
    assert client.writableCorked == 2 and client.writableLength == 13
    client.uncork()
    assert client.writableCorked == 1 and client.writableLength == 13  # still held
    client.uncork()
    assert received.get(timeout=5) == b"one,two,three"  # one send, so one chunk on loopback
    assert client.writableCorked == 0


def test_end_uncorks(track):
    peers = []
    server = track.listen(peers.append)
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    wait_until(lambda: peers, message="the accepted socket")
    got = []
    peers[0].on("data", got.append)
    client.cork()
    client.write(b"corked ")
    client.end(b"then ended")
    net.once(peers[0], "end", timeout=5)
    assert b"".join(got) == b"corked then ended" and client.writableCorked == 0


def test_set_default_encoding(track):
    peers = []
    server = track.listen(peers.append)
    client = track.connect(server.address()["port"], "127.0.0.1")
    assert client.setDefaultEncoding("hex") is client
    with pytest.raises(ValueError) as caught:
        client.set_default_encoding("no-such-encoding")
    assert caught.value.code == "ERR_UNKNOWN_ENCODING"
    client.write("68656c6c6f")
    client.end("21", "latin1")  # an explicit encoding still wins
    wait_until(lambda: peers, message="the accepted socket")
    got = []
    peers[0].on("data", got.append)
    net.once(peers[0], "end", timeout=5)
    assert b"".join(got) == b"hello21"


def test_destroy_soon_flushes_everything_first(track):
    blob = os.urandom(4 * 1024 * 1024)
    got = []
    server = track.listen(lambda c: c.on("data", got.append))
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    client.write(blob)
    client.destroySoon()
    assert not client.destroyed  # not yet: the bytes go out first
    (had_error,) = net.once(client, "close", timeout=10)
    assert had_error is False
    wait_until(lambda: sum(map(len, got)) == len(blob), timeout=10, message="every byte at the peer")
    assert hashlib.sha256(b"".join(got)).digest() == hashlib.sha256(blob).digest()


def test_reset_and_destroy_gives_the_peer_econnreset(track, must_call):
    errors = gevent.event.AsyncResult()

    def on_connection(c):
        c.on("error", errors.set)
        c.resume()

    server = track.listen(on_connection)
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    client.write(b"x")
    assert client.resetAndDestroy() is client
    assert net.once(client, "close", timeout=5) == (False,)
    error = errors.get(timeout=5)
    assert error.code == "ECONNRESET" and str(error) == "read ECONNRESET"


def test_reset_and_destroy_while_connecting_resets_once_connected(track):
    errors = gevent.event.AsyncResult()
    server = track.listen(lambda c: (c.on("error", errors.set), c.resume()))
    client = track.connect(server.address()["port"], "127.0.0.1")
    closed = gevent.event.AsyncResult()
    client.on("close", closed.set)
    client.resetAndDestroy()
    assert client.connecting
    assert closed.get(timeout=5) is False
    assert errors.get(timeout=5).code == "ECONNRESET"


def test_reset_and_destroy_of_an_unconnected_socket(must_call):
    sock = net.Socket()
    sock.on("error", must_call(lambda error: (error.code, str(error)) == ("ERR_SOCKET_CLOSED", "Socket is closed")
                               or pytest.fail(repr(error))))
    sock.reset_and_destroy()
    assert event_flag(sock, "close").wait(5)


def test_reset_and_destroy_refuses_a_unix_socket(track):
    server, path = track.listen_unix(lambda c: None)
    client = track.connect(path)
    net.once(client, "connect", timeout=5)
    with pytest.raises(TypeError) as caught:
        client.resetAndDestroy()
    assert caught.value.code == "ERR_INVALID_HANDLE_TYPE"


# ---------------------------------------------------------------------------
# pipe options and events


@pytest.mark.parametrize("form", ["dict", "keyword"])
def test_pipe_end_false_leaves_the_destination_open(track, form):
    source_server = track.listen(lambda c: c.end(b"from the source"))
    sink_peers = []
    sink_server = track.listen(lambda c: (sink_peers.append(c), c.resume()))
    source = track.connect(source_server.address()["port"], "127.0.0.1")
    destination = track.connect(sink_server.address()["port"], "127.0.0.1")
    piped = []
    destination.on("pipe", piped.append)
    if form == "dict":
        assert source.pipe(destination, {"end": False}) is destination
    else:
        source.pipe(destination, end=False)
    assert piped == [source]  # at once, with the source, as Node's pipe()
    net.once(source, "end", timeout=5)
    net.once(source, "close", timeout=5)
    assert destination.writable and not destination.writableEnded
    destination.end(b" and ours")


def test_unpipe_event_carries_the_source(track):
    server = track.listen(lambda c: None)
    source = track.connect(server.address()["port"], "127.0.0.1")
    destination = track.connect(server.address()["port"], "127.0.0.1")
    unpiped = []
    destination.on("unpipe", unpiped.append)
    source.pipe(destination)
    source.unpipe(destination)
    assert unpiped == [source]
    assert source.listeners("data") == [] and destination.listeners("drain") == []


# ---------------------------------------------------------------------------
# paused mode: 'readable', read([n]), unshift()

NODE_PAUSED_SCRIPT = """
const net = require('net');
const log = (...a) => console.log(JSON.stringify(a));
const srv = net.createServer((c) => { c.write('abcdefghij'); c.on('data', () => c.end('KLM')); });
srv.listen(0, '127.0.0.1', () => {
  const s = net.connect(srv.address().port, '127.0.0.1');
  let n = 0;
  log('flowing', s.readableFlowing);
  s.on('readable', () => {
    n++;
    log('readable', n, s.readableLength, s.readableFlowing, s.readableEnded);
    let chunk;
    if (n === 1) {
      log('read(4)', String(s.read(4)));
      log('read(100)', s.read(100));
      s.unshift(Buffer.from('ZZ'));
      log('unshifted', s.readableLength);
      log('read()', String(s.read()));
      s.write('go');
    } else {
      while ((chunk = s.read(2)) !== null) log('read(2)', String(chunk));
      log('left', s.readableLength);
    }
  });
  s.on('end', () => { log('end', s.readableEnded); srv.close(); });
  s.on('close', () => log('close'));
});
"""


@needs_node
def test_paused_mode_matches_node(track):
    expected = run_node(NODE_PAUSED_SCRIPT)
    log = []
    done = gevent.event.Event()

    def on_connection(c):
        c.write("abcdefghij")
        c.on("data", lambda data: c.end("KLM"))

    server = track.listen(on_connection)
    s = track.connect(server.address()["port"], "127.0.0.1")
    count = [0]
    log.append(["flowing", s.readableFlowing])

    def as_text(chunk):
        return None if chunk is None else chunk.decode()

    def on_readable():
        count[0] += 1
        log.append(["readable", count[0], s.readableLength, s.readableFlowing, s.readableEnded])
        if count[0] == 1:
            log.append(["read(4)", as_text(s.read(4))])
            log.append(["read(100)", as_text(s.read(100))])
            s.unshift(b"ZZ")
            log.append(["unshifted", s.readableLength])
            log.append(["read()", as_text(s.read())])
            s.write("go")
        else:
            while True:
                chunk = s.read(2)
                if chunk is None:
                    break
                log.append(["read(2)", as_text(chunk)])
            log.append(["left", s.readableLength])

    s.on("readable", on_readable)
    s.on("end", lambda: log.append(["end", s.readableEnded]))
    s.on("close", lambda had_error: (log.append(["close"]), done.set()))
    assert done.wait(10)
    assert log == expected


def test_read_counts_characters_after_set_encoding(track):
    server = track.listen(lambda c: c.end("h\u00e9llo w\u00f6rld".encode()))
    s = track.connect(server.address()["port"], "127.0.0.1")
    s.set_encoding("utf8")
    texts = []

    def on_readable():
        while True:
            text = s.read(3)
            if text is None:
                break
            texts.append(text)

    s.on("readable", on_readable)
    net.once(s, "end", timeout=5)
    assert texts == ["h\u00e9l", "lo ", "w\u00f6r", "ld"]


def test_readable_mode_holds_no_more_than_the_mark_while_nobody_reads(track):
    """Back-pressure in paused mode: the reader stops at the high-water mark; read() lets it go on."""
    blob = os.urandom(8 * net.Socket.HIGH_WATER_MARK)
    server = track.listen(lambda c: c.write(blob))  # and stays open
    s = track.connect(server.address()["port"], "127.0.0.1")
    announced = gevent.event.Event()
    s.on("readable", announced.set)
    assert announced.wait(5)
    wait_until(lambda: s.readableLength >= s.readableHighWaterMark, message="held up to the mark")
    assert s.readableLength < s.readableHighWaterMark + s.READ_SIZE
    got = []
    while sum(map(len, got)) < len(blob):
        chunk = s.read()
        if chunk is None:
            announced.clear()
            assert announced.wait(5), "no 'readable' after the reader was let go on"
            continue
        got.append(chunk)
        assert s.readableLength < s.readableHighWaterMark + s.READ_SIZE
    assert b"".join(got) == blob


def test_unshift_after_end_is_an_error(track):
    server = track.listen(lambda c: c.end(b"x"))
    s = track.connect(server.address()["port"], "127.0.0.1")
    s.resume()
    s.on("error", lambda error: None)
    net.once(s, "end", timeout=5)
    s.unshift(b"late")
    (error,) = net.once(s, "error", timeout=5) if not s.destroyed else (s.errored,)
    assert error.code == "ERR_STREAM_UNSHIFT_AFTER_END_EVENT"


def test_unshift_in_flowing_mode_is_emitted_first(track):
    server = track.listen(lambda c: c.write(b"rest"))
    s = track.connect(server.address()["port"], "127.0.0.1")
    got = []

    def on_data(chunk):
        got.append(chunk)
        if len(got) == 1:
            s.unshift(b"again:")

    s.on("data", on_data)
    wait_until(lambda: b"".join(got) == b"restagain:", message="the unshifted bytes delivered")


# ---------------------------------------------------------------------------
# Node's emitter meta-events

NODE_META_SCRIPT = """
const E = require('events');
const e = new E();
const log = (...a) => console.log(JSON.stringify(a));
e.on('newListener', (n, f) => log('new', n, f.name));
e.on('removeListener', (n, f) => log('rm', n, f.name));
function a() {} function b() {}
e.on('x', a); e.once('x', b); e.emit('x'); e.on('y', a); e.removeListener('y', a); e.removeListener('y', a);
e.on('z', b); e.removeAllListeners('z'); log('names', e.eventNames());
"""


@needs_node
def test_new_listener_and_remove_listener_match_node():
    expected = run_node(NODE_META_SCRIPT)
    e = net.Socket()
    log = []
    def name(f):
        return "" if f.__name__ == "<lambda>" else f.__name__  # JavaScript's anonymous function

    e.on("newListener", lambda n, f: log.append(["new", n, name(f)]))
    e.on("removeListener", lambda n, f: log.append(["rm", n, name(f)]))

    def a(*_):
        pass

    def b(*_):
        pass

    e.on("x", a)
    e.once("x", b)
    e.emit("x")
    e.on("y", a)
    e.remove_listener("y", a)
    e.removeListener("y", a)
    e.on("z", b)
    e.removeAllListeners("z")
    log.append(["names", [n for n in e.eventNames() if n in ("newListener", "removeListener", "x", "y", "z")]])
    # Node names once()'s wrapper 'bound onceWrapper'; we pass the listener as it was given.
    expected = [row if row[:2] != ["rm", "x"] else ["rm", "x", "b"] for row in expected]
    assert log == expected
    e.destroy()


# ---------------------------------------------------------------------------
# for chunk in sock


def upper_server(c):
    for chunk in c:  # in the 'connection' handler: the socket's own reader greenlet
        c.write(chunk.upper())
    c.end()


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_iterating_inside_the_connection_handler(track, transport):
    blob = os.urandom(1024 * 1024).hex().encode()  # lower-case hex: upper() changes it
    if transport == "tcp":
        server = track.listen(upper_server)
        client = track.connect(server.address()["port"], "127.0.0.1")
    else:
        server, path = track.listen_unix(upper_server)
        client = track.connect(path)
    got = []
    client.on("data", got.append)
    client.end(blob)
    net.once(client, "end", timeout=10)
    assert hashlib.sha256(b"".join(got)).hexdigest() == hashlib.sha256(blob.upper()).hexdigest()


def test_iterating_from_another_greenlet_with_encoding(track):
    text = "caf\u00e9 " * 20000
    server = track.listen(lambda c: c.end(text.encode()))
    client = track.connect(server.address()["port"], "127.0.0.1")
    client.set_encoding("utf8")
    result = gevent.spawn(lambda: "".join(client))
    assert result.get(timeout=10) == text
    assert client.readableEnded


def test_iteration_raises_the_socket_error(track):
    def on_connection(c):
        c.write(b"some")
        c.on("data", lambda data: c.resetAndDestroy())

    server = track.listen(on_connection)
    client = track.connect(server.address()["port"], "127.0.0.1")
    got = []

    def consume():
        for chunk in client:
            got.append(chunk)
            client.write(b"now reset")

    with pytest.raises(ConnectionResetError) as caught:
        gevent.spawn(consume).get(timeout=10)
    assert caught.value.code == "ECONNRESET" and got == [b"some"]


def test_leaving_the_loop_early_destroys_the_socket(track):
    server = track.listen(lambda c: c.write(b"first"))
    client = track.connect(server.address()["port"], "127.0.0.1")
    for chunk in client:
        assert chunk == b"first"
        break
    assert client.destroyed
    net.once(client, "close", timeout=5)


def test_iteration_is_back_pressured(track):
    """A slow loop body: the reader holds no more than the mark, the peer is pushed back."""
    blob = os.urandom(4 * 1024 * 1024)
    writers = []

    def on_connection(c):
        writers.append(c)
        c.end(blob)

    server = track.listen(on_connection)
    client = track.connect(server.address()["port"], "127.0.0.1")
    got = []
    most_held = [0]

    def consume():
        for chunk in client:
            got.append(chunk)
            most_held[0] = max(most_held[0], client.readableLength)
            if len(got) == 4:
                wait_until(lambda: writers and writers[0].writableLength > 0, message="the peer pushed back")

    gevent.spawn(consume).get(timeout=20)
    assert b"".join(got) == blob
    assert most_held[0] < client.readableHighWaterMark + client.READ_SIZE


def test_iterating_a_unix_socket_inside_the_handler_under_load(track):
    """Many connections iterating in their handlers at once: no deadlock, every byte back."""
    server, path = track.listen_unix(upper_server)
    payload = b"abc" * 5000
    results = []

    def one():
        client = track.connect(path)
        got = []
        client.on("data", got.append)
        client.end(payload)
        net.once(client, "end", timeout=10)
        results.append(b"".join(got))

    gevent.joinall([gevent.spawn(one) for _ in range(20)], timeout=20, raise_error=True)
    assert results == [payload.upper()] * 20

