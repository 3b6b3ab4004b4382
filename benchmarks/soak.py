#!/usr/bin/env python
"""Soak nodenet_gevent under real traffic, for as long as you like, and print the figures.

    python benchmarks/soak.py                        # 10 minutes, full size, plain
    python benchmarks/soak.py --minutes 60 --monkey  # an hour, server monkey-patched
    python benchmarks/soak.py --minutes 0            # one round of everything (~1-2 minutes)

Each round runs, against a fresh nodenet_gevent server in its own process:

* **hold**: ``--hold`` connections (10,000) opened, held, and all echoing at once;
* **churn**: ``--churn`` connections (100,000) opened, echoed, half-closed and closed
  through one server, ``--concurrency`` (50) at a time; the server's open
  descriptors, greenlets (counted with ``gc``) and RSS are taken after a warm-up and
  again afterwards;
* **pipe**: ``--pipe-mib`` MiB (1024) from a fast producer, through a nodenet
  ``c.pipe(upstream)`` proxy, into a consumer that reads at ``--consumer-mbps``
  (200 MB/s) and also stops reading for a second after its first 16 MiB (so the
  proxy is pushed back even when a loaded machine cannot produce 200 MB/s); both
  ends hash the stream (sha256) and the proxy's peak RSS above its RSS just before
  the transfer is reported.

The echo server and the proxy live for the whole soak; rounds repeat until
``--minutes`` have passed (at least one round); every round prints one JSON line,
and a summary table follows.  Exit status 1 if any round lost a byte, leaked a
descriptor or greenlet, broke a bound, or if the server's descriptors, greenlets
or RSS after a round drifted from round 1's (RSS: by more than 8 MiB).

The same file provides the processes the tests use (``tests/test_load.py``), so the
CI tests and the soak measure with the same code:

    soak.py server [--monkey] [--proxy-to PORT] [--nofile N] [--max-connections N]
        a nodenet_gevent echo server (or pipe proxy) on 127.0.0.1; prints
        ``{"event": "listening", "port": P, "pid": ...}``, then answers the
        commands ``stats``, ``reset-peak``, ``target PORT`` and ``quit`` read
        from stdin, one JSON line each; exits when stdin closes.
    soak.py hold --port P -n N        open N connections, each echoing once; then on
                                      stdin ``echo`` (all echo again) / ``close``.
    soak.py churn --port P -n N [-c C]
    soak.py pipe-ends --mib M [--consumer-mbps R]
                                      a slow consumer (prints its port) and, on stdin
                                      ``go PORT``, a fast producer writing into PORT.

The client processes use plain sockets and ``selectors`` (no gevent), so what is
measured is the server alone.  Every process bounds itself with ``alarm()``.
"""

import sys

if __name__ == "__main__" and "--monkey" in sys.argv:
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import errno  # noqa: E402
import gc  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import selectors  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
HOST = "127.0.0.1"

# ---------------------------------------------------------------------------
# measuring a process (from inside it, or from outside through /proc)


def count_fds(pid="self"):
    """Open descriptors of a process (for ``self``, not counting the one listdir uses).

    ``None`` when the process is out of descriptors itself (listdir needs one).
    """
    try:
        names = os.listdir("/proc/%s/fd" % pid)
    except OSError as error:
        if error.errno in (errno.EMFILE, errno.ENFILE):
            return None
        raise
    return len(names) - (1 if pid == "self" else 0)


def proc_status(pid="self"):
    """``VmRSS``/``VmHWM`` (KiB) and ``Threads`` of a process, from ``/proc/<pid>/status``."""
    fields = {}
    with open("/proc/%s/status" % pid) as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                fields[key] = int(value.split()[0])
    return fields


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far."""
    with open("/proc/%s/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_greenlets():
    """``(all, alive)`` greenlet objects reachable by ``gc``, after a collection."""
    import greenlet

    gc.collect()
    found = [o for o in gc.get_objects() if isinstance(o, greenlet.greenlet)]
    return len(found), sum(1 for g in found if not g.dead)


def set_nofile(soft):
    """Set the soft RLIMIT_NOFILE (capped at the hard limit); returns the limit in force."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft = hard if soft is None or (hard != resource.RLIM_INFINITY and soft > hard) else soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def emit_json(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------
# role: the nodenet_gevent server under test


def role_server(args):
    import gevent
    from gevent.event import AsyncResult
    from gevent.os import make_nonblocking, nb_read

    sys.path.insert(0, str(ROOT))
    import nodenet_gevent as net
    from nodenet_gevent.dormant import pooled_greenlets

    nofile = set_nofile(args.nofile)
    counters = {"accepted": 0, "closed": 0, "drops": 0, "errors": {}, "pauses": 0, "max_buffer": 0,
                "upstream_errors": {}}
    target = {"port": args.proxy_to}

    def count_error(kind):
        def on_error(error):
            code = getattr(error, "code", type(error).__name__)
            counters[kind][code] = counters[kind].get(code, 0) + 1

        return on_error

    def on_close(had_error):
        counters["closed"] += 1

    def on_connection(c):
        counters["accepted"] += 1
        c.on("error", count_error("errors"))
        c.on("close", on_close)
        if target["port"] is None:
            c.pipe(c)  # echo
            return
        up = net.connect({"port": target["port"], "host": HOST, "allowHalfOpen": True})
        up.on("error", count_error("upstream_errors"))
        c.on("pause", lambda: counters.__setitem__("pauses", counters["pauses"] + 1))
        c.pipe(up)
        up.pipe(c)
        c.on("close", lambda had_error: up.destroy())
        up.on("close", lambda had_error: c.destroy())

        def watch_buffer(chunk):  # runs after the pipe's own 'data' listener wrote the chunk
            if up.buffer_size > counters["max_buffer"]:
                counters["max_buffer"] = up.buffer_size

        c.on("data", watch_buffer)

    server = net.createServer({"allowHalfOpen": target["port"] is not None}, on_connection)
    if args.max_connections:
        server.maxConnections = args.max_connections
    server.on("drop", lambda info: counters.__setitem__("drops", counters["drops"] + 1))
    server.listen(0, HOST)
    net.once(server, "listening", timeout=10)

    def stats():
        count = AsyncResult()
        server.getConnections(lambda err, n: count.set(n))
        connections = count.get(timeout=5)
        greenlets, alive = count_greenlets()
        pooled = pooled_greenlets()  # the hub's runner and its spare greenlets (dormant.py)
        try:
            status = proc_status()
        except OSError as error:  # out of descriptors: /proc cannot be opened
            if error.errno not in (errno.EMFILE, errno.ENFILE):
                raise
            status = {"VmRSS": None, "VmHWM": None}
        return dict(
            counters,
            connections=connections,
            fds=count_fds(),
            greenlets=greenlets,
            greenlets_alive=alive,
            pooled=pooled,
            rss_kib=status["VmRSS"],
            hwm_kib=status["VmHWM"],
            nofile=nofile,
        )

    emit_json(event="listening", port=server.address()["port"], pid=os.getpid(), nofile=nofile,
              monkey=bool(args.monkey))
    make_nonblocking(0)
    pending = b""
    while True:
        chunk = nb_read(0, 4096)
        if not chunk:
            break
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            command = line.decode().split()
            if not command:
                continue
            if command[0] == "stats":
                emit_json(event="stats", **stats())
            elif command[0] == "reset-peak":
                counters["max_buffer"] = 0
                with open("/proc/self/clear_refs", "w") as clear:
                    clear.write("5")  # VmHWM := VmRSS (Linux >= 4.0)
                emit_json(event="reset-peak", **proc_status())
            elif command[0] == "target":
                target["port"] = int(command[1])
                emit_json(event="target", port=target["port"])
            elif command[0] == "quit":
                server.close()
                emit_json(event="quit")
                return 0
            else:
                emit_json(event="unknown", command=command)
        gevent.sleep(0)
    return 0


# ---------------------------------------------------------------------------
# client roles: plain sockets and selectors


class ClientFailure(Exception):
    pass


def _message(index, round_no, size):
    """A message unique to a connection and round, *size* bytes long."""
    head = b"%d:%d:" % (round_no, index)
    return (head + b"x" * size)[:size] if size > len(head) else head


def open_and_echo(port, count, concurrency, size=32, deadline=None):
    """Open *count* connections, *concurrency* at a time, each echoing one message.

    Returns the list of connected sockets (kept open).
    """
    sel = selectors.DefaultSelector()
    held = []
    started = 0
    in_flight = 0
    try:
        while len(held) < count:
            while in_flight < concurrency and started < count:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                code = sock.connect_ex((HOST, port))
                if code not in (0, errno.EINPROGRESS):
                    raise ClientFailure("connect #%d: %s" % (started, os.strerror(code)))
                expected = _message(started, 0, size)
                sel.register(sock, selectors.EVENT_WRITE, [started, expected, bytearray()])
                started += 1
                in_flight += 1
            if deadline and time.monotonic() > deadline:
                raise ClientFailure("opening: deadline passed with %d held" % len(held))
            for key, mask in sel.select(timeout=1.0):
                sock, state = key.fileobj, key.data
                if mask & selectors.EVENT_WRITE:
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code:
                        raise ClientFailure("connect #%d: %s" % (state[0], os.strerror(code)))
                    sock.send(state[1])
                    sel.modify(sock, selectors.EVENT_READ, state)
                    continue
                data = sock.recv(65536)
                if not data:
                    raise ClientFailure("connection #%d closed by the server while opening" % state[0])
                state[2] += data
                if len(state[2]) >= len(state[1]):
                    if bytes(state[2]) != state[1]:
                        raise ClientFailure("connection #%d echoed %r" % (state[0], bytes(state[2])))
                    sel.unregister(sock)
                    held.append(sock)
                    in_flight -= 1
    except BaseException:
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        for sock in held:
            sock.close()
        raise
    finally:
        sel.close()
    return held


def echo_all(socks, round_no, size=32, deadline=None):
    """Every socket sends a message at once; wait until every echo came back intact."""
    sel = selectors.DefaultSelector()
    try:
        for index, sock in enumerate(socks):
            expected = _message(index, round_no, size)
            sock.send(expected)  # small: the kernel takes it at once
            sel.register(sock, selectors.EVENT_READ, [index, expected, bytearray()])
        remaining = len(socks)
        while remaining:
            if deadline and time.monotonic() > deadline:
                raise ClientFailure("echo round %d: %d echoes missing" % (round_no, remaining))
            for key, _ in sel.select(timeout=1.0):
                sock, state = key.fileobj, key.data
                data = sock.recv(65536)
                if not data:
                    raise ClientFailure("connection #%d closed by the server" % state[0])
                state[2] += data
                if len(state[2]) >= len(state[1]):
                    if bytes(state[2]) != state[1]:
                        raise ClientFailure("connection #%d echoed %r" % (state[0], bytes(state[2])))
                    sel.unregister(sock)
                    remaining -= 1
    finally:
        sel.close()


def churn(port, count, concurrency, size=64, deadline=None):
    """Connect, echo one message, half-close, read to the server's FIN, close; *count* times.

    Returns ``(seconds, errors)``; errors are ``(index, reason)`` (at most 20 kept).
    """
    sel = selectors.DefaultSelector()
    started = finished = in_flight = 0
    errors = []
    begin = time.monotonic()

    def fail(sock, state, reason):
        nonlocal finished, in_flight
        if len(errors) < 20:
            errors.append((state[0], reason))
        sel.unregister(sock)
        sock.close()
        finished += 1
        in_flight -= 1

    try:
        while finished < count:
            while in_flight < concurrency and started < count:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                code = sock.connect_ex((HOST, port))
                state = [started, _message(started, 0, size), bytearray()]
                started += 1
                in_flight += 1
                sel.register(sock, selectors.EVENT_WRITE, state)
                if code not in (0, errno.EINPROGRESS):
                    fail(sock, state, "connect: " + os.strerror(code))
            if deadline and time.monotonic() > deadline:
                raise ClientFailure("churn: deadline passed after %d connections" % finished)
            for key, mask in sel.select(timeout=1.0):
                sock, state = key.fileobj, key.data
                try:
                    if mask & selectors.EVENT_WRITE:
                        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if code:
                            fail(sock, state, "connect: " + os.strerror(code))
                            continue
                        sock.send(state[1])
                        sock.shutdown(socket.SHUT_WR)
                        sel.modify(sock, selectors.EVENT_READ, state)
                        continue
                    data = sock.recv(65536)
                except OSError as error:
                    fail(sock, state, str(error))
                    continue
                if data:
                    state[2] += data
                    continue
                if bytes(state[2]) != state[1]:
                    fail(sock, state, "echoed %r" % bytes(state[2][:80]))
                    continue
                sel.unregister(sock)
                sock.close()
                finished += 1
                in_flight -= 1
    finally:
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        sel.close()
    return time.monotonic() - begin, errors


def _stdin_lines():
    for line in sys.stdin:
        yield line.strip()


def role_hold(args):
    set_nofile(args.n + 64)
    deadline = time.monotonic() + args.timeout
    begin = time.monotonic()
    socks = open_and_echo(args.port, args.n, args.concurrency, deadline=deadline)
    emit_json(event="held", n=len(socks), seconds=round(time.monotonic() - begin, 3))
    round_no = 0
    for command in _stdin_lines():
        if command == "echo":
            round_no += 1
            begin = time.monotonic()
            echo_all(socks, round_no, deadline=time.monotonic() + args.timeout)
            emit_json(event="echoed", n=len(socks), seconds=round(time.monotonic() - begin, 3))
        elif command == "close":
            for sock in socks:
                sock.close()
            socks = []
            emit_json(event="closed")
    return 0


def role_churn(args):
    set_nofile(args.concurrency + 64)
    seconds, errors = churn(args.port, args.n, args.concurrency,
                            deadline=time.monotonic() + args.timeout)
    emit_json(event="churned", n=args.n, seconds=round(seconds, 3), rate=round(args.n / seconds, 1),
              errors=errors)
    return 0 if not errors else 1


def stream_blocks(total, seed=2024, block=1 << 20):
    """The producer's stream: *total* bytes of 1 MiB blocks, each a different rotation of one
    random block, so a lost, repeated or reordered piece changes the hash."""
    base = random.Random(seed).getrandbits(8 * (block + 13)).to_bytes(block + 13, "little")
    sent = 0
    index = 0
    while sent < total:
        shift = (index * 104729) % len(base)
        piece = (base[shift:] + base[:shift])[: min(block, total - sent)]
        yield piece
        sent += len(piece)
        index += 1


# The pipe consumer stops reading once, for this long, after this many bytes.
CONSUMER_STALL_AFTER = 16 << 20
CONSUMER_STALL_SECONDS = 1.0


def role_pipe_ends(args):
    total = args.mib << 20
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(1)
    emit_json(event="consumer", port=listener.getsockname()[1])
    result = {}

    def consume():
        conn, _ = listener.accept()
        digest = hashlib.sha256()
        received = 0
        rate = args.consumer_mbps * 1e6
        stall_at = min(CONSUMER_STALL_AFTER, total // 2)
        begin = time.monotonic()
        while True:
            data = conn.recv(65536)
            if not data:
                break
            digest.update(data)
            received += len(data)
            if stall_at is not None and received >= stall_at:
                # The rate alone pushes back only if the producer outruns it, which a
                # loaded 2-core machine may not (seen: 139 MB/s, no pause at all).
                time.sleep(CONSUMER_STALL_SECONDS)
                begin += CONSUMER_STALL_SECONDS  # the rate limit does not catch up after it
                stall_at = None
            ahead = received / rate - (time.monotonic() - begin)
            if ahead > 0.002:
                time.sleep(ahead)  # slow: at most *rate* bytes per second
        conn.close()
        result.update(received=received, received_sha256=digest.hexdigest(),
                      consumer_seconds=round(time.monotonic() - begin, 3))

    command = sys.stdin.readline().split()
    if not command or command[0] != "go":
        return 2
    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    producer = socket.create_connection((HOST, int(command[1])))
    digest = hashlib.sha256()
    begin = time.monotonic()
    sent = 0
    for piece in stream_blocks(total):
        digest.update(piece)
        producer.sendall(piece)
        sent += len(piece)
    producer.shutdown(socket.SHUT_WR)
    produced = time.monotonic() - begin
    consumer.join(args.timeout)
    producer.close()
    emit_json(event="piped", sent=sent, sent_sha256=digest.hexdigest(), producer_seconds=round(produced, 3),
              seconds=round(time.monotonic() - begin, 3), **result)
    return 0 if result.get("received_sha256") == digest.hexdigest() else 1


# ---------------------------------------------------------------------------
# driving the roles from another process (the tests, and the soak below)


class Child:
    """One role of this script in a subprocess; JSON lines out, commands in.

    Reading is cooperative (gevent waits on the pipe), so a test may serve
    nodenet_gevent connections in its own process meanwhile, plain or
    monkey-patched.  ``stop()`` kills it if it is still running.
    """

    def __init__(self, role, *args, monkey=False, timeout=600):
        command = [sys.executable, str(HERE), role, *[str(a) for a in args], "--timeout", str(timeout)]
        if monkey:
            command.append("--monkey")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.role = role
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env, close_fds=True)
        self.pid = self.proc.pid
        self._out = self.proc.stdout.fileno()
        os.set_blocking(self._out, False)
        self._buffer = b""

    def read(self, timeout=60):
        """The next JSON line as a dict; ``ClientFailure`` on EOF or timeout."""
        import gevent.socket

        end = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = end - time.monotonic()
            if left <= 0:
                raise ClientFailure("%s printed nothing within %ss; stderr: %s" % (self.role, timeout, self.errors()))
            try:
                chunk = os.read(self._out, 65536)
            except BlockingIOError:
                try:
                    gevent.socket.wait_read(self._out, timeout=min(left, 1.0))
                except gevent.socket.timeout:
                    pass
                continue
            if not chunk:
                raise ClientFailure("%s exited (%s); stderr: %s" % (self.role, self.wait(5), self.errors()))
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def expect(self, event, timeout=60):
        message = self.read(timeout)
        if message.get("event") != event:
            raise ClientFailure("%s: expected %r, got %r; stderr: %s" % (self.role, event, message, self.errors()))
        return message

    def send(self, line):
        os.write(self.proc.stdin.fileno(), (line + "\n").encode())

    def ask(self, command, timeout=60, reply=None):
        """Send *command*; its reply (the event named *reply*, by default the command's name)."""
        self.send(command)
        return self.expect(reply or command.split()[0], timeout)

    def wait(self, timeout):
        """Exit status, or ``None`` if still running after *timeout* seconds (cooperative)."""
        import gevent

        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            gevent.sleep(0.02)
        return self.proc.poll()

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-4000:]

    def stop(self):
        """Stop the process (closing its stdin, then killing it); returns what it printed on stderr."""
        if self.stderr.closed:
            return self._stderr_text
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            if self.wait(2) is None:
                self.proc.kill()
                self.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr_text = self.errors()
        self.stderr.close()
        return self._stderr_text

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_server(monkey=False, *args, timeout=3 * 3600):
    """A ``server`` role (``args`` are its options) once it listens; ``.port`` is its port."""
    server = Child("server", *args, monkey=monkey, timeout=timeout)
    hello = server.expect("listening", timeout=30)
    server.port = hello["port"]
    return server


class _Shared:
    """A server the caller owns (for the soak's long-lived servers): not stopped here."""

    def __init__(self, server):
        self.server = server

    def __enter__(self):
        return self.server

    def __exit__(self, *exc):
        pass


def _server(server, monkey, *args):
    return _Shared(server) if server is not None else start_server(monkey, *args)


def _stop(server, shared):
    return "" if shared else server.stop()


def measure_hold(count, monkey=False, concurrency=256, echo_rounds=2, server=None):
    """Hold *count* connections; every one echoes *echo_rounds* more times, all at once.

    On a fresh server, or on *server* (left running).
    """
    with _server(server, monkey) as echo:
        before = echo.ask("stats")
        with Child("hold", "--port", echo.port, "-n", count, "--concurrency", concurrency) as client:
            held = client.expect("held", timeout=300)
            during = _swept(echo, before)
            echoes = []
            for _ in range(echo_rounds):
                echoes.append(client.ask("echo", timeout=300, reply="echoed")["seconds"])
            client.ask("close", timeout=120, reply="closed")
        after = _settled(echo, before)
        errors = _stop(echo, server is not None)
    return {
        "held": held["n"], "open_seconds": held["seconds"], "echo_seconds": echoes,
        "before": before, "during": during, "after": after, "server_stderr": errors,
    }


def _swept(server, before):
    """Server stats once its held connections are dormant: no reader greenlet each (or the time is up).

    A reader goes dormant as soon as it has read what came (``nodenet_gevent/dormant.py``);
    a handler that blocked keeps its greenlet until it returns.
    """
    import gevent

    idle = before["greenlets_alive"] - before["pooled"]
    end = time.monotonic() + 5
    while True:
        stats = server.ask("stats")
        if stats["greenlets_alive"] - stats["pooled"] <= idle or time.monotonic() > end:
            return stats
        gevent.sleep(0.1)


def _settled(server, before, timeout=60):
    """Server stats once every connection has closed (and descriptors are back)."""
    import gevent

    end = time.monotonic() + timeout
    while True:
        stats = server.ask("stats")
        if (stats["connections"] == 0 and stats["fds"] <= before["fds"]) or time.monotonic() > end:
            return stats
        gevent.sleep(0.1)


def measure_churn(count, monkey=False, concurrency=50, warmup=2000, server=None):
    """Churn *count* connections; the server's stats after a warm-up and afterwards."""
    with _server(server, monkey) as echo:
        if warmup:
            with Child("churn", "--port", echo.port, "-n", warmup, "-c", concurrency) as client:
                client.expect("churned", timeout=300)
        before = _settled(echo, {"fds": 10 ** 9})
        limit = max(600, count / 200.0)  # seconds: even at 200 connections/s
        with Child("churn", "--port", echo.port, "-n", count, "-c", concurrency, timeout=limit) as client:
            result = client.expect("churned", timeout=limit)
        after = _settled(echo, before)
        errors = _stop(echo, server is not None)
    return {
        "churned": count, "seconds": result["seconds"], "rate": result["rate"], "errors": result["errors"],
        "before": before, "after": after, "server_stderr": errors,
    }


def measure_pipe(mib, monkey=False, consumer_mbps=200.0, sample_every=0.05, proxy=None):
    """*mib* MiB, producer -> nodenet pipe() proxy -> slow consumer; the proxy's RSS watched.

    On a fresh proxy, or on *proxy* (a ``server --proxy-to 0`` left running).
    """
    import gevent

    limit = max(600, 4 * (mib << 20) / (consumer_mbps * 1e6))  # seconds
    with Child("pipe-ends", "--mib", mib, "--consumer-mbps", consumer_mbps, timeout=limit) as ends:
        consumer_port = ends.expect("consumer")["port"]
        with _server(proxy, monkey, "--proxy-to", consumer_port) as relay:
            relay.ask("target %d" % consumer_port)
            baseline = relay.ask("reset-peak")
            before = relay.ask("stats")
            samples = []
            ends.send("go %d" % relay.port)
            watcher = gevent.spawn(_sample_rss, relay.pid, samples, sample_every)
            try:
                result = ends.expect("piped", timeout=limit)
            finally:
                watcher.kill()
            stats = _settled(relay, {"fds": 10 ** 9})
            errors = _stop(relay, proxy is not None)
    peak = max(stats["hwm_kib"], max(samples or [0]))
    return dict(
        result,
        mib=mib,
        baseline_rss_kib=baseline["VmRSS"],
        peak_rss_kib=peak,
        growth_kib=peak - baseline["VmRSS"],
        pauses=stats["pauses"] - before["pauses"],
        max_buffer=stats["max_buffer"],
        proxy_stats=stats,
        server_stderr=errors,
    )


def _sample_rss(pid, samples, every):
    import gevent

    while True:
        try:
            samples.append(proc_status(pid)["VmRSS"])
        except (OSError, KeyError):
            return
        gevent.sleep(every)


# ---------------------------------------------------------------------------
# the soak itself

#: RSS growth (KiB) of a churned server, warm-up to afterwards, still counted as noise.
CHURN_RSS_NOISE_KIB = 8 * 1024
#: Peak RSS (KiB) the pipe proxy may add above its RSS before the transfer.
PIPE_RSS_BOUND_KIB = 8 * 1024


def check_round(hold, churned, piped):
    """Problems found in one round's figures (empty when all is well)."""
    problems = []
    if hold["held"] != hold["during"]["connections"]:
        problems.append("hold: server saw %d connections of %d" % (hold["during"]["connections"], hold["held"]))
    for name, result, slack in (("hold", hold, 1), ("churn", churned, 0)):
        # hold's "before" may precede the server's first connection: afterwards the
        # acceptor's frame still references the last accepted (closed) socket, and it
        # its finished reader greenlet -- one dead greenlet, whatever the number of
        # connections.  churn's "before" follows other connections: exact there.
        before, after = result["before"], result["after"]
        if after["fds"] > before["fds"]:
            problems.append("%s: fds %d -> %d" % (name, before["fds"], after["fds"]))
        # Not counted: the idle greenlets the dormant readers keep pooled (dormant.py).
        pooled = after.get("pooled", 0) - before.get("pooled", 0)
        if (after["greenlets_alive"] - pooled > before["greenlets_alive"]
                or after["greenlets"] - pooled > before["greenlets"] + slack):
            problems.append("%s: greenlets %d -> %d" % (name, before["greenlets"], after["greenlets"]))
        if "Traceback" in result["server_stderr"]:
            problems.append("%s: server printed %s" % (name, result["server_stderr"][-500:]))
    if churned["errors"]:
        problems.append("churn errors: %r" % churned["errors"][:3])
    growth = churned["after"]["rss_kib"] - churned["before"]["rss_kib"]
    if growth > CHURN_RSS_NOISE_KIB:
        problems.append("churn: RSS grew %d KiB" % growth)
    if piped.get("received_sha256") != piped["sent_sha256"] or piped.get("received") != piped["sent"]:
        problems.append("pipe: bytes lost or changed")
    if piped["growth_kib"] > PIPE_RSS_BOUND_KIB:
        problems.append("pipe: RSS grew %d KiB above the %d KiB bound" % (piped["growth_kib"], PIPE_RSS_BOUND_KIB))
    return problems


def soak(options):
    """Rounds of hold, churn and pipe against one echo server and one proxy that live
    for the whole soak, so that anything that accumulates shows up as drift."""
    started = time.monotonic()
    rounds = []
    failed = False
    echo = start_server(options.monkey)
    proxy = start_server(options.monkey, "--proxy-to", 0)
    try:
        first = None
        while True:
            hold = measure_hold(options.hold, options.monkey, server=echo)
            churned = measure_churn(options.churn, options.monkey, options.concurrency,
                                    warmup=2000 if not rounds else 0, server=echo)
            piped = measure_pipe(options.pipe_mib, options.monkey, options.consumer_mbps, proxy=proxy)
            problems = check_round(hold, churned, piped)
            first = first or churned["after"]
            last = churned["after"]
            drift_kib = last["rss_kib"] - first["rss_kib"]
            if last["fds"] != first["fds"] or last["greenlets"] != first["greenlets"]:
                problems.append("drift since round 1: fds %d -> %d, greenlets %d -> %d" % (
                    first["fds"], last["fds"], first["greenlets"], last["greenlets"]))
            if drift_kib > CHURN_RSS_NOISE_KIB:
                problems.append("drift since round 1: RSS +%d KiB" % drift_kib)
            failed = failed or bool(problems)
            line = {
                "round": len(rounds) + 1,
                "minutes": round((time.monotonic() - started) / 60, 1),
                "held": hold["held"], "open_s": hold["open_seconds"], "echo_all_s": hold["echo_seconds"],
                "held_rss_mib": round(hold["during"]["rss_kib"] / 1024, 1),
                "hold_fds": [hold["before"]["fds"], hold["during"]["fds"], hold["after"]["fds"]],
                "hold_greenlets": [hold["before"]["greenlets"], hold["during"]["greenlets"],
                                   hold["after"]["greenlets"]],
                "churned": churned["churned"], "churn_rate": churned["rate"],
                "churn_fds": [churned["before"]["fds"], churned["after"]["fds"]],
                "churn_greenlets": [churned["before"]["greenlets"], churned["after"]["greenlets"]],
                "churn_rss_kib": [churned["before"]["rss_kib"], churned["after"]["rss_kib"]],
                "rss_drift_kib": drift_kib,
                "pipe_mib": piped["mib"], "pipe_s": piped["seconds"], "pipe_rss_growth_kib": piped["growth_kib"],
                "pipe_pauses": piped["pauses"], "pipe_max_buffer": piped["max_buffer"],
                "pipe_sha256_ok": piped.get("received_sha256") == piped["sent_sha256"],
                "problems": problems,
            }
            rounds.append(line)
            print(json.dumps(line), flush=True)
            if time.monotonic() - started >= options.minutes * 60:
                break
    finally:
        errors = echo.stop() + proxy.stop()
    if "Traceback" in errors:
        failed = True
        print("the servers printed:\n" + errors[-3000:])
    print()
    print("| round | held | echo all (s) | churned | conn/s | fds before/after | greenlets before/after "
          "| RSS KiB before/after | RSS drift KiB | pipe MiB | pipe s | pipe RSS growth KiB | ok |")
    print("|---:|---:|---|---:|---:|---|---|---|---:|---:|---:|---:|---|")
    for r in rounds:
        print("| %d | %d | %s | %d | %.0f | %d/%d | %d/%d | %d/%d | %d | %d | %.1f | %d | %s |" % (
            r["round"], r["held"], "/".join("%.2f" % s for s in r["echo_all_s"]), r["churned"], r["churn_rate"],
            r["churn_fds"][0], r["churn_fds"][1], r["churn_greenlets"][0], r["churn_greenlets"][1],
            r["churn_rss_kib"][0], r["churn_rss_kib"][1], r["rss_drift_kib"], r["pipe_mib"], r["pipe_s"],
            r["pipe_rss_growth_kib"], "yes" if not r["problems"] else "NO: " + "; ".join(r["problems"])))
    print()
    print("bounds: churn RSS noise and drift <= %d KiB, pipe RSS growth <= %d KiB; "
          "%d round(s) in %.1f minutes: %s" % (CHURN_RSS_NOISE_KIB, PIPE_RSS_BOUND_KIB, len(rounds),
                                             (time.monotonic() - started) / 60, "FAILED" if failed else "ok"))
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monkey", action="store_true", help="gevent.monkey.patch_all() in the server")
    parser.add_argument("--timeout", type=float, default=3600, help="alarm() for this process (seconds)")
    sub = parser.add_subparsers(dest="role")

    server = sub.add_parser("server")
    server.add_argument("--proxy-to", type=int, default=None)
    server.add_argument("--nofile", type=int, default=None)
    server.add_argument("--max-connections", type=int, default=None)
    hold = sub.add_parser("hold")
    hold.add_argument("--port", type=int, required=True)
    hold.add_argument("-n", type=int, required=True)
    hold.add_argument("--concurrency", type=int, default=256)
    churn_ = sub.add_parser("churn")
    churn_.add_argument("--port", type=int, required=True)
    churn_.add_argument("-n", type=int, required=True)
    churn_.add_argument("-c", "--concurrency", type=int, default=50)
    ends = sub.add_parser("pipe-ends")
    ends.add_argument("--mib", type=int, required=True)
    ends.add_argument("--consumer-mbps", type=float, default=200.0)
    for p in (server, hold, churn_, ends):
        p.add_argument("--monkey", action="store_true", help=argparse.SUPPRESS)
        p.add_argument("--timeout", type=float, default=3600, help=argparse.SUPPRESS)

    parser.add_argument("--minutes", type=float, default=10.0, help="keep running rounds this long (default 10)")
    parser.add_argument("--hold", type=int, default=10000, help="connections held (default 10,000)")
    parser.add_argument("--churn", type=int, default=100000, help="connections churned per round (default 100,000)")
    parser.add_argument("--concurrency", type=int, default=50, help="churn connections in flight (default 50)")
    parser.add_argument("--pipe-mib", type=int, default=1024, help="MiB piped per round (default 1024)")
    parser.add_argument("--consumer-mbps", type=float, default=200.0, help="slow consumer's rate (default 200 MB/s)")
    options = parser.parse_args(argv)

    if options.role is not None:
        signal.alarm(int(options.timeout) + 1)  # never outlive the test that started us
    if options.role == "server":
        return role_server(options)
    if options.role == "hold":
        return role_hold(options)
    if options.role == "churn":
        return role_churn(options)
    if options.role == "pipe-ends":
        return role_pipe_ends(options)
    set_nofile(None)
    return soak(options)


if __name__ == "__main__":
    sys.exit(main())
