"""No loss, no reordering: property tests with hypothesis.

Any sequence of writes -- sizes 0 to 1 MiB; ``bytes``, ``bytearray``, ``memoryview``,
or ``str`` in every encoding Node names (``utf8``, ``ascii``, ``latin1``/``binary``,
``base64``, ``hex``, ``ucs2``/``utf16le`` and their spellings) -- interleaved with
``pause()``/``resume()`` of the receiving socket at random points and ending with
``end()`` (with or without a last chunk), arrives intact and in order:

* back through an echo server (``c.pipe(c)``), and
* through a chain of two ``pipe()`` proxies in front of that echo server,

with every ``'data'`` before ``'end'``, no ``'data'`` while paused, ``'end'`` once,
and ``'close'(False)`` exactly once on every socket involved.  The receiving socket
sometimes decodes (``setEncoding``), which must not change a byte either.

``max_examples`` is 300 per path by default (derandomized, so CI sees the same cases
every run, and not shrunk, so a failure cannot outlast the job) and 2,000 with
``NODENET_LONG=1`` (random and shrunk, so long runs explore).
"""

import base64
import os
import random

import gevent
import gevent.event
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import nodenet_gevent as net
from conftest import wait_until

LONG = os.environ.get("NODENET_LONG") == "1"

pytestmark = pytest.mark.timeout(1800 if LONG else 180)

SETTINGS = settings(
    max_examples=2000 if LONG else 300,
    deadline=None,
    derandomize=not LONG,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    # In CI a failure is reported as found, unshrunk: shrinking examples that each wait
    # out a timeout could outlast the job.  Long runs shrink.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink] if LONG
    else [Phase.explicit, Phase.reuse, Phase.generate],
)

# Node's encoding names, each with how to make a str of about n bytes from a seed
# and the bytes Node writes for it.
_TEXT = "aZ09 ~\n\t" + "ßéÿ\u0100€\u4e2d\u65e5\uffee" + "\U0001d11e\U0001f600\U00010348"


def _random(seed):
    return random.Random(seed)


def _unicode_text(rng, n):
    return "".join(rng.choices(_TEXT, k=max(0, n // 2)))


def _raw(rng, n):
    return rng.getrandbits(8 * n).to_bytes(n, "little") if n else b""


def _make_str(encoding, n, seed):
    """``(text, expected_bytes)`` for a str write of about *n* bytes in *encoding*."""
    rng = _random(seed)
    if encoding in ("utf8", "utf-8"):
        text = _unicode_text(rng, n)
        return text, text.encode("utf-8")
    if encoding in ("ucs2", "ucs-2", "utf16le", "utf-16le"):
        text = _unicode_text(rng, n)
        return text, text.encode("utf-16-le")
    if encoding == "ascii":
        text = "".join(chr(b & 0x7F) for b in _raw(rng, n))
        return text, text.encode("ascii")
    if encoding in ("latin1", "binary"):
        text = _raw(rng, n).decode("latin-1")
        return text, text.encode("latin-1")
    raw = _raw(rng, n)
    if encoding == "hex":
        text = raw.hex()
        return (text.upper() if seed % 2 else text), raw
    if encoding == "base64":
        text = base64.b64encode(raw).decode("ascii")
        return (text.rstrip("=") if seed % 3 == 0 else text), raw  # Node takes it unpadded too
    raise AssertionError(encoding)


ENCODINGS = ["utf8", "utf-8", "ascii", "latin1", "binary", "base64", "hex",
             "ucs2", "ucs-2", "utf16le", "utf-16le"]

sizes = st.one_of(
    st.just(0),
    st.integers(1, 100),
    st.integers(100, 70000),
    st.integers(70000, 1 << 20),
)
seeds = st.integers(0, 2 ** 32 - 1)
byte_writes = st.tuples(st.just("write"), st.sampled_from(["bytes", "bytearray", "memoryview"]), sizes, seeds)
str_writes = st.tuples(st.just("write"), st.sampled_from(ENCODINGS), sizes, seeds)
operations = st.lists(
    st.one_of(
        byte_writes,
        str_writes,
        st.just(("pause",)),
        st.just(("resume",)),
        st.tuples(st.just("sleep"), st.integers(0, 3)),
    ),
    max_size=12,
)
last_chunk = st.one_of(st.none(), byte_writes, str_writes)
receive_encodings = st.sampled_from([None, None, "hex", "base64", "latin1"])


def materialize(write):
    """``(argument, encoding, expected_bytes)`` for a generated write."""
    _, kind, size, seed = write
    if kind in ("bytes", "bytearray", "memoryview"):
        data = _raw(_random(seed), size)
        argument = {"bytes": data, "bytearray": bytearray(data), "memoryview": memoryview(data)}[kind]
        return argument, None, data
    text, expected = _make_str(kind, size, seed)
    return text, kind, expected


# ---------------------------------------------------------------------------
# the paths data takes


class Topology:
    """The servers of one example; records every socket's closes; ``close()`` stops all."""

    def __init__(self, path):
        self.servers = []
        self.closes = {}  # socket -> ['close' had_error, ...] for every socket but the client
        echo = self._server({}, lambda c: c.pipe(c))
        self.port = echo.address()["port"]
        if path == "chain":
            # Two proxies in front, each piping both ways (half-open, so the client's
            # 'end' does not cut the echo still on its way back).
            for _ in range(2):
                self.port = self._server({"allowHalfOpen": True}, self._proxy(self.port)).address()["port"]

    def _server(self, options, handler):
        server = net.create_server(options)
        server.on("connection", self.watch)  # before the handler: counts from the start
        server.on("connection", handler)
        server.listen(0, "127.0.0.1")
        net.once(server, "listening", timeout=5)
        self.servers.append(server)
        return server

    def watch(self, sock):
        log = self.closes[sock] = []
        sock.on("close", log.append)
        return log

    def _proxy(self, target):
        def handler(c):
            up = net.connect({"port": target, "host": "127.0.0.1", "allowHalfOpen": True})
            self.watch(up)
            c.pipe(up)
            up.pipe(c)

        return handler

    def close(self):
        """Destroy every socket; return once each server's 'close' says all are gone."""
        for sock in self.closes:
            sock.destroy()
        closed = []
        for server in self.servers:
            if server.listening:
                done = gevent.event.Event()
                server.close(lambda *error, done=done: done.set())
                closed.append(done)
        for done in closed:
            assert done.wait(10), "a server's connections never all closed"


def _first_difference(got, expected):
    for i, (a, b) in enumerate(zip(got, expected)):
        if a != b:
            return i
    return min(len(got), len(expected))


def run_example(path, ops, last, receive_encoding):
    topology = Topology(path)
    client = net.connect(topology.port, "127.0.0.1")
    try:
        log = []  # ('data', chunk) / ('end',) / ('close', had_error) / ('error', e)
        paused_data = []

        def on_data(chunk):
            if client.is_paused():
                paused_data.append(len(chunk))
            log.append(("data", chunk))

        if receive_encoding:
            client.set_encoding(receive_encoding)
        client.on("data", on_data)
        client.on("end", lambda: log.append(("end",)))
        closed = gevent.event.Event()
        client.on("close", lambda had_error: (log.append(("close", had_error)), closed.set()))
        client.on("error", lambda error: log.append(("error", error)))
        expected = []
        for op in ops:
            if op[0] == "write":
                argument, encoding, data = materialize(op)
                client.write(argument, encoding) if encoding else client.write(argument)
                expected.append(data)
            elif op[0] == "pause":
                client.pause()
            elif op[0] == "resume":
                client.resume()
            else:
                gevent.sleep(0.001 * op[1])
        if last is None:
            client.end()
        else:
            argument, encoding, data = materialize(last)
            client.end(argument, encoding) if encoding else client.end(argument)
            expected.append(data)
        expected = b"".join(expected)
        gevent.sleep(0.01)
        if client.is_paused():
            client.resume()  # a paused reader never sees 'end': let it finish
        total = len(expected)
        timeout = 30 + total / (2 << 20)
        if not closed.wait(timeout):
            raise AssertionError("%s: no 'close' within %.0f s; received %d of %d bytes; events %r; client %r" % (
                path, timeout, sum(len(e[1]) for e in log if e[0] == "data"), total,
                [e[0] for e in log][-4:], client))
        gevent.idle()  # anything already on its way (a second 'close') runs first
        kinds = [entry[0] for entry in log]
        assert "error" not in kinds, log[kinds.index("error")]
        assert kinds.count("end") == 1 and kinds.count("close") == 1, kinds[-5:]
        assert kinds[-2:] == ["end", "close"], "'end' must follow the last 'data'; then 'close'"
        assert log[-1] == ("close", False)
        assert paused_data == [], "'data' emitted while paused: %r" % paused_data
        chunks = [entry[1] for entry in log if entry[0] == "data"]
        assert all(chunks), "an empty 'data' chunk"
        if receive_encoding is None:
            assert all(type(chunk) is bytes for chunk in chunks)
            got = b"".join(chunks)
        else:
            assert all(type(chunk) is str for chunk in chunks)
            got = "".join(chunks)
            expected = {"hex": expected.hex(), "base64": base64.b64encode(expected).decode("ascii"),
                        "latin1": expected.decode("latin-1")}[receive_encoding]
        if got != expected:
            at = _first_difference(got, expected)
            raise AssertionError("%s: received %d, expected %d; first difference at %d" % (
                path, len(got), len(expected), at))
        # Every socket on the way closed exactly once, cleanly.
        net_sockets = dict(topology.closes)
        wait_until(lambda: all(net_sockets.values()), timeout=10, message="every socket on the way closed")
        gevent.idle()
        expected_sockets = 1 if path == "echo" else 5
        assert len(net_sockets) == expected_sockets
        assert all(closes == [False] for closes in net_sockets.values()), list(net_sockets.values())
    finally:
        client.destroy()
        topology.close()


@pytest.mark.parametrize("path", ["echo", "chain"])
@pytest.mark.slow
@SETTINGS
@given(ops=operations, last=last_chunk, receive_encoding=receive_encodings)
def test_writes_arrive_intact_and_in_order(path, ops, last, receive_encoding):
    run_example(path, ops, last, receive_encoding)


# A few cases worth keeping whatever hypothesis draws.
@pytest.mark.parametrize("path", ["echo", "chain"])
@pytest.mark.parametrize("ops, last", [
    ([], None),
    ([("write", "bytes", 0, 1)], ("write", "bytes", 0, 2)),
    ([("pause",), ("write", "bytes", 1 << 20, 3), ("write", "utf8", 1 << 20, 4), ("sleep", 3)], None),
    ([("write", "hex", 1, 5), ("write", "base64", 2, 6), ("write", "base64", 4, 9)], ("write", "ucs2", 3, 7)),
    ([("write", "memoryview", 1 << 20, 8), ("pause",), ("resume",), ("pause",)], ("write", "latin1", 70001, 9)),
])
@pytest.mark.parametrize("receive_encoding", [None, "base64"])
def test_chosen_cases(path, ops, last, receive_encoding):
    run_example(path, ops, last, receive_encoding)
