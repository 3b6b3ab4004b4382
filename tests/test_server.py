"""Server: listen forms, handles, options, close, limits, ref/unref, errors -- over real loopback."""

import errno
import json
import os
import shutil
import socket as stdlib_socket
import subprocess
import sys
import textwrap
import time
import warnings

import gevent
import gevent.event
import pytest

import nodenet_gevent as net
from conftest import event_flag, read_all, wait_until

pytestmark = pytest.mark.timeout(30)

HAS_IPV6 = stdlib_socket.has_ipv6 and os.path.exists("/proc/net/if_inet6")
needs_ipv6 = pytest.mark.skipif(not HAS_IPV6, reason="no IPv6")


def echo(c):
    c.pipe(c)


def roundtrip(track, port_or_path, host="127.0.0.1", payload=b"ping"):
    """Connect, send *payload*, end, and return what came back before 'end'."""
    if isinstance(port_or_path, str):
        sock = track.connect(port_or_path)
    else:
        sock = track.connect(port_or_path, host)
    sock.end(payload)
    return read_all(sock)


def refused(track, port, host="127.0.0.1"):
    """True if a connection to host:port is refused."""
    sock = track.connect(port, host)
    try:
        net.once(sock, "connect", timeout=5)
    except ConnectionRefusedError as error:
        assert error.code == "ECONNREFUSED"
        return True
    return False


def blocker(host="127.0.0.1", family=stdlib_socket.AF_INET):
    """A plain listening socket holding a port (SO_REUSEADDR set, as Node's would be)."""
    raw = stdlib_socket.socket(family, stdlib_socket.SOCK_STREAM)
    raw.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEADDR, 1)
    raw.bind((host, 0))
    raw.listen(5)
    return raw


def listen_backlog(port=None, path=None):
    """The accept-queue limit the kernel reports for a listening socket (``ss``'s Send-Q)."""
    if path is not None:
        out = subprocess.run(["ss", "-lxH", "src", path], stdout=subprocess.PIPE, check=True, timeout=10)
    else:
        out = subprocess.run(["ss", "-ltnH", "sport = :%d" % port], stdout=subprocess.PIPE, check=True, timeout=10)
    lines = out.stdout.decode().strip().splitlines()
    assert len(lines) == 1, lines
    return int(lines[0].split()[3 if path is not None else 2])


needs_ss = pytest.mark.skipif(shutil.which("ss") is None, reason="ss not installed")


# ---------------------------------------------------------------------------
# createServer forms


def test_create_server_forms(track, must_call):
    listener = must_call(echo, times=5)
    servers = [
        net.createServer(listener),
        net.createServer({"allowHalfOpen": False}, listener),
        net.create_server({}, listener),
        net.create_server(listener, pause_on_connect=False),
        net.Server(connection_listener=listener),
    ]
    for server in servers:
        assert isinstance(server, net.Server)
        track.servers.append(server)
        server.listen(0, "127.0.0.1")
        net.once(server, "listening", timeout=5)
        assert roundtrip(track, server.address()["port"]) == b"ping"
    assert net.createServer is net.create_server


def test_create_server_options_in_both_spellings_and_kwargs():
    for server in (
        net.createServer({"allowHalfOpen": True, "pauseOnConnect": True}),
        net.createServer({"allow_half_open": True, "pause_on_connect": True}),
        net.createServer(allowHalfOpen=True, pause_on_connect=True),
        net.createServer({"allowHalfOpen": False}, allow_half_open=True, pauseOnConnect=True),
    ):
        assert server._allow_half_open is True and server._pause_on_connect is True
    plain = net.createServer()
    assert plain._allow_half_open is False and plain._pause_on_connect is False
    assert plain.listeners("connection") == []


def test_create_server_bad_options_raise_at_once():
    # node: The "options" argument must be of type object. Received type number (5)
    with pytest.raises(TypeError) as info:
        net.createServer(5)
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    assert str(info.value) == 'The "options" argument must be of type dict. Received type number (5)'


# ---------------------------------------------------------------------------
# listen forms


@needs_ss
def test_listen_port_host_backlog_callback(track, must_call):
    server = track.server(echo)
    on_listening = must_call()
    assert server.listen(0, "127.0.0.1", 7, on_listening) is server
    net.once(server, "listening", timeout=5)
    address = server.address()
    assert address["address"] == "127.0.0.1" and address["family"] == "IPv4" and address["port"] > 0
    assert listen_backlog(address["port"]) == 7
    assert roundtrip(track, address["port"]) == b"ping"


@needs_ss
def test_listen_port_backlog_without_host(track):
    server = track.server(echo)
    server.listen(0, 9)
    net.once(server, "listening", timeout=5)
    assert listen_backlog(server.address()["port"]) == 9
    other = track.server(echo).listen(0, "127.0.0.1")
    net.once(other, "listening", timeout=5)
    assert listen_backlog(other.address()["port"]) == net.Server.BACKLOG


def test_listen_port_zero_picks_a_free_port(track):
    first, second = track.server(echo), track.server(echo)
    flags = [event_flag(first, "listening"), event_flag(second, "listening")]
    first.listen(0, "127.0.0.1")
    second.listen(0, "127.0.0.1")
    assert all(flag.wait(5) for flag in flags)
    ports = {first.address()["port"], second.address()["port"]}
    assert len(ports) == 2 and 0 not in ports
    for port in ports:
        assert roundtrip(track, port) == b"ping"


@pytest.mark.parametrize("form", ["no-args", "None", "callback", "None-callback", "kwargs-callback", "numeric-string"])
def test_listen_without_port_picks_a_random_port(track, must_call, form):
    server = track.server(echo)
    on_listening = must_call()
    if form == "no-args":
        server.listen()
        server.on("listening", on_listening)
    elif form == "None":
        server.listen(None)
        server.on("listening", on_listening)
    elif form == "callback":
        server.listen(on_listening)
    elif form == "None-callback":
        server.listen(None, on_listening)
    elif form == "kwargs-callback":
        server.listen(callback=on_listening)
    else:
        server.listen("0", "127.0.0.1", on_listening)
    net.once(server, "listening", timeout=5)
    port = server.address()["port"]
    assert isinstance(port, int) and 0 < port < 65536
    assert roundtrip(track, port) == b"ping"


@pytest.mark.parametrize("form", ["options", "kwargs", "numeric-string-port"])
def test_listen_options_and_kwargs(track, must_call, form):
    server = track.server(echo)
    on_listening = must_call()
    if form == "options":
        server.listen({"port": 0, "host": "127.0.0.1", "backlog": 3, "exclusive": True}, on_listening)
    elif form == "kwargs":
        server.listen(port=0, host="127.0.0.1", backlog=3, exclusive=True, callback=on_listening)
    else:
        server.listen({"port": "0", "host": "127.0.0.1"}, on_listening)
    net.once(server, "listening", timeout=5)
    assert server.address()["address"] == "127.0.0.1"
    if form != "numeric-string-port" and shutil.which("ss"):
        assert listen_backlog(server.address()["port"]) == 3
    assert roundtrip(track, server.address()["port"]) == b"ping"


def test_listen_port_wins_over_path_and_a_numeric_path_is_refused(track, sock_dir):
    # node: listen({port, host, path}) listens on the port; listen({path: '8124'}) throws
    path = os.path.join(sock_dir, "unused.sock")
    server = track.server(echo).listen({"port": 0, "host": "127.0.0.1", "path": path})
    net.once(server, "listening", timeout=5)
    assert server.address()["address"] == "127.0.0.1"
    assert not os.path.exists(path)
    with pytest.raises(TypeError) as info:
        track.server().listen({"path": "8124"})
    assert info.value.code == "ERR_INVALID_ARG_VALUE"
    assert str(info.value) == "The argument 'options' is invalid. Received {'path': '8124'}"


@needs_ipv6
def test_listen_empty_host_is_no_host(track):
    server = track.server(echo).listen(0, "")  # node: a falsy host listens on '::'
    net.once(server, "listening", timeout=5)
    assert server.address()["address"] == "::"


def test_listen_host_name_is_resolved(track):
    server = track.server(echo).listen(0, "localhost")
    net.once(server, "listening", timeout=5)
    address = server.address()
    assert address["address"] in ("127.0.0.1", "::1")
    assert roundtrip(track, address["port"], address["address"]) == b"ping"


def test_listen_unresolvable_host_is_an_error_event(track):
    server = track.server(echo)
    server.listen(0, "no-such-host.invalid")
    (error,) = net.once(server, "error", timeout=20)
    assert isinstance(error, stdlib_socket.gaierror)
    assert error.code == "ENOTFOUND"
    assert error.syscall == "getaddrinfo" and error.hostname == "no-such-host.invalid"
    assert str(error) == "getaddrinfo ENOTFOUND no-such-host.invalid"
    assert not server.listening and server.address() is None


def test_listen_host_that_cannot_be_encoded_is_enotfound_quietly(track, monkeypatch):
    reported = []
    hub = gevent.get_hub()
    original = hub.handle_error
    monkeypatch.setattr(hub, "handle_error", lambda *args: (reported.append(args), original(*args)))
    host = "x" * 70 + ".com"  # a label longer than 63: IDNA refuses it
    server = track.server(echo)
    server.listen(0, host)
    (error,) = net.once(server, "error", timeout=5)
    assert isinstance(error, stdlib_socket.gaierror) and isinstance(error.__cause__, UnicodeError)
    assert error.code == "ENOTFOUND" and str(error) == "getaddrinfo ENOTFOUND " + host
    assert reported == []  # nothing printed by gevent on the side


@needs_ipv6
def test_default_host_is_dual_stack_ipv6(track):
    peers = []
    server = track.server(lambda c: (peers.append(c.remote_address), c.pipe(c)))
    server.listen(0)
    net.once(server, "listening", timeout=5)
    address = server.address()
    assert address["family"] == "IPv6" and address["address"] == "::"
    port = address["port"]
    assert roundtrip(track, port, "127.0.0.1", b"four") == b"four"
    assert roundtrip(track, port, "::1", b"six") == b"six"
    # As in Node, an IPv4 peer of a dual-stack server is an IPv4-mapped address.
    assert peers == ["::ffff:127.0.0.1", "::1"]


@needs_ipv6
def test_ipv6_only_refuses_ipv4_clients(track):
    server = track.server(echo)
    server.listen({"port": 0, "host": "::", "ipv6Only": True})
    net.once(server, "listening", timeout=5)
    port = server.address()["port"]
    assert roundtrip(track, port, "::1") == b"ping"
    assert refused(track, port, "127.0.0.1")


@needs_ipv6
def test_ipv6_only_false_and_snake_case_spelling(track):
    server = track.server(echo)
    server.listen(port=0, host="::", ipv6_only=False)
    net.once(server, "listening", timeout=5)
    port = server.address()["port"]
    assert roundtrip(track, port, "127.0.0.1") == b"ping"
    assert roundtrip(track, port, "::1") == b"ping"


@pytest.mark.skipif(not hasattr(stdlib_socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")
def test_reuse_port_lets_two_servers_share_a_port(track):
    served = {"a": 0, "b": 0}

    def handler(name):
        def on_connection(c):
            served[name] += 1
            c.end(name)
        return on_connection

    a = track.server(handler("a")).listen({"port": 0, "host": "127.0.0.1", "reusePort": True})
    net.once(a, "listening", timeout=5)
    port = a.address()["port"]
    b = track.server(handler("b")).listen(port=port, host="127.0.0.1", reuse_port=True)
    net.once(b, "listening", timeout=5)
    assert b.listening and b.address()["port"] == port
    replies = []
    for _ in range(64):
        sock = track.connect(port, "127.0.0.1")
        replies.append(read_all(sock))
    assert sorted(set(replies)) == [b"a", b"b"]  # the kernel spreads connections over both
    assert served["a"] + served["b"] == 64
    # Without the option the port is taken.
    c = track.server()
    c.listen(port, "127.0.0.1")
    (error,) = net.once(c, "error", timeout=5)
    assert error.code == "EADDRINUSE"


def test_listen_unix_path(track, sock_dir, must_call):
    path = os.path.join(sock_dir, "echo.sock")
    server = track.server(echo)
    on_listening = must_call()
    assert server.listen(path, on_listening) is server
    net.once(server, "listening", timeout=5)
    assert server.address() == path
    assert os.path.exists(path)
    assert roundtrip(track, path, payload=b"unix") == b"unix"
    closed = event_flag(server, "close")
    server.close()
    assert not os.path.exists(path)  # removed at once, as Node does
    assert closed.wait(5)
    assert server.address() is None


def test_listen_unix_options_form_with_backlog(track, sock_dir):
    path = os.path.join(sock_dir, "opts.sock")
    server = track.server(echo).listen({"path": path, "backlog": 4})
    net.once(server, "listening", timeout=5)
    if shutil.which("ss"):
        assert listen_backlog(path=path) == 4
    assert roundtrip(track, path) == b"ping"
    server.close()
    net.once(server, "close", timeout=5)
    assert not os.path.exists(path)


def test_unix_path_in_use_is_eaddrinuse_and_file_is_kept(track, sock_dir):
    path = os.path.join(sock_dir, "taken.sock")
    owner = track.server(echo).listen(path)
    net.once(owner, "listening", timeout=5)
    intruder = track.server(echo)
    intruder.listen(path)
    (error,) = net.once(intruder, "error", timeout=5)
    assert error.code == "EADDRINUSE" and error.syscall == "listen" and error.address == path
    assert str(error) == "listen EADDRINUSE: address already in use %s" % path
    assert not intruder.listening and intruder.address() is None
    intruder.close()
    net.once(intruder, "close", timeout=5)
    assert os.path.exists(path)
    assert roundtrip(track, path, payload=b"still mine") == b"still mine"


@pytest.mark.parametrize("what", ["stale socket", "regular file"])
def test_unix_path_existing_file_is_never_deleted(track, sock_dir, what):
    path = os.path.join(sock_dir, "existing")
    if what == "stale socket":
        raw = stdlib_socket.socket(stdlib_socket.AF_UNIX)
        raw.bind(path)
        raw.close()  # leaves the file behind, nobody listening
    else:
        with open(path, "w") as f:
            f.write("precious")
    server = track.server(echo)
    server.listen(path)
    (error,) = net.once(server, "error", timeout=5)
    assert error.code == "EADDRINUSE"  # as Node: it does not unlink for you
    server.close()
    net.once(server, "close", timeout=5)
    assert os.path.exists(path)
    if what == "regular file":
        with open(path) as f:
            assert f.read() == "precious"


# ---------------------------------------------------------------------------
# listen(handle)


def test_listen_on_another_servers_handle(track, must_call):
    first = track.server(lambda c: c.end(b"first"))
    first.listen(0, "127.0.0.1")
    net.once(first, "listening", timeout=5)
    port = first.address()["port"]
    second = track.server(lambda c: c.end(b"second"))
    assert second.listen(first, must_call()) is second
    net.once(second, "listening", timeout=5)
    assert second.address() == first.address()
    first.close()
    # The first server stopped; the shared listening socket lives on in the second.
    assert read_all(track.connect(port, "127.0.0.1")) == b"second"
    second.close()
    assert refused(track, port)


@pytest.mark.parametrize("form", ["object", "object-options", "fd-dict", "fd-kwarg"])
@pytest.mark.parametrize("listening", [True, False], ids=["listening", "bound-only"])
def test_listen_on_a_descriptor(track, must_call, form, listening):
    raw = stdlib_socket.socket()
    try:
        raw.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEADDR, 1)
        raw.bind(("127.0.0.1", 0))
        if listening:
            raw.listen(5)
        port = raw.getsockname()[1]
        server = track.server(echo)
        on_listening = must_call()
        if form == "object":
            server.listen(raw, on_listening)
        elif form == "object-options":
            server.listen({"handle": raw}, on_listening)
        elif form == "fd-dict":
            server.listen({"fd": raw.fileno()}, on_listening)
        else:
            server.listen(fd=raw.fileno(), callback=on_listening)
        net.once(server, "listening", timeout=5)
        assert server.address() == {"address": "127.0.0.1", "family": "IPv4", "port": port}
        assert roundtrip(track, port, payload=b"by fd") == b"by fd"
        server.close()
        net.once(server, "close", timeout=5)
        # The caller's socket is still the caller's, and still listening: the
        # kernel completes a handshake on it although nobody accepts.
        probe = stdlib_socket.create_connection(("127.0.0.1", port), timeout=5)
        probe.close()
    finally:
        raw.close()


@needs_ss
def test_listen_on_a_handle_with_backlog(track):
    raw = stdlib_socket.socket()
    try:
        raw.bind(("127.0.0.1", 0))
        raw.listen(50)
        server = track.server(echo).listen(raw, 6)
        net.once(server, "listening", timeout=5)
        assert listen_backlog(raw.getsockname()[1]) == 6
    finally:
        raw.close()


def test_listen_on_a_unix_descriptor(track, sock_dir):
    path = os.path.join(sock_dir, "fd.sock")
    raw = stdlib_socket.socket(stdlib_socket.AF_UNIX)
    try:
        raw.bind(path)
        raw.listen(5)
        server = track.server(echo).listen({"fd": raw.fileno()})
        net.once(server, "listening", timeout=5)
        assert server.address() == path
        assert roundtrip(track, path) == b"ping"
        server.close()
        net.once(server, "close", timeout=5)
        assert os.path.exists(path)  # not ours to remove: we did not create it
    finally:
        raw.close()


def test_listen_on_a_connected_socket_is_an_einval_error_event(track):
    server = track.listen(echo)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    net.once(sock, "connect", timeout=5)
    other = track.server()
    assert other.listen(sock) is other  # node: no throw, an 'error' event follows
    (error,) = net.once(other, "error", timeout=5)
    assert error.code == "EINVAL" and error.syscall == "listen"
    assert str(error) == "listen EINVAL: invalid argument"  # node's words for the same call
    assert not other.listening and other.address() is None
    # the socket itself is untouched
    sock.end(b"still fine")
    assert read_all(sock) == b"still fine"


@pytest.mark.parametrize("make", ["unconnected socket", "idle server"])
def test_listen_on_a_handle_without_descriptor_raises_at_once(track, make):
    handle = net.Socket() if make == "unconnected socket" else net.Server()
    server = track.server(echo)
    errors = []
    server.on("error", errors.append)
    with pytest.raises(TypeError) as info:
        server.listen(handle)
    assert info.value.code == "ERR_INVALID_ARG_VALUE"
    assert str(info.value).startswith("The argument 'options' must have the property \"port\" or \"path\".")
    assert not server.listening
    # the failed call left the server usable
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    assert roundtrip(track, server.address()["port"]) == b"ping"
    assert errors == []


@pytest.mark.parametrize("fd", ["x", -1, True, 1.5])
def test_listen_bad_fd_raises_like_node(fd):
    # node: listen({fd: 'x'}) and listen({fd: -1}) fall through to
    # "The argument 'options' must have the property "port" or "path". Received { fd: 'x' }"
    server = net.createServer()
    with pytest.raises(TypeError) as info:
        server.listen({"fd": fd})
    assert info.value.code == "ERR_INVALID_ARG_VALUE"
    assert str(info.value) == "The argument 'options' must have the property \"port\" or \"path\". Received %r" % (
        {"fd": fd},)
    assert not server.listening


def test_listen_on_a_closed_descriptor_is_an_error_event(track):
    raw = stdlib_socket.socket()
    fd = raw.fileno()
    raw.close()
    server = track.server()
    server.listen({"fd": fd})
    (error,) = net.once(server, "error", timeout=5)
    assert error.code == "EBADF" and error.syscall == "listen"
    assert not server.listening


def test_prefork_workers_share_one_listening_socket(track):
    raw = stdlib_socket.socket()
    raw.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEADDR, 1)
    raw.bind(("127.0.0.1", 0))
    raw.listen(64)
    port = raw.getsockname()[1]
    worker_code = textwrap.dedent(
        """
        import os, sys
        import nodenet_gevent as net
        server = net.createServer(lambda c: c.end(b"child"))
        server.listen({"fd": int(sys.argv[1])}, lambda: print("ready", flush=True))
        net.run()
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", worker_code, str(raw.fileno())],
        pass_fds=[raw.fileno()], stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout.readline() == b"ready\n"
        parent = track.server(lambda c: c.end(b"parent"))
        parent.listen(raw)
        net.once(parent, "listening", timeout=5)
        raw.close()  # both workers hold their own descriptor now
        replies = set()
        deadline = time.monotonic() + 15
        while replies != {b"child", b"parent"} and time.monotonic() < deadline:
            replies.add(read_all(track.connect(port, "127.0.0.1")))
        assert replies == {b"child", b"parent"}
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()


# ---------------------------------------------------------------------------
# events, address(), close()


def test_listening_fires_once_and_address_lifecycle(track, must_call):
    server = track.server(echo)
    assert server.address() is None and not server.listening
    server.on("listening", must_call())
    server.listen(0, "127.0.0.1")
    assert server.address()["port"] > 0  # bound when listen() returns
    net.once(server, "listening", timeout=5)
    assert server.listening
    assert roundtrip(track, server.address()["port"]) == b"ping"
    closed = event_flag(server, "close")
    assert server.close() is server
    assert server.address() is None and not server.listening
    assert closed.wait(5)
    assert server.address() is None


def test_listening_is_never_synchronous(track):
    server = track.server()
    events = []
    server.on("listening", lambda: events.append("listening"))
    server.listen(0, "127.0.0.1", lambda: events.append("callback"))
    assert events == []
    net.once(server, "listening", timeout=5)
    gevent.sleep(0)
    assert events == ["listening", "callback"]


def test_close_stops_accepting_at_once_and_waits_for_connections(track, must_call):
    accepted = []
    server = track.server(lambda c: (accepted.append(c), c.pipe(c)))
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    port = server.address()["port"]
    client = track.connect(port, "127.0.0.1")
    net.once(client, "connect", timeout=5)
    wait_until(lambda: accepted, message="connection accepted")
    close_events = []
    server.on("close", must_call(lambda: close_events.append("event")))
    assert server.close(must_call(lambda *args: close_events.append(("callback", args)))) is server
    assert not server.listening and server.address() is None
    assert refused(track, port)  # no new connections from now on
    # the open connection still works, and 'close' waits for it
    client.write(b"still served")
    assert net.once(client, "data", timeout=5) == (b"still served",)
    assert close_events == []
    closed = event_flag(server, "close")
    client.end()
    assert closed.wait(5)
    gevent.sleep(0)
    assert close_events == ["event", ("callback", ())]


def test_close_event_fires_once(track, must_call):
    server = track.listen(echo)
    server.on("close", must_call())
    port = server.address()["port"]
    assert roundtrip(track, port) == b"ping"
    server.close()
    net.once(server, "close", timeout=5)
    gevent.sleep(0.05)


def test_close_when_not_listening_calls_back_with_error_and_emits_close(must_call):
    # node: cb(ERR_SERVER_NOT_RUNNING) and a 'close' event, both on a later tick
    server = net.createServer()
    order = []
    server.on("close", must_call(lambda: order.append("event")))
    errors = []
    assert server.close(must_call(lambda err: (errors.append(err), order.append("callback")))) is server
    assert order == []
    net.once(server, "close", timeout=5)
    gevent.sleep(0)
    assert order == ["event", "callback"]
    (error,) = errors
    assert isinstance(error, net.NodeError)
    assert error.code == "ERR_SERVER_NOT_RUNNING" and str(error) == "Server is not running."


def test_close_after_close_reports_not_running(track, must_call):
    server = track.listen(echo)
    server.close(must_call(lambda *args: None))
    errors = []
    server.close(errors.append)
    wait_until(lambda: errors, message="second close callback")
    assert errors[0].code == "ERR_SERVER_NOT_RUNNING"


def test_listen_twice_raises_at_once(track):
    server = track.listen(echo)
    with pytest.raises(net.NodeError) as info:
        server.listen(0, "127.0.0.1")
    assert info.value.code == "ERR_SERVER_ALREADY_LISTEN"
    assert str(info.value) == "Listen method has been called more than once without closing."
    assert server.listening
    assert roundtrip(track, server.address()["port"]) == b"ping"


def test_listen_again_after_close(track, must_call):
    server = track.server(echo)
    server.on("listening", must_call(times=2))
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    first_port = server.address()["port"]
    server.close()
    net.once(server, "close", timeout=5)
    assert refused(track, first_port)
    server.listen(first_port, "127.0.0.1")  # the same port again (SO_REUSEADDR)
    net.once(server, "listening", timeout=5)
    assert server.listening and server.address()["port"] == first_port
    assert roundtrip(track, first_port) == b"ping"


def test_close_then_listen_at_once_still_reports_the_close(track, must_call):
    # node: close(cb); listen() in the same tick -- 'close' and cb still come
    server = track.listen(echo)
    closed = event_flag(server, "close")
    server.close(must_call(lambda *args: None))
    server.on("close", must_call())
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    assert closed.wait(5)
    assert server.listening
    assert roundtrip(track, server.address()["port"]) == b"ping"


def test_chaining(track):
    server = track.server(echo)
    assert server.unref() is server
    assert server.ref() is server
    assert server.listen(0, "127.0.0.1") is server
    net.once(server, "listening", timeout=5)
    assert server.get_connections(lambda *a: None) is server
    assert server.close() is server


# ---------------------------------------------------------------------------
# connection handling


def test_blocking_connection_handler_does_not_stop_others(track):
    release = gevent.event.Event()
    order = []

    def handler(c):
        name = order and "second" or "first"
        order.append(name)
        if name == "first":
            release.wait(10)  # a handler that blocks cooperatively
            c.end(b"first done")
        else:
            c.end(b"second done")

    server = track.listen(handler)
    port = server.address()["port"]
    first = track.connect(port, "127.0.0.1")
    wait_until(lambda: order == ["first"], message="first handler running")
    second = track.connect(port, "127.0.0.1")
    assert read_all(second) == b"second done"
    assert not release.is_set() and order == ["first", "second"]
    release.set()
    assert read_all(first) == b"first done"


def test_blocking_listening_handler_does_not_stop_the_acceptor(track):
    release = gevent.event.Event()
    server = track.server(lambda c: c.end(b"served"))
    server.on("listening", lambda: release.wait(10))
    server.listen(0, "127.0.0.1")
    port = server.address()["port"]
    assert read_all(track.connect(port, "127.0.0.1")) == b"served"
    release.set()


def test_allow_half_open_server(track):
    def handler(c):
        got = []
        c.on("data", got.append)
        c.on("end", lambda: (c.write(b"after your end: " + b"".join(got)), c.end()))

    server = track.listen(handler, allowHalfOpen=True)
    sock = track.connect(server.address()["port"], "127.0.0.1", allowHalfOpen=True)
    sock.end(b"question")
    assert read_all(sock) == b"after your end: question"


def test_without_allow_half_open_server_side_ends_itself(track):
    states = []

    def handler(c):
        c.on("end", lambda: states.append(c.ready_state))
        c.resume()

    server = track.listen(handler)
    sock = track.connect(server.address()["port"], "127.0.0.1", allowHalfOpen=True)
    sock.end()
    assert read_all(sock) == b""  # the server's FIN arrives without it writing anything
    assert states == ["writeOnly"]


def test_pause_on_connect(track):
    sockets = []

    def handler(c):
        sockets.append(c)
        c.on("data", received.append)  # does not start the flow: the socket was paused

    received = []
    server = track.listen(handler, pauseOnConnect=True)
    sock = track.connect(server.address()["port"], "127.0.0.1")
    sock.write(b"hello")
    net.once(sock, "connect", timeout=5)
    wait_until(lambda: sockets, message="connection")
    c = sockets[0]
    assert c.is_paused()
    gevent.sleep(0.1)
    assert received == [] and c.bytes_read == 0  # paused: not even read from the kernel
    c.resume()
    wait_until(lambda: received, message="data after resume")
    assert b"".join(received) == b"hello"


def test_max_connections_refuses_beyond_the_limit(track):
    accepted = []
    server = track.server(lambda c: accepted.append(c))
    server.maxConnections = 1
    assert server.max_connections == 1
    drops = []
    server.on("drop", drops.append)
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    port = server.address()["port"]
    first = track.connect(port, "127.0.0.1")
    wait_until(lambda: accepted, message="first accepted")
    second = track.connect(port, "127.0.0.1")
    # All of it may happen before the test runs again (it does on libuv): listen first.
    got = event_flag(second, "close")
    ended = event_flag(second, "end")
    second_local = []
    second.on("connect", lambda: second_local.append(second.local_port))
    second.on("data", lambda data: pytest.fail("the refused connection got data: %r" % (data,)))
    assert ended.wait(5)  # closed by the server at once
    assert got.wait(5) and got.args == (False,)
    (second_local,) = second_local
    assert len(accepted) == 1
    wait_until(lambda: drops, message="'drop' event")
    assert drops == [{
        "localAddress": "127.0.0.1", "localPort": port, "localFamily": "IPv4",
        "remoteAddress": "127.0.0.1", "remotePort": second_local, "remoteFamily": "IPv4",
    }]
    # Once the first connection is gone there is room again.
    gone = event_flag(accepted[0], "close")
    first.destroy()
    assert gone.wait(5)
    third = track.connect(port, "127.0.0.1")
    wait_until(lambda: len(accepted) == 2, message="third accepted")
    accepted[1].end(b"welcome")
    assert read_all(third) == b"welcome"


def test_max_connections_zero_means_no_limit_as_in_node(track):
    # node 20: `if (self.maxConnections && ...)` -- 0 does not refuse anything
    server = track.server(lambda c: c.end(b"in"))
    server.max_connections = 0
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    assert read_all(track.connect(server.address()["port"], "127.0.0.1")) == b"in"


def test_get_connections_is_asynchronous_and_counts(track):
    accepted = []
    server = track.listen(lambda c: (accepted.append(c), c.pipe(c)))
    port = server.address()["port"]
    answers = []
    server.getConnections(lambda err, n: answers.append((err, n)))
    assert answers == []
    wait_until(lambda: answers, message="getConnections callback")
    assert answers == [(None, 0)]
    clients = [track.connect(port, "127.0.0.1") for _ in range(3)]
    wait_until(lambda: len(accepted) == 3, message="3 connections")
    result = gevent.event.AsyncResult()
    server.get_connections(lambda err, n: result.set((err, n)))
    assert result.get(timeout=5) == (None, 3)
    closed = [event_flag(s, "close") for s in accepted]
    clients[0].destroy()
    wait_until(lambda: sum(flag.is_set() for flag in closed) == 1, message="one server-side close")
    result = gevent.event.AsyncResult()
    server.get_connections(lambda err, n: result.set((err, n)))
    assert result.get(timeout=5) == (None, 2)


def test_get_connections_bad_callback():
    # node: The "callback" argument must be of type function. Received type string ('x')
    with pytest.raises(TypeError) as info:
        net.createServer().getConnections("x")
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    assert str(info.value) == "The \"callback\" argument must be of type function. Received type string ('x')"


def test_connections_property_is_deprecated(track):
    server = track.listen(echo)
    accepted = event_flag(server, "connection")
    track.connect(server.address()["port"], "127.0.0.1")
    assert accepted.wait(5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        count = server.connections
    assert count == 1
    assert len(caught) == 1 and caught[0].category is DeprecationWarning
    assert "getConnections" in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the caller


# ---------------------------------------------------------------------------
# ref / unref


def test_unref_server_lets_run_return_and_ref_keeps_it(track):
    server = track.server(echo)
    server.unref()  # before listen: applied when it binds
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    started = time.monotonic()
    assert net.run(timeout=5) is True
    assert time.monotonic() - started < 2
    server.ref()
    assert net.run(timeout=0.2) is False
    server.unref()
    assert net.run(timeout=5) is True
    assert roundtrip(track, server.address()["port"]) == b"ping"  # still serving


def test_closed_server_does_not_keep_run_alive(track):
    server = track.listen(echo)
    server.close()
    net.once(server, "close", timeout=5)
    assert net.run(timeout=5) is True


# ---------------------------------------------------------------------------
# errors


def test_eaddrinuse_is_an_error_event_not_an_exception(track):
    raw = blocker()
    try:
        port = raw.getsockname()[1]
        server = track.server(echo)
        assert server.listen(port, "127.0.0.1") is server  # no raise
        (error,) = net.once(server, "error", timeout=5)
        assert isinstance(error, OSError) and error.errno == errno.EADDRINUSE
        assert error.code == "EADDRINUSE" and error.syscall == "listen"
        assert error.address == "127.0.0.1" and error.port == port
        assert str(error) == "listen EADDRINUSE: address already in use 127.0.0.1:%d" % port
        assert not server.listening and server.address() is None
    finally:
        raw.close()


def test_eaddrinuse_retry_example_from_the_api_page(track, must_call):
    raw = blocker()
    PORT, HOST = raw.getsockname()[1], "127.0.0.1"
    log = []
    server = track.server(echo)

    def on_error(e):
        if e.code == "EADDRINUSE":
            log.append("Address in use, retrying...")
            raw.close()  # whoever had the port lets go meanwhile

            def retry():
                server.close()
                server.listen(PORT, HOST)

            gevent.spawn_later(0.2, retry)  # setTimeout(function () {...}, 1000)

    server.on("error", on_error)
    listening = event_flag(server, "listening")
    server.listen(PORT, HOST, must_call(lambda: log.append("server bound")))
    assert listening.wait(10)
    gevent.sleep(0)
    assert log == ["Address in use, retrying...", "server bound"]
    assert server.address()["port"] == PORT
    assert roundtrip(track, PORT) == b"ping"


@pytest.mark.parametrize(
    "args,exc,code,message",
    [
        # messages from node 20 where Python renders the value the same way
        ((70000,), ValueError, "ERR_SOCKET_BAD_PORT",
         "options.port should be >= 0 and < 65536. Received type number (70000)."),
        ((-1,), ValueError, "ERR_SOCKET_BAD_PORT",
         "options.port should be >= 0 and < 65536. Received type number (-1)."),
        ((65536, "127.0.0.1"), ValueError, "ERR_SOCKET_BAD_PORT",
         "options.port should be >= 0 and < 65536. Received type number (65536)."),
        ((1.5,), ValueError, "ERR_SOCKET_BAD_PORT",
         "options.port should be >= 0 and < 65536. Received type number (1.5)."),
        (({"port": 70000},), ValueError, "ERR_SOCKET_BAD_PORT",
         "options.port should be >= 0 and < 65536. Received type number (70000)."),
        (({"port": "abc"},), ValueError, "ERR_SOCKET_BAD_PORT",
         "options.port should be >= 0 and < 65536. Received type string ('abc')."),
        (("",), ValueError, "ERR_SOCKET_BAD_PORT",
         "options.port should be >= 0 and < 65536. Received type string ('')."),
        (({},), TypeError, "ERR_INVALID_ARG_VALUE",
         "The argument 'options' must have the property \"port\" or \"path\". Received {}"),
        (({"host": "localhost"},), TypeError, "ERR_INVALID_ARG_VALUE",
         "The argument 'options' must have the property \"port\" or \"path\". Received {'host': 'localhost'}"),
        (({"port": 0, "host": 5},), TypeError, "ERR_INVALID_ARG_TYPE",
         'The "hostname" argument must be of type string. Received type number (5)'),
        # Python's rendering of the options (node: "Received { port: true }")
        ((True,), TypeError, "ERR_INVALID_ARG_VALUE", "The argument 'options' is invalid. Received {'port': True}"),
        ((False,), TypeError, "ERR_INVALID_ARG_VALUE", "The argument 'options' is invalid. Received {'port': False}"),
        (({"port": True},), TypeError, "ERR_INVALID_ARG_VALUE",
         "The argument 'options' is invalid. Received {'port': True}"),
        (({"path": 5},), TypeError, "ERR_INVALID_ARG_VALUE", "The argument 'options' is invalid. Received {'path': 5}"),
        (([],), TypeError, "ERR_INVALID_ARG_VALUE", "The argument 'options' is invalid. Received {'port': []}"),
    ],
)
def test_bad_listen_arguments_raise_at_once(track, args, exc, code, message):
    server = track.server(echo)
    errors = []
    server.on("error", errors.append)
    with pytest.raises(exc) as info:
        server.listen(*args)
    assert isinstance(info.value, net.NodeError)
    assert info.value.code == code
    assert str(info.value) == message
    assert not server.listening and server.address() is None
    # nothing was left half-done: the same server listens fine afterwards
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    assert roundtrip(track, server.address()["port"]) == b"ping"
    assert errors == []


_NODE_LISTEN_ERRORS = r"""
const net = require('net');
const calls = JSON.parse(require('fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(calls.map((args) => {
  const s = net.createServer();
  s.on('error', () => {});
  try { s.listen(...args); s.close(); return null; } catch (e) { return [e.code, e.message]; }
})));
"""

# listen() calls whose arguments cross to node as JSON unchanged and render the
# same in both languages' messages.
_LISTEN_CALLS = [
    [70000], [-1], [65536, "127.0.0.1"], [1.5], [{"port": 70000}], [{"port": "abc"}], [""], [" "],
    [{}], [{"port": 0, "host": 5}], [{"port": -5, "host": "127.0.0.1"}], [{"port": "65536"}],
]


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_bad_listen_arguments_agree_with_real_node():
    proc = subprocess.run(
        [shutil.which("node"), "-e", _NODE_LISTEN_ERRORS], input=json.dumps(_LISTEN_CALLS).encode(),
        capture_output=True, timeout=20, check=True,
    )
    want = json.loads(proc.stdout)
    got = []
    for args in _LISTEN_CALLS:
        server = net.createServer()
        try:
            server.listen(*args)
        except net.NodeError as error:
            got.append([error.code, str(error)])
        else:
            server.close()
            got.append(None)
    assert got == want
    assert all(want)  # every call is an error in node too


def test_server_names_in_both_spellings():
    assert net.Server.getConnections is net.Server.get_connections
    server = net.Server()
    server.maxConnections = 3
    assert server.max_connections == 3
    server.max_connections = 4
    assert server.maxConnections == 4
    calls = []
    assert server.addListener("listening", calls.append) is server
    server.removeListener("listening", calls.append)
    assert server.listeners("listening") == []


def test_allow_half_open_and_pause_on_connect_are_public_as_in_node(track):
    # Node: server.allowHalfOpen / server.pauseOnConnect are plain fields; a change applies to later connections.
    server = track.listen(allowHalfOpen=True)
    assert (server.allowHalfOpen, server.pauseOnConnect, server.allow_half_open) == (True, False, True)
    server.pauseOnConnect = True
    accepted = gevent.event.AsyncResult()
    server.on("connection", accepted.set)
    client = track.connect(server.address()["port"], "127.0.0.1")
    client.end(b"x")
    sock = accepted.get(timeout=5)
    assert sock.allowHalfOpen is True and sock.isPaused()
