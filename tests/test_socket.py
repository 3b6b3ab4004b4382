"""Socket: connect forms, lifecycle, data rules, flow control, errors -- over real loopback."""

import errno
import os
import socket as stdlib_socket
import time

import gevent
import pytest

import nodenet_gevent as net
from conftest import MONKEY, event_flag, read_all, wait_until

pytestmark = pytest.mark.timeout(30)


def echo(c):
    c.pipe(c)


# ---------------------------------------------------------------------------
# connect forms


@pytest.mark.parametrize(
    "form",
    ["port-host-cb", "options-cb", "kwargs", "port-only", "numeric-string", "socket-connect"],
)
def test_connect_forms(track, must_call, form):
    server = track.listen(echo, host="::")  # dual stack, so 'localhost' works as either family
    port = server.address()["port"]
    on_connect = must_call()
    if form == "port-host-cb":
        sock = track.connect(port, "localhost", on_connect)
    elif form == "options-cb":
        sock = track.connect({"port": port, "host": "127.0.0.1"}, on_connect)
    elif form == "kwargs":
        sock = track.connect(port=port, host="127.0.0.1", callback=on_connect)
    elif form == "port-only":
        sock = track.connect(port, on_connect)
    elif form == "numeric-string":
        sock = track.connect(str(port), "127.0.0.1", on_connect)
    else:
        sock = net.Socket()
        track.sockets.append(sock)
        assert sock.connect(port, "127.0.0.1", on_connect) is sock
    net.once(sock, "connect", timeout=5)
    sock.end(b"ping")
    assert read_all(sock) == b"ping"


def test_create_connection_aliases_are_connect():
    assert net.createConnection is net.connect is net.create_connection
    assert net.Stream is net.Socket
    assert net.createServer is net.create_server


def test_connect_unix_path_forms(track, must_call):
    server, path = track.listen_unix(echo)
    for target in (path, {"path": path}):
        sock = track.connect(target, must_call())
        net.once(sock, "connect", timeout=5)
        sock.end("unix")
        assert read_all(sock) == b"unix"
    assert server.address() == path


@pytest.mark.skipif(not os.path.exists("/proc/net/unix"), reason="Linux's abstract Unix namespace")
def test_abstract_unix_name_has_no_remote_address_fields(track):
    # node: remoteAddress/remoteFamily/remotePort are undefined on a Unix socket,
    # an abstract name (a leading NUL; getpeername() gives bytes) included.
    name = "\0nodenet-test-%d-%d" % (os.getpid(), id(track))
    accepted = []
    server = track.server(lambda c: (accepted.append(c), c.pipe(c)))
    server.listen(name)
    net.once(server, "listening", timeout=5)
    assert server.address() == name
    assert not os.path.exists(name[1:])
    sock = track.connect(name)
    net.once(sock, "connect", timeout=5)
    wait_until(lambda: accepted, message="accepted")
    for side in (sock, accepted[0]):
        assert (side.remote_address, side.remote_family, side.remote_port) == (None, None, None)
    sock.end(b"abstract")
    assert read_all(sock) == b"abstract"


def test_connect_event_not_missed_when_registered_after_call(track):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    assert sock.connecting and sock.pending and sock.ready_state == "opening"
    net.once(sock, "connect", timeout=5)  # registered after connect() returned
    assert not sock.connecting and not sock.pending and sock.readyState == "open"


def test_lookup_event_for_names_only(track):
    server = track.listen(echo)
    port = server.address()["port"]
    sock = track.connect(port, "localhost")
    err, address, family, host = net.once(sock, "lookup", timeout=5)
    assert err is None and host == "localhost"
    assert net.is_ip(address) == family
    by_ip = track.connect(port, "127.0.0.1")
    lookups = []
    by_ip.on("lookup", lambda *a: lookups.append(a))
    net.once(by_ip, "connect", timeout=5)
    assert lookups == []


# ---------------------------------------------------------------------------
# lifecycle


def test_event_order_client_ends_first(track):
    server_events = []

    def handler(c):
        for name in ("end", "finish"):
            c.on(name, lambda name=name: server_events.append(name))
        c.on("close", lambda had_error: server_events.append(("close", had_error)))
        c.resume()

    server = track.listen(handler)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    events = []
    for name in ("connect", "end", "finish"):
        sock.on(name, lambda name=name: events.append(name))
    sock.on("close", lambda had_error: events.append(("close", had_error)))
    sock.resume()
    sock.end()
    net.once(sock, "close", timeout=5)
    assert events == ["connect", "finish", "end", ("close", False)]
    wait_until(lambda: server_events[-1:] and server_events[-1][0] == "close", message="server-side close")
    assert server_events == ["end", "finish", ("close", False)]


def test_close_emitted_exactly_once_and_destroy_twice_harmless(track, must_call):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    sock.on("close", must_call(lambda had_error: None))
    net.once(sock, "connect", timeout=5)
    closed = event_flag(sock, "close")
    sock.destroy()
    sock.destroy()
    assert sock.destroyed and sock.ready_state == "closed"
    assert closed.wait(5) and closed.args == (False,)


def test_allow_half_open_keeps_server_writable(track):
    def handler(c):
        got = []
        c.on("data", got.append)
        c.on("end", lambda: (c.write(b"reply after end:" + b"".join(got)), c.end()))

    server = track.listen(handler, allowHalfOpen=True)
    sock = track.connect(server.address()["port"], "127.0.0.1", allowHalfOpen=True)
    sock.end(b"question")
    assert read_all(sock) == b"reply after end:question"


def test_without_allow_half_open_peer_fin_ends_our_side(track):
    ended = []

    def handler(c):
        c.on("end", lambda: ended.append(c.ready_state))
        c.resume()

    server = track.listen(handler)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    closed = event_flag(sock, "close")
    sock.end()
    sock.resume()
    # The server's socket ends itself: our socket sees 'end' without writing more.
    net.once(sock, "end", timeout=5)
    assert closed.wait(5)
    assert ended == ["writeOnly"]


def test_fin_without_listener_still_ends(track):
    server = track.listen(lambda c: c.end())
    sock = track.connect(server.address()["port"], "127.0.0.1")
    net.once(sock, "end", timeout=5)
    net.once(sock, "close", timeout=5)


def test_reconnect_after_close_resets_counters(track):
    server = track.listen(echo)
    port = server.address()["port"]
    sock = net.Socket()
    track.sockets.append(sock)
    for _ in range(2):
        sock.connect(port, "127.0.0.1")
        sock.end(b"12345")
        assert read_all(sock) == b"12345"
        net.once(sock, "close", timeout=5)
        assert sock.bytes_read == 5 and sock.bytes_written == 5
        sock.remove_all_listeners("data")


# ---------------------------------------------------------------------------
# data rules


def test_no_data_lost_before_first_listener(track):
    server = track.listen(lambda c: c.end(b"early bird"))
    sock = track.connect(server.address()["port"], "127.0.0.1")
    net.once(sock, "connect", timeout=5)
    gevent.sleep(0.1)  # the data and FIN arrive while nobody listens
    assert read_all(sock) == b"early bird"


def test_held_data_is_bounded_then_reader_parks(track):
    blob = os.urandom(4 * 1024 * 1024)

    def handler(c):
        c.end(blob)

    server = track.listen(handler)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    net.once(sock, "connect", timeout=5)
    wait_until(lambda: sock._held_size >= sock._hwm, message="data held up to the mark")
    gevent.sleep(0.1)  # more data is waiting in the kernel; it must stay there
    held = sock._held_size
    assert sock._hwm <= held < sock._hwm + sock.READ_SIZE
    assert sock.bytes_read == held
    assert read_all(sock) == blob


def test_explicit_pause_wins_over_new_data_listener(track):
    server = track.listen(lambda c: c.write(b"x"))
    sock = track.connect(server.address()["port"], "127.0.0.1")
    sock.pause()
    got = []
    sock.on("data", got.append)
    net.once(sock, "connect", timeout=5)
    gevent.sleep(0.1)
    assert got == [] and sock.is_paused()
    sock.resume()
    wait_until(lambda: got, message="data after resume")
    assert got == [b"x"]


def test_paused_socket_does_not_read_so_peer_sees_back_pressure(track):
    writer = {}

    def handler(c):
        writer["c"] = c

        def pump():
            while c.write(b"z" * 65536):
                pass
            writer["blocked_at"] = c.bytes_written

        pump()
        c.on("drain", lambda: writer.setdefault("drained", True))

    server = track.listen(handler)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    sock.pause()
    net.once(sock, "connect", timeout=5)
    gevent.sleep(0.3)
    assert sock.bytes_read == 0  # paused before any data: no recv at all
    c = writer["c"]
    assert c.buffer_size > 0
    sock.resume()
    sock.on("data", lambda d: None)
    net.once(c, "drain", timeout=5)


def test_set_encoding_never_splits_characters(track):
    text = "한국어 텍스트 €𝄞" * 500
    payload = text.encode("utf-8")

    def handler(c):
        # one byte at a time, each in its own send
        for i in range(0, 60):
            c.write(payload[i:i + 1])
        c.end(payload[60:])

    server = track.listen(handler)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    sock.set_encoding("utf8")
    chunks = []
    sock.on("data", chunks.append)
    net.once(sock, "end", timeout=5)
    assert all(isinstance(c, str) for c in chunks)
    assert "".join(chunks) == text
    assert "\ufffd" not in "".join(chunks)


def test_write_accepts_str_bytes_bytearray_memoryview_in_order(track):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    buf = bytearray(b"ba")
    sock.write(b"by")
    sock.write(buf)
    buf[:] = b"XX"  # mutation after write must not change what was sent
    sock.write(memoryview(b"mv"))
    sock.write("68656c6c6f", "hex")
    sock.write("é")
    sock.end("!", "latin1")
    assert read_all(sock) == b"bybamvhello\xc3\xa9!"


def test_write_before_connect_is_held_until_connected(track):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    assert sock.write(b"queued") is True
    assert sock.buffer_size == 6 and sock.bufferSize == 6
    sock.end()
    assert read_all(sock) == b"queued"


def test_write_returns_false_at_high_water_mark_and_drain_follows(track, must_call):
    def handler(c):
        c.pause()  # nobody reads: the kernel buffers fill

    server = track.listen(handler)
    sock = track.connect(server.address()["port"], "127.0.0.1", highWaterMark=1024)
    net.once(sock, "connect", timeout=5)
    results = []
    chunk = b"q" * 4096
    while True:
        ok = sock.write(chunk)
        results.append(ok)
        if not ok:
            break
        if len(results) > 10000:
            pytest.fail("write never returned False")
    assert sock.buffer_size >= 1024
    sock.on("drain", must_call())
    peer = [s for s in track.sockets if s is not sock][0]
    peer.resume()
    net.once(sock, "drain", timeout=10)
    assert sock.buffer_size == 0


def test_write_callbacks_run_in_order_after_flush(track):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    order = []
    for i in range(5):
        sock.write(b"x" * 100000, lambda err, i=i: order.append((i, err)))
    sock.end()
    read_all(sock)
    assert order == [(i, None) for i in range(5)]


def test_write_callback_is_never_synchronous(track):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    net.once(sock, "connect", timeout=5)
    called = []
    sock.write(b"a", lambda err: called.append(err))
    assert called == []
    gevent.sleep(0.05)
    assert called == [None]


def test_write_after_end(track, must_call):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    sock.end()
    errors = []
    sock.on("error", errors.append)
    callback_errors = []
    assert sock.write(b"late", callback_errors.append) is False
    assert event_flag(sock, "close").wait(5)
    assert callback_errors[0].code == "ERR_STREAM_WRITE_AFTER_END"
    assert errors and errors[0].code == "ERR_STREAM_WRITE_AFTER_END"


def test_write_after_destroy_goes_to_callback_only(track):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    net.once(sock, "connect", timeout=5)
    sock.destroy()
    errors = []
    sock.on("error", errors.append)
    got = []
    sock.write(b"x", got.append)
    net.once(sock, "close", timeout=5)
    assert got[0].code == "ERR_STREAM_DESTROYED"
    assert errors == []


def test_writes_before_connect_fail_when_destroyed_before_connecting(track):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    got = []
    sock.write(b"x", got.append)
    sock.destroy()
    net.once(sock, "close", timeout=5)
    assert got[0].code == "ERR_SOCKET_CLOSED_BEFORE_CONNECTION"


def test_write_bad_type_raises_at_once():
    sock = net.Socket()
    with pytest.raises(TypeError) as info:
        sock.write(5)
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    with pytest.raises(ValueError) as info:
        sock.write("x", "klingon")
    assert info.value.code == "ERR_UNKNOWN_ENCODING"


def test_destroy_with_error_emits_error_then_close_true(track):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    net.once(sock, "connect", timeout=5)
    events = []
    sock.on("error", lambda e: events.append(("error", str(e))))
    sock.on("close", lambda had_error: events.append(("close", had_error)))
    closed = event_flag(sock, "close")
    sock.destroy(RuntimeError("boom"))
    assert events == []  # not synchronously
    assert closed.wait(5)
    assert events == [("error", "boom"), ("close", True)]


# ---------------------------------------------------------------------------
# errors


def test_connect_refused_is_node_shaped(track):
    probe = stdlib_socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    sock = track.connect(port, "127.0.0.1")
    closed = event_flag(sock, "close")
    with pytest.raises(ConnectionRefusedError) as info:
        net.once(sock, "connect", timeout=5)
    err = info.value
    assert err.code == "ECONNREFUSED" and err.errno == errno.ECONNREFUSED
    assert err.syscall == "connect" and err.address == "127.0.0.1" and err.port == port
    assert str(err) == "connect ECONNREFUSED 127.0.0.1:%d" % port
    assert closed.wait(5) and closed.args == (True,)


def test_unresolvable_host_is_enotfound(track):
    sock = track.connect(80, "no-such-host.invalid")
    with pytest.raises(stdlib_socket.gaierror) as info:
        net.once(sock, "connect", timeout=10)
    err = info.value
    assert err.code == "ENOTFOUND" and err.syscall == "getaddrinfo"
    assert err.hostname == "no-such-host.invalid"
    assert str(err) == "getaddrinfo ENOTFOUND no-such-host.invalid"


def test_connect_missing_unix_path_is_enoent(track, tmp_path):
    sock = track.connect(str(tmp_path / "nobody.sock"))
    with pytest.raises(FileNotFoundError) as info:
        net.once(sock, "connect", timeout=5)
    assert info.value.code == "ENOENT" and info.value.syscall == "connect"


@pytest.mark.parametrize(
    "args, kwargs, exc, code",
    [
        ((70000,), {}, ValueError, "ERR_SOCKET_BAD_PORT"),
        ((-1,), {}, ValueError, "ERR_SOCKET_BAD_PORT"),
        (({"port": True},), {}, TypeError, "ERR_INVALID_ARG_TYPE"),
        (({"port": 80, "host": 5},), {}, TypeError, "ERR_INVALID_ARG_TYPE"),
        (({},), {}, TypeError, "ERR_MISSING_ARGS"),
        (({"port": "abc"},), {}, ValueError, "ERR_SOCKET_BAD_PORT"),
        ((), {"port": 1.5}, ValueError, "ERR_SOCKET_BAD_PORT"),
        ((80, "localhost", "not callable"), {}, None, None),
    ],
)
def test_connect_bad_arguments_raise_at_once(args, kwargs, exc, code):
    if exc is None:  # a non-callable trailing argument is simply not a callback (Node)
        sock = net.connect(*args, **kwargs)
        sock.on("error", lambda e: None)
        sock.destroy()
        return
    with pytest.raises(exc) as info:
        net.connect(*args, **kwargs)
    assert info.value.code == code


def test_error_without_listener_destroys_only_that_socket(track):
    server = track.listen(echo)
    port = server.address()["port"]
    probe = stdlib_socket.socket()
    probe.bind(("127.0.0.1", 0))
    dead_port = probe.getsockname()[1]
    probe.close()
    doomed = track.connect(dead_port, "127.0.0.1")  # no 'error' listener (net.once would add one)
    assert event_flag(doomed, "close").wait(5)
    assert doomed.destroyed
    other = track.connect(port, "127.0.0.1")
    other.end(b"still fine")
    assert read_all(other) == b"still fine"


def test_handler_exception_destroys_only_its_connection(track):
    def handler(c):
        def on_data(d):
            if d.startswith(b"boom"):
                raise RuntimeError("handler bug")
            c.write(d)

        c.on("data", on_data)
        c.on("end", c.end)

    server = track.listen(handler)
    port = server.address()["port"]
    bad = track.connect(port, "127.0.0.1")
    bad.write(b"boom")
    bad.on("data", lambda d: None)
    net.once(bad, "close", timeout=5)
    good = track.connect(port, "127.0.0.1")
    good.end(b"ok")
    assert read_all(good) == b"ok"


# ---------------------------------------------------------------------------
# handlers may block


def test_blocking_data_handler_does_not_delay_other_connections(track):
    def handler(c):
        def on_data(d):
            if d == b"slow":
                gevent.sleep(2)
            c.write(d)

        c.on("data", on_data)

    server = track.listen(handler)
    port = server.address()["port"]
    slow = track.connect(port, "127.0.0.1")
    slow.write(b"slow")
    slow.on("data", lambda d: None)
    gevent.sleep(0.05)
    fast = track.connect(port, "127.0.0.1")
    net.once(fast, "connect", timeout=5)
    started = time.monotonic()
    fast.write(b"fast")
    (data,) = net.once(fast, "data", timeout=5)
    elapsed = time.monotonic() - started
    assert data == b"fast"
    assert elapsed < 1.0, "round trip on B waited for A's handler (%.2fs)" % elapsed


# ---------------------------------------------------------------------------
# timeouts and options


def test_set_timeout_emits_timeout_and_closes_nothing(track, must_call):
    server = track.listen(lambda c: c.resume())
    sock = track.connect(server.address()["port"], "127.0.0.1")
    assert sock.set_timeout(100, must_call()) is sock
    started = time.monotonic()
    net.once(sock, "timeout", timeout=5)
    assert time.monotonic() - started >= 0.09
    assert not sock.destroyed
    sock.set_timeout(0)
    sock.end(b"bye")


def test_set_timeout_reset_by_activity(track):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    sock.on("data", lambda d: None)
    timeouts = []
    sock.set_timeout(300, lambda: timeouts.append(time.monotonic()))
    net.once(sock, "connect", timeout=5)
    for _ in range(6):
        gevent.sleep(0.1)  # activity every 100 ms, well inside the 300 ms timeout
        sock.write(b"tick")
        last_activity = time.monotonic()
    assert timeouts == []
    net.once(sock, "timeout", timeout=5)
    assert time.monotonic() - last_activity >= 0.28


@pytest.mark.parametrize(
    "value, exc, code",
    [("x", TypeError, "ERR_INVALID_ARG_TYPE"), (-1, ValueError, "ERR_OUT_OF_RANGE"),
     (float("inf"), ValueError, "ERR_OUT_OF_RANGE")],
)
def test_set_timeout_bad_values(value, exc, code):
    with pytest.raises(exc) as info:
        net.Socket().setTimeout(value)
    assert info.value.code == code


def test_timeout_does_not_keep_run_alive(track):
    server = track.listen(echo)
    accepted = event_flag(server, "connection")
    sock = track.connect(server.address()["port"], "127.0.0.1")
    net.once(sock, "connect", timeout=5)
    assert accepted.wait(5)
    sock.set_timeout(60000)
    server.unref()
    sock.unref()
    for s in track.sockets:
        s.unref()
    started = time.monotonic()
    assert net.run(timeout=5) is True
    assert time.monotonic() - started < 2


def test_no_delay_and_keep_alive_set_socket_options(track):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    assert sock.set_no_delay() is sock and sock.setKeepAlive(True, 5000) is sock
    net.once(sock, "connect", timeout=5)
    raw = sock._handle
    assert raw.getsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY) == 1
    assert raw.getsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_KEEPALIVE) == 1
    assert raw.getsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_KEEPIDLE) == 5
    sock.setNoDelay(False)
    sock.set_keep_alive(False)
    assert raw.getsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY) == 0
    assert raw.getsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_KEEPALIVE) == 0


def test_addresses_and_counters(track):
    accepted = []
    server = track.listen(lambda c: (accepted.append(c), c.pipe(c)))
    port = server.address()["port"]
    sock = track.connect(port, "127.0.0.1")
    assert sock.address() == {}
    net.once(sock, "connect", timeout=5)
    local = sock.address()
    assert local["family"] == "IPv4" and local["address"] == "127.0.0.1"
    assert sock.localPort == local["port"] and sock.local_address == "127.0.0.1"
    assert sock.remoteAddress == "127.0.0.1" and sock.remote_port == port and sock.remoteFamily == "IPv4"
    sock.end(b"abcdef")
    assert read_all(sock) == b"abcdef"
    assert sock.bytesRead == 6 and sock.bytes_written == 6
    assert accepted[0].remote_port == local["port"]


def test_ipv6_loopback(track):
    if not stdlib_socket.has_ipv6:
        pytest.skip("no IPv6")
    server = track.listen(echo, host="::1")
    assert server.address()["family"] == "IPv6" and server.address()["address"] == "::1"
    sock = track.connect(server.address()["port"], "::1")
    net.once(sock, "connect", timeout=5)
    assert sock.remote_family == "IPv6" and sock.remote_address == "::1"
    sock.end(b"six")
    assert read_all(sock) == b"six"


# ---------------------------------------------------------------------------
# pipe


def test_pipe_moves_data_with_back_pressure_and_ends_destination(track):
    blob = os.urandom(3 * 1024 * 1024)
    sink_data = []

    def sink_handler(c):
        c.on("data", sink_data.append)

    sink = track.listen(sink_handler)

    def proxy_handler(c):
        upstream = net.connect(sink.address()["port"], "127.0.0.1")
        track.sockets.append(upstream)
        assert c.pipe(upstream) is upstream

    proxy = track.listen(proxy_handler)
    sock = track.connect(proxy.address()["port"], "127.0.0.1")
    sock.end(blob)
    net.once(sock, "finish", timeout=10)
    wait_until(lambda: sum(map(len, sink_data)) >= len(blob), timeout=10, message="all data at the sink")
    assert b"".join(sink_data) == blob


def test_unpipe_stops_the_flow(track):
    received = []
    server = track.listen(lambda c: c.on("data", received.append))
    dest = track.connect(server.address()["port"], "127.0.0.1")
    src_server = track.listen(lambda c: (c.write(b"first"), gevent.sleep(0.2), c.write(b"second")))
    src = track.connect(src_server.address()["port"], "127.0.0.1")
    src.pipe(dest, end=False)
    net.once(src, "data", timeout=5)
    src.unpipe(dest)
    gevent.sleep(0.4)
    assert b"".join(received) == b"first"
    assert src.is_paused()


# ---------------------------------------------------------------------------
# fd adoption, ref/unref, names


def test_socket_from_fd(track):
    left, right = stdlib_socket.socketpair()
    sock = net.Socket({"fd": left.detach(), "readable": True, "writable": True})
    track.sockets.append(sock)
    sock.write(b"over fd")
    assert right.recv(100) == b"over fd"
    right.sendall(b"back")
    right.shutdown(stdlib_socket.SHUT_WR)
    assert read_all(sock) == b"back"
    right.close()


def test_unref_socket_lets_run_return(track):
    server = track.listen(lambda c: None)
    server.unref()
    accepted = event_flag(server, "connection")
    sock = track.connect(server.address()["port"], "127.0.0.1")
    net.once(sock, "connect", timeout=5)
    assert accepted.wait(5)
    assert sock.unref() is sock
    for s in track.sockets:
        s.unref()
    assert net.run(timeout=5) is True
    assert sock.ref() is sock
    assert net.run(timeout=0.2) is False  # a ref'd open socket keeps the loop alive


def test_both_spellings_are_the_same_object():
    pairs = [
        ("setEncoding", "set_encoding"), ("setTimeout", "set_timeout"), ("setNoDelay", "set_no_delay"),
        ("setKeepAlive", "set_keep_alive"), ("bufferSize", "buffer_size"), ("remoteAddress", "remote_address"),
        ("remotePort", "remote_port"), ("localAddress", "local_address"), ("localPort", "local_port"),
        ("bytesRead", "bytes_read"), ("bytesWritten", "bytes_written"), ("readyState", "ready_state"),
    ]
    for node_name, py_name in pairs:
        assert getattr(net.Socket, node_name) is getattr(net.Socket, py_name), node_name
    for node_name, py_name in [("getConnections", "get_connections")]:
        assert getattr(net.Server, node_name) is getattr(net.Server, py_name)
    for node_name, py_name in [("isIP", "is_ip"), ("isIPv4", "is_ipv4"), ("isIPv6", "is_ipv6")]:
        assert getattr(net, node_name) is getattr(net, py_name)


def test_emitter_camel_case_methods():
    sock = net.Socket()
    calls = []
    f = calls.append
    assert sock.addListener("x", f) is sock
    sock.emit("x", 1)
    sock.removeListener("x", f)
    sock.emit("x", 2)
    sock.on("y", f)
    sock.removeAllListeners("y")
    sock.emit("y", 3)
    assert calls == [1]


def test_repr_shows_state(track):
    server = track.listen(lambda c: c.pause())
    sock = track.connect(server.address()["port"], "127.0.0.1", highWaterMark=1 << 30)
    net.once(sock, "connect", timeout=5)
    sock.pause()
    while sock.write(b"r" * 65536) and sock.buffer_size < 8 * 1024 * 1024:
        pass
    text = repr(sock)
    assert "read=paused" in text and "KiB" in text, text


def test_monkey_mode_is_what_the_runner_says():
    assert MONKEY == (os.environ.get("NODENET_MONKEY") == "1")


def test_run_outside_main_greenlet_is_a_clear_error():
    g = gevent.spawn(net.run)
    g.join(timeout=5)
    assert isinstance(g.exception, net.NodeError) and g.exception.code == "ERR_INVALID_STATE"


def test_write_callbacks_of_chunks_sent_together_run_once_when_one_destroys(track):
    """Queued writes coalesced into one send: a callback that destroys does not fail the others (they were sent)."""
    calls = []
    closed = []

    def on_connection(c):
        c.on("close", closed.append)  # after the failed writes' callbacks, if any (closing._emit_close)

        def after_hello(err):
            c.write("world!", None, lambda err: (calls.append(("world", err)), c.destroy()))
            c.write(" gosh", None, lambda err: calls.append(("gosh", err)))

        c.write("hello ", None, after_hello)

    server = track.listen(on_connection)
    client = track.connect(server.address()["port"], "127.0.0.1")
    received = read_all(client)
    assert received == b"hello world! gosh"
    wait_until(lambda: closed, message="the server side's 'close'")
    assert calls == [("world", None), ("gosh", None)]


# ---------------------------------------------------------------------------
# net.once(): the first emission decides


def test_once_raises_an_error_followed_by_close_in_the_same_run(track):
    from conftest import refused_port

    with refused_port() as port:
        sock = track.connect(port, "127.0.0.1")
        # The reader emits 'error' then 'close' without yielding in between.
        with pytest.raises(ConnectionRefusedError) as caught:
            net.once(sock, "close", timeout=5)
    assert caught.value.code == "ECONNREFUSED"


def test_once_returns_the_first_of_two_emissions():
    emitter = net.Socket()

    def emit_twice():
        emitter.emit("custom", 1)
        emitter.emit("custom", 2)
        emitter.emit("error", ValueError("after the event: not ours"))

    emitter.on("error", lambda error: None)
    gevent.spawn(emit_twice)
    assert net.once(emitter, "custom", timeout=5) == (1,)
