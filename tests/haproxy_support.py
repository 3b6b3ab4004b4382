"""A real haproxy for the tests: started in the foreground with a frontend per case.

Used by tests/test_proxy_protocol.py (haproxy relays to plain gevent listeners and the test
parses what arrives) and tests/test_proxy_server.py (haproxy relays to net servers with
``proxyProtocol``).  A case is a :class:`Frontend`: where haproxy listens (TCP on 127.0.0.1 or
::1, or a Unix socket), which header it sends, and the backend port -- ``None`` for a plain
gevent listener made here, whose connections :meth:`HAProxy.accept` hands out.
"""

import os
import shutil
import socket as stdlib_socket
import subprocess
import time
from typing import NamedTuple, Optional

import gevent
import gevent.socket as gsocket
import pytest

from nodenet_gevent.proxy_protocol import ProxyProtocolError, read_header
from conftest import has_ipv6, kill_process, scratch_dir

# Debian installs it in /usr/sbin, which a user's PATH may lack.
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/local/sbin:/usr/sbin")

HAPROXY_CONFIG = """\
global
    maxconn 64
    nbthread 1

defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s

# Only for knowing haproxy is up: no server, so a probe connection reaches no backend.
frontend ready
    bind 127.0.0.1:{ready}
    default_backend nowhere
backend nowhere
{frontends}{checks}"""

CHECKS = """
# Health checks with the header: v2 sends LOCAL, v1 the check connection's own addresses.
# A check waits (up to "timeout check") for the backend to say "pong": a plain connect
# check would reset its connection at once, before the test could read from it.
backend check-v1
    option tcp-check
    tcp-check expect string pong
    timeout check 10s
    server s 127.0.0.1:{check_v1} check check-send-proxy send-proxy inter 300ms
backend check-v2
    option tcp-check
    tcp-check expect string pong
    timeout check 10s
    server s 127.0.0.1:{check_v2} check check-send-proxy send-proxy-v2 inter 300ms
"""

FRONTEND = """
frontend {name}
    bind {bind}
    unique-id-format %ci:%cp
    default_backend {name}
backend {name}
    server s 127.0.0.1:{backend} {send}
"""

#: haproxy's server keywords for each header version.
SEND = {"v1": "send-proxy", "v2": "send-proxy-v2 proxy-v2-options unique-id"}


class Frontend(NamedTuple):
    name: str
    version: str  # 'v1' or 'v2': send-proxy or send-proxy-v2
    host: str  # '127.0.0.1', '::1' or 'unix'
    backend: Optional[int] = None  # a port on 127.0.0.1, or None: a plain listener made here


def free_port(host):
    probe = stdlib_socket.socket(stdlib_socket.AF_INET6 if ":" in host else stdlib_socket.AF_INET)
    with probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def listener():
    sock = gsocket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


class HAProxy:
    """A haproxy in the foreground with a frontend per case, each relaying to its backend.

    Cases on ``::1`` are left out where the machine has no IPv6 (``frontends`` lacks them).
    *checks*: also the two health-check backends ``check-v1`` and ``check-v2``.
    """

    def __init__(self, directory, cases, checks=False):
        self.directory = directory
        self.ipv6 = has_ipv6()
        self.cases = [case for case in cases if case.host != "::1" or self.ipv6]
        self.checks = checks
        self.backends = {}  # name -> the gevent socket haproxy connects to (the plain listeners)
        self.frontends = {}  # name -> what a client connects to: (host, port), or a Unix path
        self.process = None
        self.log = os.path.join(str(directory), "haproxy.log")

    def start(self, attempts=3):
        for _ in range(attempts):
            config = self._write_config()
            with open(self.log, "wb") as log:
                self.process = subprocess.Popen([HAPROXY, "-db", "-f", config], stdin=subprocess.DEVNULL,
                                                stdout=log, stderr=subprocess.STDOUT)
            if self._wait_ready(10):
                return
            # A port taken between free_port() and haproxy's bind: try other ports.
            self.stop()
        pytest.fail("haproxy did not start:\n" + self.output())

    def config(self):
        """The configuration haproxy runs with."""
        with open(os.path.join(str(self.directory), "haproxy.cfg")) as config:
            return config.read()

    def _write_config(self):
        for sock in self.backends.values():
            sock.close()
        self.backends.clear()
        frontends = []
        for name, version, host, backend in self.cases:
            if backend is None:
                self.backends[name] = listener()
                backend = self.backends[name].getsockname()[1]
            if host == "unix":
                path = os.path.join(scratch_dir("pp-"), "fe.sock")
                self.frontends[name] = path
                bind = "unix@" + path
            else:
                self.frontends[name] = (host, free_port(host))
                bind = ("[%s]:%d" if ":" in host else "%s:%d") % self.frontends[name]
            frontends.append(FRONTEND.format(name=name, bind=bind, backend=backend, send=SEND[version]))
        checks = ""
        if self.checks:
            for name in ("check-v1", "check-v2"):
                self.backends[name] = listener()
            checks = CHECKS.format(check_v1=self.backends["check-v1"].getsockname()[1],
                                   check_v2=self.backends["check-v2"].getsockname()[1])
        self.ready = ("127.0.0.1", free_port("127.0.0.1"))
        path = os.path.join(str(self.directory), "haproxy.cfg")
        with open(path, "w") as config:
            config.write(HAPROXY_CONFIG.format(ready=self.ready[1], frontends="".join(frontends), checks=checks))
        return path

    def _wait_ready(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                gsocket.create_connection(self.ready, timeout=1).close()
                return True
            except OSError:
                gevent.sleep(0.02)
        return False

    def output(self):
        with open(self.log, "rb") as log:
            return log.read().decode("utf-8", "replace")

    def connect(self, name):
        target = self.frontends[name]
        if isinstance(target, str):
            client = gsocket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
            client.settimeout(5)
            client.connect(target)
            return client
        if target[0] == "127.0.0.1":
            # From another loopback address, so that the header's source and destination
            # addresses differ (Linux routes all of 127/8 to lo; elsewhere, from 127.0.0.1).
            try:
                return gsocket.create_connection(target, timeout=5, source_address=("127.0.0.2", 0))
            except OSError:
                pass
        return gsocket.create_connection(target, timeout=5)

    def accept(self, name, seconds=5):
        with gevent.Timeout(seconds, AssertionError("haproxy did not connect to backend %s:\n%s"
                                                    % (name, self.output()))):
            conn, _ = self.backends[name].accept()
        conn.settimeout(5)
        return conn

    def accept_check(self, name, mode, seconds=5):
        """The next live health check on backend *name*: ``(conn, header, peer, local address)``.

        Checks come every 300 ms whether a test reads them or not; the ones queued before this
        test may have been given up by haproxy (reset, gone): those are skipped.
        """
        deadline = time.monotonic() + seconds
        failures = []
        while time.monotonic() < deadline:
            conn = self.accept(name, seconds)
            try:
                found, leftover = read_header(conn, mode, 2)
                assert leftover == b""
                return conn, found, conn.getpeername(), conn.getsockname()
            except (OSError, ProxyProtocolError) as error:
                failures.append(error)
                conn.close()
        pytest.fail("no live health check on %s in %s s: %r\n%s" % (name, seconds, failures, self.output()))

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            kill_process(self.process)
            self.process.wait(5)
        self.process = None

    def close(self):
        self.stop()
        for sock in self.backends.values():
            sock.close()


def running_haproxy(directory, cases, checks=False):
    """A generator for a module fixture: skips without haproxy, yields it started, stops it."""
    if HAPROXY is None:
        pytest.skip("haproxy is not installed (apt-get install haproxy; .ci/run installs it when it can)")
    proxy = HAProxy(directory, cases, checks)
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.close()
        assert proxy.process is None
