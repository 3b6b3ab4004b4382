"""Tests for createServer's ``proxyProtocol``: the PROXY header read before ``'connection'``.

Behind the real haproxy (tests/haproxy_support.py; skipped where it is not installed):
``send-proxy`` and ``send-proxy-v2`` to net servers with ``proxyProtocol`` ``'v1'``, ``'v2'``
and ``True``, checking the addresses the accepted socket reports against the real client's
and haproxy's frontend, and an echo of a few MiB through it.  Without haproxy, from plain
clients on loopback: headers built by hand (the addresses they name, what comes after them),
and every way a header can be wrong -- each ends that connection only, with
``ERR_PROXY_PROTOCOL`` on the server's ``'proxyProtocolError'``, while the server goes on
accepting and serving others.
"""

import hashlib
import logging
import os
import socket as stdlib_socket
import struct
import subprocess
import time

import gevent
import gevent.event
import gevent.queue
import gevent.socket as gsocket
import pytest

import nodenet_gevent as net
from nodenet_gevent.errors import NodeTypeError, NodeValueError
from nodenet_gevent.proxy_protocol import V2_SIGNATURE, ProxyProtocolError
from conftest import has_ipv6, recorded_greenlet_errors
from haproxy_support import HAPROXY, Frontend, free_port, running_haproxy

pytestmark = pytest.mark.timeout(30)

PAYLOAD = b"GET / HTTP/1.1\r\nHost: example\r\n\r\nPROXY TCP4 \r\n" + V2_SIGNATURE  # header-like on purpose


# ---------------------------------------------------------------------------
# Headers, built by hand from the spec


def v1(protocol="TCP4", source="192.0.2.7", dest="198.51.100.1", sport=5555, dport=443):
    if protocol == "UNKNOWN":
        return b"PROXY UNKNOWN\r\n"
    return ("PROXY %s %s %s %d %d\r\n" % (protocol, source, dest, sport, dport)).encode()


def v2(command=0x1, family=0x11, body=b""):
    return V2_SIGNATURE + bytes([0x20 | command, family]) + struct.pack(">H", len(body)) + body


def v2_tcp4(source="192.0.2.7", dest="198.51.100.1", sport=5555, dport=443):
    return v2(body=stdlib_socket.inet_aton(source) + stdlib_socket.inet_aton(dest) + struct.pack(">HH", sport, dport))


def v2_tcp6(source="2001:db8::7", dest="2001:db8::1", sport=5555, dport=443):
    body = (stdlib_socket.inet_pton(stdlib_socket.AF_INET6, source)
            + stdlib_socket.inet_pton(stdlib_socket.AF_INET6, dest) + struct.pack(">HH", sport, dport))
    return v2(family=0x21, body=body)


def v2_unix(source=b"/run/a.sock", dest=b"/run/b.sock"):
    return v2(family=0x31, body=source.ljust(108, b"\0") + dest.ljust(108, b"\0"))


# ---------------------------------------------------------------------------
# Helpers


class Failure:
    """One 'proxyProtocolError', with what was true while its listeners ran."""

    def __init__(self, error, sock):
        self.error, self.sock = error, sock
        self.open_during = not sock.destroyed
        self.remote = (sock.remoteAddress, sock.remotePort)
        self.closed = gevent.event.AsyncResult()  # 'close''s had_error
        sock.once("close", self.closed.set)


class Watched:
    """A server and queues of what it emitted: 'connection' sockets and 'proxyProtocolError's."""

    def __init__(self, server):
        self.server = server
        self.connections = gevent.queue.Queue()
        self.failures = gevent.queue.Queue()
        self.seen = []  # every socket 'connection' gave, to destroy afterwards
        server.on("connection", self._connected)
        server.on("proxyProtocolError", lambda error, sock: self.failures.put(Failure(error, sock)))

    def _connected(self, sock):
        self.seen.append(sock)
        self.connections.put(sock)

    @property
    def port(self):
        return self.server.address()["port"]

    def accept(self, timeout=5):
        return self.connections.get(timeout=timeout)

    def failure(self, timeout=5):
        return self.failures.get(timeout=timeout)

    def close(self):
        for sock in self.seen:
            sock.destroy()
        if self.server.listening:
            self.server.close()


def watched(track, mode=True, **options):
    options.setdefault("proxyProtocol", mode)
    return Watched(track.listen(**options))


def connect(port, host="127.0.0.1"):
    return gsocket.create_connection((host, port), timeout=5)


def receive(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "EOF after %d of %d bytes" % (len(data), size)
        data += chunk
    return data


def closed_by_peer(client):
    """The server closed the connection: EOF (or a reset), within the client's timeout."""
    try:
        return client.recv(1) == b""
    except ConnectionResetError:
        return True


def echo_once(watch, header=None, payload=PAYLOAD):
    """A well-behaved client: its header and a payload in one send, echoed intact; the socket served."""
    with connect(watch.port) as client:
        client.sendall((header if header is not None else v1()) + payload)
        sock = watch.accept()
        sock.pipe(sock)
        assert receive(client, len(payload)) == payload
        return sock


def check_failed(watch, failure, message):
    error = failure.error
    assert isinstance(error, ProxyProtocolError) and isinstance(error, net.NodeError)
    assert net.ProxyProtocolError is ProxyProtocolError
    assert error.code == "ERR_PROXY_PROTOCOL"
    assert message in str(error), str(error)
    assert failure.open_during  # the listener still sees the real connection ...
    assert failure.closed.get(timeout=5) is True  # ... which is destroyed after it, had_error
    assert failure.sock.destroyed and failure.sock.errored is error
    assert watch.connections.empty()  # never 'connection' (so never 'data')


@pytest.fixture(autouse=True)
def nothing_printed(caplog):
    """No failure here may end in a traceback: none reported by gevent, none logged."""
    with recorded_greenlet_errors() as seen:
        yield
    assert seen == []
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


# ---------------------------------------------------------------------------
# Behind the real haproxy


class Proxied:
    def __init__(self, haproxy, watches):
        self.haproxy, self.watches = haproxy, watches


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    watches = {}
    for key, mode in (("v1", "v1"), ("v2", "v2"), ("any", True)):
        server = net.create_server({"proxyProtocol": mode}).listen(0, "127.0.0.1")
        net.once(server, "listening", timeout=5)
        watches[key] = Watched(server)
    port = {key: watch.port for key, watch in watches.items()}
    cases = [
        Frontend("v1-tcp4", "v1", "127.0.0.1", port["v1"]), Frontend("v2-tcp4", "v2", "127.0.0.1", port["v2"]),
        Frontend("v1-tcp6", "v1", "::1", port["v1"]), Frontend("v2-tcp6", "v2", "::1", port["v2"]),
        Frontend("any-v1", "v1", "127.0.0.1", port["any"]), Frontend("any-v2", "v2", "127.0.0.1", port["any"]),
        Frontend("v1-to-v2", "v1", "127.0.0.1", port["v2"]),
    ]
    haproxy = running_haproxy(tmp_path_factory.mktemp("haproxy"), cases)
    try:
        yield Proxied(next(haproxy), watches)  # skips without haproxy
    finally:
        haproxy.close()
        for watch in watches.values():
            watch.close()


@pytest.fixture
def through(proxied):
    """The module's haproxy and servers, their queues emptied before and the sockets destroyed after."""
    for watch in proxied.watches.values():
        assert watch.connections.empty() and watch.failures.empty(), "left over from an earlier test"
    yield proxied
    for watch in proxied.watches.values():
        for sock in watch.seen:
            sock.destroy()
        watch.seen.clear()


@pytest.mark.parametrize("name", ["v1-tcp4", "v2-tcp4", "v1-tcp6", "v2-tcp6"])
def test_haproxy_addresses_are_the_client_and_the_frontend(through, name):
    if name not in through.haproxy.frontends:
        pytest.skip("no IPv6 on this machine")
    family = "IPv6" if name.endswith("6") else "IPv4"
    with through.haproxy.connect(name) as client:
        sock = through.watches[name[:2]].accept()
        source = client.getsockname()[:2]
        frontend = through.haproxy.frontends[name]
        assert (sock.remoteAddress, sock.remotePort, sock.remoteFamily) == (source[0], source[1], family)
        assert (sock.remote_address, sock.remote_port, sock.remote_family) == (source[0], source[1], family)
        assert (sock.localAddress, sock.localPort, sock.localFamily) == (frontend[0], frontend[1], family)
        assert sock.address() == {"address": frontend[0], "family": family, "port": frontend[1]}
        # What the socket really is: haproxy's connection, from 127.0.0.1, which is not reported.
        assert sock._handle.getpeername()[:2] != source
        assert sock._handle.getsockname()[:2] == ("127.0.0.1", through.watches[name[:2]].port)
        header = sock.proxyHeader
        assert sock.proxy_header is header
        assert (header.version, header.command, header.family) == (int(name[1]), "PROXY", family)
        sock.pipe(sock)
        client.sendall(PAYLOAD)
        assert receive(client, len(PAYLOAD)) == PAYLOAD


@pytest.mark.parametrize("name", ["v1-tcp4", "v2-tcp4"])
def test_haproxy_echo_of_megabytes_is_intact(through, name):
    data = os.urandom(4 * 1024 * 1024)
    with through.haproxy.connect(name) as client:
        sock = through.watches[name[:2]].accept()
        sock.pipe(sock)

        def send():
            client.sendall(data)
            client.shutdown(stdlib_socket.SHUT_WR)

        sender = gevent.spawn(send)
        digest, size = hashlib.sha256(), 0
        while True:
            chunk = client.recv(65536)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        sender.get(timeout=5)
    assert size == len(data)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert sock.bytesRead == len(data)  # the header is not the application's: not counted


def test_haproxy_true_takes_either_version(through):
    clients = [through.haproxy.connect("any-v1"), through.haproxy.connect("any-v2")]
    try:
        watch = through.watches["any"]
        socks = [watch.accept(), watch.accept()]
        by_port = {sock.remotePort: sock for sock in socks}
        for client, version in zip(clients, (1, 2)):
            address, port = client.getsockname()[:2]
            sock = by_port[port]
            assert (sock.remoteAddress, sock.proxyHeader.version) == (address, version)
            assert sock.localPort == through.haproxy.frontends["any-v%d" % version][1]
    finally:
        for client in clients:
            client.close()


def test_haproxy_v1_to_a_v2_server_is_refused(through):
    with through.haproxy.connect("v1-to-v2") as client:
        watch = through.watches["v2"]
        failure = watch.failure()
        check_failed(watch, failure, "Expected a PROXY protocol v2 header, received a v1 header")
        assert closed_by_peer(client)


# ---------------------------------------------------------------------------
# Plain clients: valid headers


@pytest.mark.parametrize("header,family,remote,local", [
    (v1(), "IPv4", ("192.0.2.7", 5555), ("198.51.100.1", 443)),
    (v2_tcp4(), "IPv4", ("192.0.2.7", 5555), ("198.51.100.1", 443)),
    # An IPv6 client of this IPv4 socket: the family is the header's.
    (v1("TCP6", "2001:db8::7", "2001:db8::1"), "IPv6", ("2001:db8::7", 5555), ("2001:db8::1", 443)),
    (v2_tcp6(), "IPv6", ("2001:db8::7", 5555), ("2001:db8::1", 443)),
], ids=["v1-tcp4", "v2-tcp4", "v1-tcp6", "v2-tcp6"])
def test_header_gives_the_addresses_and_what_follows_is_intact(track, header, family, remote, local):
    watch = watched(track, True)
    sock = echo_once(watch, header)
    assert (sock.remoteAddress, sock.remotePort, sock.remoteFamily) == (*remote, family)
    assert (sock.localAddress, sock.localPort, sock.localFamily) == (*local, family)
    assert sock.address() == {"address": local[0], "family": family, "port": local[1]}
    assert sock.proxyHeader.family == family
    assert sock.bytesRead == len(PAYLOAD)


@pytest.mark.parametrize("header,command", [
    (v1("UNKNOWN"), "PROXY"), (v2(command=0x0, family=0x00), "LOCAL"), (v2_unix(), "PROXY"),
], ids=["v1-unknown", "v2-local", "v2-unix"])
def test_unknown_local_and_unix_keep_the_real_addresses(track, header, command):
    watch = watched(track, True)
    with connect(watch.port) as client:
        client.sendall(header + PAYLOAD)
        sock = watch.accept()
        assert (sock.remoteAddress, sock.remotePort, sock.remoteFamily) == (*client.getsockname()[:2], "IPv4")
        assert sock.address() == {"address": "127.0.0.1", "family": "IPv4", "port": watch.port}
        assert sock.proxyHeader.command == command
        sock.pipe(sock)
        assert receive(client, len(PAYLOAD)) == PAYLOAD


def test_a_unix_socket_server_takes_tcp_addresses_from_the_header(track):
    server, path = track.listen_unix(proxyProtocol="v2")
    watch = Watched(server)
    with gsocket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM) as client:
        client.settimeout(5)
        client.connect(path)
        client.sendall(v2_tcp6() + PAYLOAD)
        sock = watch.accept()
        assert (sock.remoteAddress, sock.remotePort, sock.remoteFamily) == ("2001:db8::7", 5555, "IPv6")
        assert sock.address() == {"address": "2001:db8::1", "family": "IPv6", "port": 443}
        sock.pipe(sock)
        assert receive(client, len(PAYLOAD)) == PAYLOAD


def test_without_the_option_nothing_is_read_first(track):
    watch = watched(track, False)
    sock = echo_once(watch, header=b"")  # a header would be data: there is none here
    assert sock.proxyHeader is None
    watch = watched(track, None)
    with connect(watch.port) as client:
        client.sendall(v1())
        sock = watch.accept()
        sock.pipe(sock)
        assert receive(client, len(v1())) == v1()  # the header is just data


def test_options_are_checked():
    for bad in ("v3", "V1", 1, 2, "true"):
        with pytest.raises(NodeValueError, match="options.proxyProtocol") as raised:
            net.createServer({"proxyProtocol": bad})
        assert raised.value.code == "ERR_INVALID_ARG_VALUE"
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(NodeValueError, match="options.proxyProtocolTimeout") as raised:
            net.createServer({"proxyProtocol": True, "proxyProtocolTimeout": bad})
        assert raised.value.code == "ERR_OUT_OF_RANGE"
    for bad in ("100", True, [100]):
        with pytest.raises(NodeTypeError, match="options.proxyProtocolTimeout") as raised:
            net.createServer({"proxyProtocol": True, "proxyProtocolTimeout": bad})
        assert raised.value.code == "ERR_INVALID_ARG_TYPE"
    assert net.create_server(proxy_protocol="v2", proxy_protocol_timeout=250)._proxy_protocol == ("v2", 0.25)
    assert net.createServer({"proxyProtocol": True})._proxy_protocol == (True, 5.0)
    assert net.createServer()._proxy_protocol is None


# ---------------------------------------------------------------------------
# Plain clients: every way a header is wrong ends that connection only


V2_OVERSIZED = V2_SIGNATURE + b"\x21\x11" + struct.pack(">H", 0xFFFF)

BAD = [
    ("no-header", True, b"GET / HTTP/1.1\r\nHost: example\r\n\r\n", False, "Not a PROXY protocol header"),
    ("truncated-v1", True, v1()[:30], True, "closed before the PROXY protocol header was complete (30 bytes"),
    ("truncated-v2", "v2", v2_tcp4()[:20], True, "closed before the PROXY protocol header was complete (20 bytes"),
    ("oversized-v2", True, V2_OVERSIZED, False, "PROXY protocol v2 header too long: 65551 bytes, the limit is 4096"),
    ("oversized-v1", "v1", b"PROXY TCP4 " + b"1" * 200, False, "PROXY protocol v1 header too long"),
    ("malformed-v1-port", True, v1(sport=5555).replace(b"5555", b"05555"), False, "is not a port"),
    ("malformed-v1-protocol", True, v1("TCP5"), False, "unknown protocol"),
    ("malformed-v1-address", True, v1("TCP4", "192.0.2.256"), False, "is not an IPv4 address"),
    ("malformed-v2-family", True, v2(family=0x41, body=b"\0" * 12), False, "unknown address family"),
    ("v1-to-a-v2-server", "v2", v1(), False, "Expected a PROXY protocol v2 header, received a v1 header"),
    ("v2-to-a-v1-server", "v1", v2_tcp4(), False, "Expected a PROXY protocol v1 header, received a v2 header"),
    ("closed-at-once", True, b"", True, "Connection closed before a PROXY protocol header was received"),
]


@pytest.mark.parametrize("mode,sent,then_eof,message", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_a_bad_header_ends_that_connection_only(track, mode, sent, then_eof, message):
    watch = watched(track, mode)
    with connect(watch.port) as client:
        client.sendall(sent + PAYLOAD if not then_eof else sent)
        if then_eof:
            client.shutdown(stdlib_socket.SHUT_WR)
        failure = watch.failure()
        check_failed(watch, failure, message)
        assert failure.remote == client.getsockname()[:2]  # the real peer: there is no other
        assert closed_by_peer(client)
    # The server goes on: the next connection, with a good header, is served.
    good = v1() if mode != "v2" else v2_tcp4()
    echo_once(watch, good)
    assert watch.failures.empty()


@pytest.mark.parametrize("sent", [b"", b"PROXY TCP4 "], ids=["silent", "stalled"])
def test_no_complete_header_within_the_deadline(track, sent):
    watch = watched(track, True, proxyProtocolTimeout=150)
    with connect(watch.port) as client:
        started = time.monotonic()
        client.sendall(sent)
        failure = watch.failure()
        elapsed = time.monotonic() - started
        check_failed(watch, failure, "No complete PROXY protocol header within 0.15 s (%d bytes received)" % len(sent))
        assert 0.1 < elapsed < 5
        assert closed_by_peer(client)


def test_a_silent_client_holds_up_nobody(track):
    """The header is read in the connection's own greenlet: while one client says nothing
    (the default deadline, 5 s, far away), the acceptor accepts and others are served."""
    watch = watched(track, True)
    with connect(watch.port) as silent:
        served = []
        for _ in range(3):  # accepted after the silent one (the kernel's accept queue is FIFO)
            served.append(echo_once(watch, v2_tcp4()))
            # The silent one is accepted, still waiting for its header, and nothing failed.
            waiting = [sock for sock in watch.server.open_connections if sock not in watch.seen]
            assert len(waiting) == 1 and not waiting[0].destroyed
            assert watch.failures.empty()
        assert [sock.remoteAddress for sock in served] == ["192.0.2.7"] * 3
        silent.close()  # it gives up: that fails it now, not at the deadline
        failure = watch.failure()
        check_failed(watch, failure, "Connection closed before a PROXY protocol header was received")


def test_a_listener_that_raises_is_reported_and_the_socket_still_destroyed(track, caplog):
    watch = watched(track, True)

    def listener(error, sock):
        raise RuntimeError("listener failed")

    watch.server.on("proxyProtocolError", listener)
    with recorded_greenlet_errors() as seen, connect(watch.port) as client:
        client.sendall(b"nonsense\r\n")
        failure = watch.failure()
        assert failure.closed.get(timeout=5) is True
        assert closed_by_peer(client)
    # The user's exception is reported once: by gevent, or logged where reporting.py exists.
    logged = [record for record in caplog.records if "listener failed" in repr(record.exc_info)]
    assert len(seen) + len(logged) == 1 and all(isinstance(error, RuntimeError) for error in seen)
    caplog.clear()
    echo_once(watch)


# ---------------------------------------------------------------------------
# The README's deployment example, run as written (its ports changed)


def readme_haproxy_config():
    readme = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")).read()
    section = readme.split("## Deployment behind a load balancer", 1)[1]
    return section.split("```haproxy\n", 1)[1].split("```", 1)[0]


def test_the_readme_haproxy_config_works(track, tmp_path):
    if HAPROXY is None:
        pytest.skip("haproxy is not installed")
    watch = watched(track, "v2")
    # As the README's handler: an 'error' listener (haproxy's checks reset), LOCAL checks ended.
    watch.server.on("connection", lambda sock: sock.on("error", lambda error: None))
    ipv6 = has_ipv6()
    ports = {"v4": free_port("127.0.0.1"), "v6": free_port("::1") if ipv6 else None}
    config = readme_haproxy_config()
    for old, new in (("    bind :80\n", "    bind 127.0.0.1:%d\n" % ports["v4"]),
                     ("    bind [::]:80 v6only\n", "    bind [::1]:%d v6only\n" % ports["v6"] if ipv6 else ""),
                     (" 127.0.0.1:8124 ", " 127.0.0.1:%d " % watch.port)):
        assert old in config
        config = config.replace(old, new)
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    log = open(str(tmp_path / "haproxy.log"), "wb")
    process = subprocess.Popen([HAPROXY, "-db", "-f", str(path)], stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        for host, port in (("127.0.0.1", ports["v4"]), ("::1", ports["v6"])):
            if port is None:
                continue
            client = None
            deadline = time.monotonic() + 10
            while client is None:  # until haproxy listens (no event says so)
                assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "haproxy.log").read_text()
                try:
                    client = gsocket.create_connection((host, port), timeout=5)
                except ConnectionRefusedError:
                    gevent.sleep(0.02)
            with client:
                client.sendall(PAYLOAD)
                sock = watch.accept()
                while sock.proxyHeader.command == "LOCAL":  # a health check came first
                    sock.end()
                    sock = watch.accept()
                family = "IPv6" if ":" in host else "IPv4"
                assert (sock.remoteAddress, sock.remotePort, sock.remoteFamily) == (*client.getsockname()[:2], family)
                assert (sock.localAddress, sock.localPort, sock.localFamily) == (host, port, family)
                sock.pipe(sock)
                assert receive(client, len(PAYLOAD)) == PAYLOAD
        assert watch.failures.empty()
    finally:
        process.kill()
        process.wait(5)
        log.close()


def test_stop_cuts_a_connection_still_waiting_for_its_header_quietly(track):
    watch = watched(track, True)
    with connect(watch.port) as silent:
        echo_once(watch).destroy()  # accepted after the silent one: that one is waiting now
        assert watch.server.stop(0.05) == 1  # ended, then cut at the deadline: nothing to report
        assert closed_by_peer(silent)
    assert watch.failures.empty() and watch.connections.empty()
