"""A consumer that comes late gets every held byte, though no more bytes and no FIN follow.

Until the first consumer (a ``'data'`` listener, ``resume()``, ``pipe()``,
``net.once(s, 'data')``) the reader holds what it receives.  When that consumer
arrives from another greenlet while the peer has gone quiet -- the connection
still open, nothing more on its way -- the held bytes must come out at once:
nothing else will wake the reader.  (The peer here never sends FIN: a FIN would
wake the reader and hide a missing hand-over.)
"""

import gevent
import gevent.event
import pytest

import nodenet_gevent as net
from conftest import wait_until

pytestmark = pytest.mark.timeout(30)

CONSUMERS = ["on_data", "resume", "pipe", "once"]
HWM = net.Socket.HIGH_WATER_MARK


class Collector:
    """A pipe() destination that keeps what it is given."""

    def __init__(self):
        self.chunks = []
        self.changed = gevent.event.Event()

    def write(self, chunk):
        self.chunks.append(chunk)
        self.changed.set()
        return True

    def end(self):
        pass

    def on(self, event, f):
        return self

    def remove_listener(self, event, f):
        return self


def consume(sock, consumer, expected_length):
    """Become *sock*'s first consumer in the way named; return what arrives, joined."""
    if consumer == "once":
        chunks = list(net.once(sock, "data", timeout=5))
        while sum(map(len, chunks)) < expected_length:
            chunks.extend(net.once(sock, "data", timeout=5))
        return chunks[0][:0].join(chunks)
    if consumer == "pipe":
        collector = Collector()
        sock.pipe(collector)
        chunks = collector.chunks
        changed = collector.changed
    else:
        chunks = []
        changed = gevent.event.Event()

        def on_data(chunk):
            chunks.append(chunk)
            changed.set()

        if consumer == "on_data":
            sock.on("data", on_data)
        else:
            # resume() first, then the listener, as a Node program may: the data
            # must not flow before the listener (resume's hand-over is a later tick).
            sock.resume()
            sock.on("data", on_data)
    with gevent.Timeout(5, AssertionError("held data never reached the late consumer: %r" % (sock,))):
        while sum(map(len, chunks)) < expected_length:
            changed.clear()
            changed.wait()
    return chunks[0][:0].join(chunks)


def payload(size, encoding):
    # Text with a 2-byte character, so a decoder is exercised when there is one.
    text = ("late reader \u00e9 " * (size // 14 + 1))[:size]
    return text.encode("utf8"), text


@pytest.mark.parametrize("consumer", CONSUMERS)
@pytest.mark.parametrize("encoding", [None, "utf8"])
@pytest.mark.parametrize("amount", ["below_hwm", "at_hwm"])
def test_client_late_consumer_gets_held_data(track, consumer, encoding, amount):
    size = 6 if amount == "below_hwm" else 3 * HWM
    data, text = payload(size, encoding)
    server = track.listen(lambda c: c.write(data))  # and the connection stays open, quiet
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    if encoding:
        client.set_encoding(encoding)
    held = min(len(data), HWM)
    wait_until(lambda: client._held_size >= held, message="the data held by the reader")
    gevent.sleep(0.05)  # any cooperative call between receiving and consuming
    got = consume(client, consumer, len(text) if encoding else len(data))
    assert got == (text if encoding else data)
    assert not client.destroyed


@pytest.mark.parametrize("consumer", CONSUMERS)
@pytest.mark.parametrize("encoding", [None, "utf8"])
@pytest.mark.parametrize("amount", ["below_hwm", "at_hwm"])
def test_server_handler_that_subscribes_from_another_greenlet(track, consumer, encoding, amount):
    size = 6 if amount == "below_hwm" else 3 * HWM
    data, text = payload(size, encoding)
    received = gevent.event.AsyncResult()

    def later(c):
        received.set(consume(c, consumer, len(text) if encoding else len(data)))

    def on_connection(c):
        if encoding:
            c.set_encoding(encoding)
        # The handler returns at once; a greenlet of the application subscribes
        # once the data is held (a log line, a lookup, a queue between them).
        gevent.spawn(lambda: (wait_until(lambda: c._held_size >= min(len(data), HWM)), later(c)))

    server = track.listen(on_connection)
    client = track.connect(server.address()["port"], "127.0.0.1")
    client.write(data)  # and stays open, quiet
    assert received.get(timeout=10) == (text if encoding else data)


def test_readme_blocking_pattern_gets_its_reply(track):
    """The issue's report, as written: a cooperative call between write and once('data')."""
    server = track.listen(lambda c: c.pipe(c))
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    client.write(b"hello\n")
    wait_until(lambda: client._held_size == 6, message="the echo held by the reader")
    gevent.sleep(0.2)
    (reply,) = net.once(client, "data", timeout=3)
    assert reply == b"hello\n"


def test_late_consumer_then_more_data_keeps_order(track):
    """After the hand-over the reader goes back to reading: later bytes follow in order."""
    peers = []
    server = track.listen(peers.append)
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    wait_until(lambda: peers, message="the accepted socket")
    peers[0].write(b"first;")
    wait_until(lambda: client._held_size == 6, message="the first bytes held")
    chunks = []
    client.on("data", chunks.append)
    wait_until(lambda: b"".join(chunks) == b"first;", message="the held bytes")
    peers[0].end(b"second")
    net.once(client, "end", timeout=5)
    assert b"".join(chunks) == b"first;second"


def test_destroy_while_holding_ends_the_wait(track, must_call):
    """A reader holding data and waiting for more is woken by destroy() from elsewhere."""
    server = track.listen(lambda c: c.write(b"held"))
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    wait_until(lambda: client._held_size == 4, message="the bytes held")
    client.on("close", must_call(lambda had_error: None))
    client.destroy()
    net.once(client, "close", timeout=5)
    assert client._reader is None or client._reader.dead
