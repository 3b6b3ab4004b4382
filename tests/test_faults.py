"""Faults a server in front of real traffic meets, and what each must leave standing.

* a peer that resets mid-stream (``SO_LINGER`` 0), or whose process is killed with
  ``SIGKILL`` mid-transfer: ``'error'`` with ``ECONNRESET``, ``'close'(True)`` once,
  and the server and its other connections go on;
* writing after the peer closed (Node's ``EPIPE``) and reading from a half-closed peer;
* ``accept()`` hitting ``EMFILE`` (in a server subprocess with a low descriptor
  limit): the server backs off without spinning, survives, and accepts again;
* a handler that raises, an ``'error'`` nobody listens to: that socket is destroyed,
  nothing else is;
* security: a Unix socket path that is somebody else's gives ``EADDRINUSE`` and is
  never deleted; ``maxConnections`` holds under a connection flood; and
  ``examples/idle_timeout.py`` cuts idle and slow-loris clients.

Raw peers in this process are gevent sockets (cooperative whether or not the suite
is monkey-patched); peers that must die for real are subprocesses.
"""

import errno
import hashlib
import json
import os
import re
import signal
import socket as stdlib_socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gevent
import gevent.event
import gevent.socket as gsocket
import gevent.subprocess
import pytest

import nodenet_gevent as net
from conftest import (
    MONKEY,
    event_flag,
    kill_process,
    load_soak,
    read_all,
    recorded_greenlet_errors,
    tcp_info,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parent.parent


soak = load_soak()


# ---------------------------------------------------------------------------
# helpers


@pytest.fixture
def reported():
    """Exceptions gevent reports from greenlets (recorded instead of printed)."""
    with recorded_greenlet_errors() as seen:
        yield seen


class Script:
    """A Python snippet in a subprocess: JSON lines out, killed afterwards whatever happens.

    Started with ``gevent.subprocess`` (in both modes), whose child watcher gets the
    real exit status: a stdlib ``Popen`` reads 0 for a child that gevent's SIGCHLD
    handler (installed by any earlier ``gevent.subprocess`` in the process) reaped first.
    """

    def __init__(self, source, *args):
        self.proc = gevent.subprocess.Popen(
            [sys.executable, "-c", source, *[str(a) for a in args]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.pid = self.proc.pid
        self._out = self.proc.stdout.fileno()
        os.set_blocking(self._out, False)
        self._buffer = b""

    def read(self, timeout=15):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail("subprocess printed nothing within %ss" % timeout)
            try:
                chunk = os.read(self._out, 4096)
            except BlockingIOError:
                try:
                    gsocket.wait_read(self._out, timeout=min(left, 0.5))
                except gsocket.timeout:
                    pass
                continue
            if not chunk:
                pytest.fail("subprocess exited (%s): %s" % (self.wait(5), self.stderr()))
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def send(self, line):
        os.write(self.proc.stdin.fileno(), (line + "\n").encode())

    def stderr(self):
        """What it printed on stderr so far (all of it once it exited)."""
        fd = self.proc.stderr.fileno()
        os.set_blocking(fd, False)
        chunks = []
        while True:
            try:
                chunk = os.read(fd, 65536)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def wait(self, timeout=10):
        """The exit status (cooperatively), or ``None`` if still running after *timeout* s."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        kill_process(self.proc)
        self.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


@pytest.fixture
def script():
    started = []

    def start(source, *args):
        started.append(Script(source, *args))
        return started[-1]

    yield start
    for proc in started:
        proc.kill()


class Recorder:
    """A server whose accepted sockets echo (``c.pipe(c)``) and record their events."""

    def __init__(self, track, handler=None, **options):
        self.sockets = []
        self.events = {}  # socket -> [(event, args...)]
        self.handler = handler
        self.server = track.listen(self._on_connection, **options)
        self.port = self.server.address()["port"]

    def _on_connection(self, c):
        self.sockets.append(c)
        log = self.events[c] = []
        c.on("error", lambda error: log.append(("error", error)))
        c.on("close", lambda had_error: log.append(("close", had_error)))
        if self.handler is not None:
            self.handler(c)
        else:
            c.pipe(c)

    def by_peer_port(self, port):
        for sock in self.sockets:
            if sock.remote_port == port:
                return sock
        return None

    def bytes_read_from(self, port):
        sock = self.by_peer_port(port)
        return sock.bytes_read if sock is not None else 0


class Stream:
    """A nodenet client streaming *size* random bytes through an echo, in pieces."""

    def __init__(self, track, port, size=2 * 1024 * 1024, pace=0.001):
        self.payload = os.urandom(size)
        self.sock = track.connect(port, "127.0.0.1")
        self.got = []
        self.errors = []
        self.sock.on("data", self.got.append)
        self.sock.on("error", self.errors.append)
        self.ended = event_flag(self.sock, "end")
        self.feeder = gevent.spawn(self._feed, pace)

    def _feed(self, pace):
        for i in range(0, len(self.payload), 32768):
            self.sock.write(self.payload[i:i + 32768])
            gevent.sleep(pace)
        self.sock.end()

    def check(self, timeout=30):
        assert self.ended.wait(timeout), "stream did not finish"
        assert self.errors == []
        assert hashlib.sha256(b"".join(self.got)).digest() == hashlib.sha256(self.payload).digest()


def assert_reset(log):
    """``'error'`` ECONNRESET (Node-shaped), then ``'close'(True)``, each exactly once."""
    kinds = [entry[0] for entry in log]
    assert kinds == ["error", "close"], log
    error = log[0][1]
    assert isinstance(error, ConnectionResetError)
    assert error.code == "ECONNRESET" and error.errno == errno.ECONNRESET
    assert error.syscall in ("read", "write")
    assert log[1] == ("close", True)


def still_echoes(port):
    probe = net.connect(port, "127.0.0.1")
    try:
        probe.end(b"still serving")
        assert read_all(probe, timeout=10) == b"still serving"
    finally:
        probe.destroy()


# ---------------------------------------------------------------------------
# peers that vanish


def test_peer_reset_mid_stream_is_econnreset_and_nothing_else_stops(track):
    echo = Recorder(track)
    others = [Stream(track, echo.port) for _ in range(3)]
    victim = gsocket.create_connection(("127.0.0.1", echo.port))
    victim_port = victim.getsockname()[1]
    sender = gevent.spawn(victim.sendall, os.urandom(8 * 1024 * 1024))
    wait_until(lambda: echo.bytes_read_from(victim_port) > 512 * 1024,
               timeout=10, message="the victim's stream under way")
    assert len(victim.recv(65536)) > 0  # data flows both ways: this is mid-stream
    sender.kill()
    victim.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_LINGER, struct.pack("ii", 1, 0))
    victim.close()  # RST
    server_side = echo.by_peer_port(victim_port)
    wait_until(lambda: ("close", True) in echo.events[server_side], message="the reset socket's close")
    for stream in others:
        stream.check()
    assert echo.server.listening
    still_echoes(echo.port)
    # Checked last: the streams and the probe above took round trips enough for a
    # stray second 'error' or 'close' to have shown up.
    assert_reset(echo.events[server_side])
    assert server_side.destroyed
    for sock in echo.sockets:
        if sock is not server_side:
            assert [e for e in echo.events[sock] if e[0] == "error"] == []


# The peers that get SIGKILL: each sends for ever and never reads, so it cannot stop
# by itself.  Its sends block once our side is full (the back-pressure the tests wait
# for), and a socket closed with unread data in its receive queue -- which the kill
# does -- is reset by the kernel.
_KILLED_CLIENT = """
import socket, sys, json
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(json.dumps({"port": s.getsockname()[1]}), flush=True)
chunk = b"k" * 65536
while True:
    s.sendall(chunk)  # never reads: the echo piles up in its receive queue
"""

_KILLED_SERVER = """
import socket, sys, json
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
conn, _ = listener.accept()
chunk = b"s" * 65536
while True:
    conn.sendall(chunk)  # never reads what the client sends
"""


def _kill_mid_transfer(peer):
    """SIGKILL *peer*, which must be running then; asserts it died of that signal.

    The exit status is the proof that the kill landed mid-transfer: the peer cannot
    exit by itself (it sends for ever), and one that had died of an error first would
    show its status (1) and a traceback, not ``-SIGKILL``.
    """
    assert peer.proc.poll() is None, "the peer stopped before the kill: %s" % peer.stderr()
    os.kill(peer.pid, signal.SIGKILL)
    assert peer.wait(10) == -signal.SIGKILL
    assert peer.stderr() == ""


def test_peer_process_killed_mid_transfer_our_server_side(track, script):
    echo = Recorder(track)
    others = [Stream(track, echo.port) for _ in range(2)]
    peer = script(_KILLED_CLIENT, echo.port)
    peer_port = peer.read()["port"]
    wait_until(lambda: echo.by_peer_port(peer_port) is not None, message="the peer accepted")
    server_side = echo.by_peer_port(peer_port)
    # Mid-transfer, and stuck there: the peer reads none of the echo, so our writes
    # back up (bufferSize), pipe() pauses our reading, and the peer's sendall blocks.
    wait_until(lambda: server_side.bytes_read > 0 and server_side.buffer_size > 0 and server_side.is_paused(),
               timeout=20, message="the echo backed up at the peer")
    assert echo.events[server_side] == []
    _kill_mid_transfer(peer)
    wait_until(lambda: ("close", True) in echo.events[server_side], timeout=10, message="close")
    for stream in others:
        stream.check()
    assert echo.server.listening
    still_echoes(echo.port)
    assert_reset(echo.events[server_side])


def test_peer_process_killed_mid_transfer_our_client_side(track, script):
    peer = script(_KILLED_SERVER)
    port = peer.read()["port"]
    client = track.connect(port, "127.0.0.1")
    log = []
    client.on("error", lambda error: log.append(("error", error)))
    client.on("close", lambda had_error: log.append(("close", had_error)))
    client.on("data", lambda data: None)

    drained = gevent.event.Event()
    client.on("drain", drained.set)

    def keep_writing():
        while not client.destroyed:
            drained.clear()
            if not client.write(b"c" * 65536):
                drained.wait()  # the peer never reads: this is where it stays

    net.once(client, "connect", timeout=5)
    writer = gevent.spawn(keep_writing)
    try:
        # Both ways at once: we read its stream; our writes back up at the peer.
        wait_until(lambda: client.bytes_read > 1024 * 1024 and client.buffer_size > 0,
                   timeout=20, message="the transfer under way both ways")
        # An unrelated connection in this process, mid-stream too.
        echo = Recorder(track)
        other = Stream(track, echo.port)
        assert log == []
        _kill_mid_transfer(peer)
        wait_until(lambda: ("close", True) in log, timeout=10, message="close")
    finally:
        writer.kill()
    other.check()
    still_echoes(echo.port)
    assert_reset(log)


# ---------------------------------------------------------------------------
# EPIPE and half-closed peers


def wait_for_reset(sock):
    """Until the kernel processed the peer's RST: the connection is no longer listed."""
    ports = sock.local_port, sock.remote_port
    wait_until(lambda: tcp_info(*ports) is None, message="the peer's RST")


def _half_open_pair(track, allow_half_open):
    accepted = gevent.event.AsyncResult()
    server = track.listen(accepted.set, allowHalfOpen=allow_half_open)
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    return client, accepted.get(timeout=5)


def test_write_after_peer_closed_is_epipe_as_in_node(track):
    # Node 20, allowHalfOpen: the first write after the peer closed is taken by the
    # kernel (the peer answers RST); the next fails: 'error' EPIPE from 'write', then
    # 'close'(true).
    client, server_side = _half_open_pair(track, allow_half_open=True)
    log = []
    server_side.on("error", lambda error: log.append(("error", error)))
    server_side.on("close", lambda had_error: log.append(("close", had_error)))
    server_side.resume()
    client.end()
    net.once(server_side, "end", timeout=5)
    client.destroy()
    net.once(client, "close", timeout=5)
    first = gevent.event.AsyncResult()
    assert server_side.write(b"a", first.set) is True
    assert first.get(timeout=5) is None
    wait_for_reset(server_side)
    assert server_side.write(b"b") is False
    wait_until(lambda: ("close", True) in log, message="close")
    gevent.idle()  # anything already on its way (a second 'close') runs first
    assert [entry[0] for entry in log] == ["error", "close"]
    error = log[0][1]
    assert isinstance(error, BrokenPipeError)
    assert (error.code, error.errno, error.syscall, str(error)) == ("EPIPE", errno.EPIPE, "write", "write EPIPE")
    late = gevent.event.AsyncResult()
    assert server_side.write(b"c", late.set) is False
    assert late.get(timeout=5).code == "ERR_STREAM_DESTROYED"


def test_failed_write_callback_gets_the_write_error(track):
    client, server_side = _half_open_pair(track, allow_half_open=True)
    server_side.on("error", lambda error: None)
    server_side.resume()
    client.end()
    net.once(server_side, "end", timeout=5)
    client.destroy()
    net.once(client, "close", timeout=5)
    first = gevent.event.AsyncResult()
    server_side.write(b"a", first.set)
    first.get(timeout=5)
    wait_for_reset(server_side)
    failed = gevent.event.AsyncResult()
    server_side.write(b"b", failed.set)
    error = failed.get(timeout=5)
    assert getattr(error, "code", None) == "EPIPE", error


def test_write_after_peer_ended_without_allow_half_open_as_in_node(track):
    # Node 20: a write in the 'end' handler still goes out before our FIN; once
    # closed, a write returns false and its callback gets EPIPE "This socket has
    # been ended by the other party" -- no 'error' event (the socket is gone).
    client, server_side = _half_open_pair(track, allow_half_open=False)
    errors = []
    server_side.on("error", errors.append)
    closed = event_flag(server_side, "close")
    server_side.on("end", lambda: server_side.write(b"last words"))
    server_side.resume()
    client.end()
    assert read_all(client) == b"last words"
    assert closed.wait(5) and closed.args == (False,)
    failed = gevent.event.AsyncResult()
    assert server_side.write(b"too late", failed.set) is False
    error = failed.get(timeout=5)
    assert isinstance(error, BrokenPipeError) and error.code == "EPIPE"
    assert str(error) == "This socket has been ended by the other party"
    gevent.idle()
    assert errors == []


def test_reading_from_a_half_closed_peer(track):
    accepted = gevent.event.AsyncResult()
    server = track.listen(accepted.set, allowHalfOpen=True, pauseOnConnect=True)
    peer = gsocket.create_connection(("127.0.0.1", server.address()["port"]))
    c = accepted.get(timeout=5)
    request = os.urandom(3 * 1024 * 1024)
    reply = os.urandom(2 * 1024 * 1024)

    def send_and_half_close():
        peer.sendall(request)
        peer.shutdown(stdlib_socket.SHUT_WR)

    sender = gevent.spawn(send_and_half_close)
    wait_until(lambda: (tcp_info(c.local_port, c.remote_port) or {}).get("rx_queue", 0) > 0,
               message="data waiting in the kernel")
    assert c.bytes_read == 0 and c.readable  # paused: the FIN waits behind the data
    log = []
    c.on("data", lambda data: log.append(data))
    c.on("end", lambda: log.append("end"))
    closed = event_flag(c, "close")
    c.resume()
    net.once(c, "end", timeout=10)
    sender.join(5)
    assert log[-1] == "end" and b"".join(log[:-1]) == request  # 'end' after every byte
    assert c.ready_state == "writeOnly" and c.writable and not c.destroyed
    c.write(reply[:1000])
    c.end(reply[1000:])
    got = []
    while True:
        data = peer.recv(65536)
        if not data:
            break
        got.append(data)
    assert b"".join(got) == reply
    assert closed.wait(5) and closed.args == (False,)
    peer.close()


# ---------------------------------------------------------------------------
# EMFILE


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_accept_out_of_descriptors_backs_off_survives_and_accepts_again():
    limit = 40
    with soak.start_server(MONKEY, "--nofile", limit) as server:
        base = server.ask("stats")
        assert base["nofile"] == limit
        room = limit - base["fds"]  # connections it can accept before accept() gets EMFILE
        assert room > 5, base
        clients = []
        served = {}  # client -> its echo

        def expect_echo(sock, message):
            sock.sendall(message)
            got = b""
            while len(got) < len(message):
                data = sock.recv(100)
                if not data:
                    break
                got += data
            served[sock] = got

        readers = []
        try:
            for i in range(room + 15):
                sock = gsocket.create_connection(("127.0.0.1", server.port), timeout=5)
                sock.settimeout(None)
                clients.append(sock)
                readers.append(gevent.spawn(expect_echo, sock, b"ping %03d" % i))
            # It accepts (and echoes) as many as it has descriptors for, then no more.
            wait_until(lambda: len(served) >= room - 2, timeout=20, message="the connections within the limit served")
            stats = server.ask("stats")
            wait_until(lambda: len(served) >= stats["connections"], timeout=10, message="every accepted one served")
            assert all(served[sock] == b"ping %03d" % i for i, sock in enumerate(clients) if sock in served)
            waiting = [sock for sock in clients if sock not in served]
            assert len(waiting) >= 10, "the descriptor limit was never hit"
            # Out of descriptors now: the acceptor must back off, not spin.
            cpu = soak.cpu_seconds(server.pid)
            gevent.sleep(1.0)  # the window the CPU time is measured over
            assert soak.cpu_seconds(server.pid) - cpu < 0.3, "the server spins on EMFILE"
            stats = server.ask("stats")  # it still answers, and accepted nobody meanwhile
            assert stats["connections"] == len(clients) - len(waiting) and not any(s in served for s in waiting)
            # Free descriptors: everyone still waiting gets served.
            for sock in clients[:20]:
                assert sock in served
                sock.close()
            wait_until(lambda: all(sock in served for sock in waiting), timeout=20,
                       message="the waiting connections accepted once descriptors were freed")
            assert all(served[sock].startswith(b"ping ") for sock in waiting)
            fresh = gsocket.create_connection(("127.0.0.1", server.port), timeout=5)
            clients.append(fresh)
            readers.append(gevent.spawn(expect_echo, fresh, b"fresh"))
            wait_until(lambda: fresh in served, timeout=10, message="a fresh connection served")
            assert served[fresh] == b"fresh"
        finally:
            gevent.killall(readers)
            for sock in clients:
                sock.close()
        after = soak._settled(server, base, timeout=20)
        assert after["connections"] == 0 and after["fds"] == base["fds"]
        assert after["errors"] == {}
        stderr = server.stop()
    assert "Traceback" not in stderr, stderr


# ---------------------------------------------------------------------------
# handlers that raise, errors nobody listens to


def _victim_handler(kind):
    """A server handler whose first connection fails in *kind*; the others echo."""
    count = [0]

    def boom(*args):
        raise RuntimeError("handler bug in %r" % kind)

    def handler(c):
        count[0] += 1
        if count[0] > 1:
            c.pipe(c)
            return
        if kind == "connection":
            boom()
        elif kind == "data":
            c.on("data", boom)
        elif kind == "end":
            c.on("data", lambda data: None)
            c.on("end", boom)
        elif kind == "drain":
            c.on("drain", boom)
            c.resume()
            # More than the kernel's buffers can take (tcp_wmem's 4 MiB, and the paused
            # victim's receive queue), so that 'drain' waits for the victim to read.
            c.write(b"d" * (16 * 1024 * 1024))
        elif kind == "finish":
            c.on("finish", boom)
            c.resume()
            c.end(b"bye")
        elif kind == "timeout":
            c.resume()
            c.set_timeout(50)
            c.on("timeout", boom)
        elif kind == "error without listener":
            c.remove_all_listeners("error")
            c.resume()

    return handler


_HANDLER_KINDS = [
    "connection",
    "data",
    "end",
    "drain",
    "finish",
    "timeout",
    "error without listener",
]


@pytest.mark.parametrize("kind", _HANDLER_KINDS)
def test_failing_handler_destroys_only_its_socket(track, reported, kind):
    failures = []
    server = track.server()
    accepted = []
    closes = {}
    # Our listeners first: a 'connection' handler that raises stops the ones after it.
    server.on("connection", accepted.append)
    server.on("connection", lambda c: c.on("close", lambda had_error: closes.setdefault(c, []).append(had_error)))
    server.on("connection", _victim_handler(kind))
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    port = server.address()["port"]
    if kind == "error without listener":
        victim = gsocket.create_connection(("127.0.0.1", port))
        wait_until(lambda: accepted, message="the victim accepted")
    else:
        victim = net.connect(port, "127.0.0.1")
        track.sockets.append(victim)
        victim.on("error", failures.append)
        victim.on("data", lambda data: None)
        if kind == "drain":
            victim.pause()  # so the server's write cannot drain at once
        net.once(victim, "connect", timeout=5)
        wait_until(lambda: accepted, message="the victim accepted")
    server_side = accepted[0]
    others = [Stream(track, port) for _ in range(2)]  # mid-stream when the victim fails
    wait_until(lambda: all(stream.got for stream in others), message="the other streams under way")
    if kind in ("data", "end"):
        victim.write(b"trigger")
        if kind == "end":
            victim.end()
    elif kind == "drain":
        assert server_side.buffer_size > 0  # its 16 MiB wait for the paused victim
        victim.resume()
    elif kind == "error without listener":
        victim.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_LINGER, struct.pack("ii", 1, 0))
        victim.close()
    wait_until(lambda: closes.get(server_side), timeout=5, message="the failing socket's close")
    for stream in others:
        stream.check()
    assert server.listening
    still_echoes(port)  # round trips enough for a stray second 'close' to show
    assert server_side.destroyed
    assert closes[server_side] == [True]
    assert all(closes.get(sock) in (None, [False]) for sock in accepted[1:]), closes
    if kind == "error without listener":
        assert any(isinstance(value, ConnectionResetError) for value in reported), reported
    else:
        assert any("handler bug in %r" % kind in str(value) for value in reported), reported


def test_failing_connect_handler_destroys_only_that_client(track, reported):
    echo = Recorder(track)
    other = Stream(track, echo.port)
    client = track.connect(echo.port, "127.0.0.1")
    client.on("connect", lambda: 1 / 0)
    closed = event_flag(client, "close")
    assert closed.wait(5)
    other.check()
    assert client.destroyed and any(isinstance(value, ZeroDivisionError) for value in reported)
    still_echoes(echo.port)


# ---------------------------------------------------------------------------
# security: Unix socket paths


_UNIX_HOLDER = """
import json, os, socket, sys
listener = socket.socket(socket.AF_UNIX)
listener.bind(sys.argv[1])
listener.listen(8)
print(json.dumps({"ino": os.stat(sys.argv[1]).st_ino}), flush=True)
while True:
    conn, _ = listener.accept()
    conn.sendall(b"still mine")
    conn.close()
"""


def close_and_wait(server):
    """``server.close()``, and its callback (an error if it was not listening) came."""
    done = gevent.event.Event()
    server.close(lambda *error: done.set())
    assert done.wait(5), "close() never called back"


def _ask_holder(path):
    sock = gsocket.socket(stdlib_socket.AF_UNIX)
    sock.settimeout(5)
    try:
        sock.connect(path)
        return sock.recv(100)
    finally:
        sock.close()


def test_unix_path_of_another_process_is_eaddrinuse_and_never_deleted(track, script, sock_dir):
    path = os.path.join(sock_dir, "theirs.sock")
    holder = script(_UNIX_HOLDER, path)
    ino = holder.read()["ino"]
    server = track.server()
    server.listen(path)
    (error,) = net.once(server, "error", timeout=5)
    assert error.code == "EADDRINUSE" and error.syscall == "listen" and error.address == path
    assert not server.listening and server.address() is None
    close_and_wait(server)
    assert os.stat(path).st_ino == ino
    assert _ask_holder(path) == b"still mine"


def test_stale_unix_socket_file_is_eaddrinuse_and_never_deleted(track, script, sock_dir):
    path = os.path.join(sock_dir, "stale.sock")
    holder = script(_UNIX_HOLDER, path)
    ino = holder.read()["ino"]
    holder.kill()  # its socket file stays behind, nobody listening
    assert os.path.exists(path)
    server = track.server()
    server.listen(path)
    (error,) = net.once(server, "error", timeout=5)
    assert error.code == "EADDRINUSE"  # as Node: we do not guess that the file is ours to remove
    close_and_wait(server)
    assert os.stat(path).st_ino == ino


def test_symlink_at_unix_path_is_eaddrinuse_and_target_untouched(track, sock_dir):
    target = os.path.join(sock_dir, "precious.txt")
    with open(target, "w") as handle:
        handle.write("do not touch")
    link = os.path.join(sock_dir, "link.sock")
    os.symlink(target, link)
    server = track.server()
    server.listen(link)
    (error,) = net.once(server, "error", timeout=5)
    assert error.code == "EADDRINUSE"
    close_and_wait(server)
    assert os.path.islink(link) and open(target).read() == "do not touch"


def test_close_never_deletes_a_socket_file_that_replaced_ours(track, script, sock_dir):
    path = os.path.join(sock_dir, "s.sock")
    server = track.server()
    server.listen(path)
    net.once(server, "listening", timeout=5)
    os.unlink(path)  # someone cleans up our file, and another program takes the path
    holder = script(_UNIX_HOLDER, path)
    ino = holder.read()["ino"]
    close_and_wait(server)
    assert os.path.exists(path) and os.stat(path).st_ino == ino
    assert _ask_holder(path) == b"still mine"


# ---------------------------------------------------------------------------
# security: a connection flood against maxConnections


_FLOOD = """
import json, resource, selectors, socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 64), hard))
sel = selectors.DefaultSelector()
for i in range(count):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    sel.register(s, selectors.EVENT_READ)
print(json.dumps({"event": "flooding", "count": count}), flush=True)
closed = 0
def poll(seconds):
    global closed
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(0.05):
            try:
                data = key.fileobj.recv(100)
            except OSError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                closed += 1
poll(0.5)
for line in sys.stdin:
    poll(0.3)
    print(json.dumps({"event": "count", "closed": closed, "open": count - closed}), flush=True)
"""


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_max_connections_holds_under_a_connection_flood(track, script):
    limit, count = 20, 1500
    live = [0, 0]  # now, most ever
    drops = []

    def on_connection(c):
        live[0] += 1
        live[1] = max(live[1], live[0])
        c.on("close", lambda had_error: live.__setitem__(0, live[0] - 1))
        c.resume()

    server = track.server(on_connection)
    # A backlog that holds the whole burst: the flood is to test maxConnections, not
    # the kernel's SYN retries (which can take minutes for a dropped SYN).
    server.listen(0, "127.0.0.1", 4096)
    net.once(server, "listening", timeout=5)
    server.maxConnections = limit
    server.on("drop", drops.append)
    flood = script(_FLOOD, server.address()["port"], count)
    assert flood.read(30)["event"] == "flooding"
    wait_until(lambda: live[0] + len(drops) >= count, timeout=60, message="every flood connection accounted for")
    counted = gevent.event.AsyncResult()
    server.getConnections(lambda err, n: counted.set(n))
    assert counted.get(timeout=5) == limit
    assert live == [limit, limit], "maxConnections %d, connections held %r" % (limit, live)
    assert len(drops) == count - limit
    flood.send("count")
    seen = flood.read(30)
    assert seen["open"] == limit and seen["closed"] == count - limit
    # A legitimate client still gets in once the flood is gone.
    flood.kill()
    wait_until(lambda: live[0] == 0, timeout=20, message="the flood's connections closed")
    assert live[1] == limit
    ok = track.connect(server.address()["port"], "127.0.0.1")
    net.once(ok, "connect", timeout=5)
    wait_until(lambda: live[0] == 1, message="the legitimate client accepted")
    assert server.listening


# ---------------------------------------------------------------------------
# security: examples/idle_timeout.py against idle and slow-loris clients

_MONKEY_LAUNCHER = (
    "from gevent import monkey; monkey.patch_all()\n"
    "import runpy, sys\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def _start_idle_timeout_example(env):
    script_path = str(ROOT / "examples" / "idle_timeout.py")
    command = [sys.executable, "-c", _MONKEY_LAUNCHER, script_path] if MONKEY else [sys.executable, script_path]
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    environ.update(env)
    proc = gevent.subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=environ, cwd=tempfile.gettempdir())
    os.set_blocking(proc.stdout.fileno(), False)
    return proc


class _Lines:
    """The lines a subprocess prints, read cooperatively."""

    def __init__(self, stream):
        self.fd = stream.fileno()
        self.buffer = b""
        self.lines = []
        self.eof = False

    def pump(self):
        while not self.eof:
            try:
                chunk = os.read(self.fd, 4096)
            except BlockingIOError:
                break
            self.eof = not chunk
            self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\n")
        self.lines.extend(line.decode() for line in complete)
        return self.lines

    def wait_for(self, pattern, timeout=15, count=1):
        """The *count*-th line matching *pattern* (a match object), once printed."""
        deadline = time.monotonic() + timeout
        while True:
            matches = [m for m in (re.fullmatch(pattern, line) for line in self.pump()) if m]
            if len(matches) >= count:
                return matches[count - 1]
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                pytest.fail("no %d lines matching %r in %r" % (count, pattern, self.lines))
            try:
                gsocket.wait_read(self.fd, timeout=left)
            except gsocket.timeout:
                pass


def _cut_after(sock, since, timeout):
    """Seconds from *since* until the server cut *sock* (EOF or reset); fails after *timeout*."""
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except gsocket.timeout:
        pytest.fail("not cut within %ss" % timeout)
    return time.monotonic() - since


@pytest.mark.slow
def test_idle_timeout_example_cuts_idle_and_slow_loris_clients():
    # Timings with a 10x margin either way (on a busy machine a greenlet can wait a
    # while for the CPU): the slow-loris sends a byte and the good client a line
    # every 0.1 s, ten times more often than the idle timeout.
    idle_ms, request_ms, pace, max_line = 1000, 2000, 0.1, 1000
    proc = _start_idle_timeout_example(
        {"PORT": "0", "IDLE_TIMEOUT_MS": str(idle_ms), "REQUEST_TIMEOUT_MS": str(request_ms),
         "MAX_LINE": str(max_line)}
    )
    socks = []
    try:
        out = _Lines(proc.stdout)
        port = int(out.wait_for(r"listening on (\d+)").group(1))
        idle, loris, good, flood = socks = [gsocket.create_connection(("127.0.0.1", port)) for _ in range(4)]
        connected = time.monotonic()  # the server's timers start later, when it accepts
        # A line that never ends is cut at MAX_LINE bytes, long before any timer.
        flood.sendall(b"x" * (max_line + 1))
        assert _cut_after(flood, connected, 10) < idle_ms / 1000.0
        out.wait_for(r"cut \S+:\d+: line longer than %d bytes" % max_line)
        idle_cut = gevent.spawn(_cut_after, idle, connected, 10)
        loris_cut = gevent.spawn(_cut_after, loris, connected, 10)

        def trickle():
            # Never idle, never a complete line; until cut.
            try:
                while True:
                    loris.send(b"G")
                    gevent.sleep(pace)
            except OSError:
                pass

        trickler = gevent.spawn(trickle)

        def converse():
            # Longer than the request deadline in all, every line complete at once.
            answers = []
            good.settimeout(5)
            for i in range(int(request_ms / 1000.0 / pace * 1.25)):
                good.sendall(b"request %d\n" % i)
                expected = b"you said: request %d\n" % i
                got = b""
                while len(got) < len(expected):
                    got += good.recv(100)
                answers.append(got)
                gevent.sleep(pace)
            return answers

        conversation = gevent.spawn(converse)
        idle_seconds = idle_cut.get(timeout=10)
        loris_seconds = loris_cut.get(timeout=10)
        answers = conversation.get(timeout=15)
        trickler.kill()
        # Timers fire no earlier than due (give or take the loop's cached clock) and,
        # on a busy machine, a little later.
        assert idle_ms / 1000.0 - 0.05 <= idle_seconds <= idle_ms / 1000.0 + 1.5, idle_seconds
        # The slow-loris was never idle: the request deadline cut it.
        assert request_ms / 1000.0 - 0.05 <= loris_seconds <= request_ms / 1000.0 + 1.5, loris_seconds
        assert answers == [b"you said: request %d\n" % i for i in range(len(answers))]
        assert len(answers) * pace > request_ms / 1000.0
        out.wait_for(r"cut \S+:\d+: idle for %d ms" % idle_ms)
        out.wait_for(r"cut \S+:\d+: no complete line within %d ms" % request_ms)
        # The well-behaved client goes quiet and is cut as idle too.
        assert _cut_after(good, time.monotonic(), 10) <= idle_ms / 1000.0 + 1.5
        out.wait_for(r"cut \S+:\d+: idle for %d ms" % idle_ms, count=2)
        assert len([line for line in out.lines if line.startswith("cut ")]) == 4
        assert proc.poll() is None
    finally:
        for sock in socks:
            sock.close()
        proc.kill()
        proc.wait(10)
        stderr = proc.stderr.read().decode(errors="replace")
        proc.stdout.close()
        proc.stderr.close()
    assert "Traceback" not in stderr, stderr
