"""The scripts in examples/ run as real programs and behave as the API page says.

Each example is started as a subprocess (``sys.executable``) and spoken to with
plain stdlib sockets, as ``telnet`` or ``nc -U`` would.  Printed lines are read
by a reader thread into a queue and waited for with a deadline, never with a
fixed sleep.  Every subprocess is killed by the ``run_example`` fixture, whatever
happens.  When the suite itself runs monkey-patched
(``python tests/run_monkeypatched.py``), the examples are started with
``gevent.monkey.patch_all()`` applied first as well.
"""

import ast
import errno
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import gevent.monkey
import pytest

from conftest import kill_process

pytestmark = [
    pytest.mark.timeout(60),
    # Monkey-patched, gevent's subprocess forks (then execs at once) while its
    # thread pool runs; Python 3.12+ warns about any fork in a threaded process.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MONKEY = gevent.monkey.is_module_patched("socket")
WAIT = 15  # seconds: the most any single expectation may take

# Runs an example the way ``python examples/x.py args`` would, after patch_all().
_MONKEY_LAUNCHER = (
    "from gevent import monkey; monkey.patch_all()\n"
    "import runpy, sys\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


class Example:
    """One example script running as a subprocess, its output read line by line."""

    def __init__(self, name, *args, env=None):
        script = str(EXAMPLES / name)
        if MONKEY:
            command = [sys.executable, "-c", _MONKEY_LAUNCHER, script, *args]
        else:
            command = [sys.executable, script, *args]
        environ = dict(os.environ)
        # Test the working tree even if another copy of the package is installed.
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
        environ.pop("PYTHONUNBUFFERED", None)  # the examples must flush by themselves
        environ.pop("PORT", None)  # only what a test passes
        environ.update(env or {})
        self.name = name
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environ,
            cwd=tempfile.gettempdir(),
        )
        self.lines = queue.Queue()
        self.stdout = []  # every raw line, in order
        self.stderr = []
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout, self.lines), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr, None), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _pump(stream, sink, lines):
        for line in iter(stream.readline, b""):
            sink.append(line)
            if lines is not None:
                lines.put(line)
        if lines is not None:
            lines.put(None)  # EOF

    def _report(self):
        return "%s printed %r; stderr:\n%s" % (
            self.name,
            b"".join(self.stdout).decode(errors="replace"),
            b"".join(self.stderr).decode(errors="replace"),
        )

    def next_line(self, timeout=WAIT):
        """The next printed line (without its newline), or fail after *timeout* seconds."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail("%s printed nothing more within %ss; %s" % (self.name, timeout, self._report()))
        if line is None:
            self.lines.put(None)
            pytest.fail("%s exited (%s) early; %s" % (self.name, self.proc.poll(), self._report()))
        return line.decode().rstrip("\n")

    def expect(self, expected, timeout=WAIT, skip=()):
        """Wait for the line *expected* (a string, or a compiled regex to match).

        Lines in *skip* may come first; any other line fails the test.
        Returns the line (or the regex match).
        """
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(max(0.01, deadline - time.monotonic()))
            if isinstance(expected, str) and line == expected:
                return line
            if not isinstance(expected, str):
                match = expected.fullmatch(line)
                if match:
                    return match
            if line not in skip:
                pytest.fail("%s: expected %r, got %r; %s" % (self.name, expected, line, self._report()))

    def wait_exit(self, timeout=WAIT):
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail("%s did not exit within %ss; %s" % (self.name, timeout, self._report()))
        for thread in self._threads:
            thread.join(timeout)
        return code

    def kill(self):
        kill_process(self.proc)
        try:
            self.proc.wait(10)
        finally:
            for thread in self._threads:
                thread.join(5)
            for stream in (self.proc.stdout, self.proc.stderr):
                stream.close()


@pytest.fixture
def run_example():
    """``run_example(name, *argv, env={})`` starts an example; all are killed afterwards."""
    started = []

    def start(name, *args, env=None):
        example = Example(name, *args, env=env)
        started.append(example)
        return example

    # A background job (``tox &`` in a script, some CI runners) starts with SIGINT
    # ignored, children inherit that, and Python then leaves it ignored: the examples'
    # Ctrl-C would do nothing.  A signal this process handles is reset to the default
    # in a child at exec, so handle it while the examples start.
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield start
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        for example in started:
            example.kill()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_echo_server(run_example, name="echo_server.py"):
    """Start a fixed-port example on a free port: ``(example, port)`` once it printed 'server bound'.

    The port is free when chosen but could be taken before the example binds it
    (by anything on the machine); that case, and only that, is retried.
    """
    for _ in range(3):
        port = free_port()
        example = run_example(name, env={"PORT": str(port)})
        try:
            line = example.lines.get(timeout=WAIT)
        except queue.Empty:
            pytest.fail("%s printed nothing within %ss; %s" % (name, WAIT, example._report()))
        if line == b"server bound\n":
            return example, port
        if line is None and example.wait_exit() is not None and b"EADDRINUSE" in b"".join(example.stderr):
            continue  # lost the race for the port: try another one
        pytest.fail("%s: expected 'server bound', got %r; %s" % (name, line, example._report()))
    pytest.fail("no free port found for %s" % name)


def port_is_free(port):
    """Could the echo server (dual-stack '::', else 0.0.0.0, SO_REUSEADDR) bind *port*?"""
    for family, address in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):
        try:
            probe = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue
        with probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            try:
                probe.bind((address, port))
                probe.listen(1)
            except OSError as error:
                if error.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                    continue
                return False
            return True
    return False


def tcp(port):
    """What ``telnet localhost PORT`` does."""
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT)


def unix(path):
    """What ``nc -U PATH`` does."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(WAIT)
    sock.connect(path)
    return sock


def recv_exactly(sock, expected):
    """Read until len(expected) bytes arrived (or the peer closed); compare."""
    data = b""
    while len(data) < len(expected):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data == expected
    return data


def recv_to_eof(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def talk_to_echo_server(sock, server):
    """The telnet session of the API page, checked byte for byte and line for line."""
    with sock:
        recv_exactly(sock, b"hello\r\n")
        server.expect("client connected")
        sock.sendall(b"world!\r\n")
        recv_exactly(sock, b"world!\r\n")
        payload = "둘째 줄: ünïcödé\r\n".encode() + bytes(range(256)) + b"\r\n"
        sock.sendall(payload)
        recv_exactly(sock, payload)
        sock.shutdown(socket.SHUT_WR)  # telnet's ^] quit / nc's EOF
        assert recv_to_eof(sock) == b""  # the pipe ended our echo after the FIN
        server.expect("client disconnected")


def client_output_ok(raw):
    """The echo client's stdout: 'hello' and 'world!' may come in one 'data' or two."""
    first, last = b"connected to server!\n", b"disconnected from server\n"
    assert raw.startswith(first) and raw.endswith(last), raw
    middle = raw[len(first):-len(last)]
    assert middle.replace(b"\r\n\n", b"\r\n") == b"hello\r\nworld!\r\n", raw


# ----------------------------------------------------------------------
# echo_server.py


def test_echo_server_echoes_like_telnet_shows(run_example):
    server, port = start_echo_server(run_example)
    talk_to_echo_server(tcp(port), server)


def test_echo_server_serves_connections_side_by_side(run_example):
    server, port = start_echo_server(run_example)
    clients = [tcp(port) for _ in range(3)]
    try:
        for c in clients:
            recv_exactly(c, b"hello\r\n")
        for i, c in reversed(list(enumerate(clients))):
            c.sendall(b"line %d\r\n" % i)
        for i, c in enumerate(clients):
            recv_exactly(c, b"line %d\r\n" % i)
        for c in clients:
            c.shutdown(socket.SHUT_WR)
            assert recv_to_eof(c) == b""
    finally:
        for c in clients:
            c.close()
    for _ in clients:
        server.expect(re.compile("client (dis)?connected"))


def test_echo_server_on_its_default_port_8124(run_example):
    if not port_is_free(8124):
        pytest.skip("port 8124 is in use on this machine")
    server = run_example("echo_server.py")
    server.expect("server bound")
    talk_to_echo_server(tcp(8124), server)


def test_echo_client_against_echo_server(run_example):
    server, port = start_echo_server(run_example)
    client = run_example("echo_client.py", env={"PORT": str(port)})
    assert client.wait_exit() == 0, client._report()  # net.run() returns after 'close'
    client_output_ok(b"".join(client.stdout))
    server.expect("client connected")
    server.expect("client disconnected")


# ----------------------------------------------------------------------
# echo_server_unix.py


def test_echo_server_unix_speaks_like_nc_U(run_example, sock_dir):
    path = os.path.join(sock_dir, "echo.sock")
    server = run_example("echo_server_unix.py", path)
    server.expect("server bound")
    talk_to_echo_server(unix(path), server)

    client = run_example("echo_client.py", "--path", path)
    assert client.wait_exit() == 0, client._report()
    client_output_ok(b"".join(client.stdout))
    server.expect("client connected")
    server.expect("client disconnected")

    # Ctrl-C closes the server, and closing removes the socket file.
    server.proc.send_signal(signal.SIGINT)
    server.wait_exit()
    assert not os.path.exists(path)


# ----------------------------------------------------------------------
# eaddrinuse_retry.py


def test_eaddrinuse_retry_waits_for_the_port_then_serves(run_example):
    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        server = run_example("eaddrinuse_retry.py", env={"PORT": str(port)})
        server.expect("Address in use, retrying...")
        server.expect("Address in use, retrying...")  # it keeps trying, once a second
    finally:
        blocker.close()
    server.expect("server bound", skip={"Address in use, retrying..."})
    talk_to_echo_server(tcp(port), server)


# ----------------------------------------------------------------------
# random_port.py


def test_random_port_prints_its_address_as_json_and_says_goodbye(run_example):
    server = run_example("random_port.py")
    match = server.expect(re.compile(r"opened server on (\{.*\})"))
    address = json.loads(match.group(1))
    assert set(address) == {"address", "family", "port"}
    assert address["family"] in ("IPv4", "IPv6")
    assert address["address"] in ("::", "0.0.0.0")
    assert 0 < address["port"] < 65536
    # Node's %j is compact JSON: no spaces.
    assert match.group(1) == json.dumps(address, separators=(",", ":"))
    for _ in range(2):
        with tcp(address["port"]) as c:
            assert recv_to_eof(c) == b"goodbye\n"


# ----------------------------------------------------------------------
# every example says how to try it


API_PAGE_EXAMPLES = ["echo_server.py", "echo_server_unix.py", "echo_client.py", "eaddrinuse_retry.py", "random_port.py"]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_every_example_has_a_docstring_saying_how_to_run_it(path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc, "%s has no module docstring" % path.name
    assert "python examples/%s" % path.name in doc


@pytest.mark.parametrize("name", API_PAGE_EXAMPLES)
def test_api_page_examples_are_node_shaped(name):
    source = (EXAMPLES / name).read_text(encoding="utf-8")
    assert "import nodenet_gevent as net" in source
    assert "net.run()" in source  # a Node port ends by running the loop


# ----------------------------------------------------------------------
# graceful_shutdown.py: a real subprocess sent SIGTERM


def test_graceful_shutdown_ends_clients_then_exits_on_sigterm(run_example):
    example = run_example("graceful_shutdown.py", env={"PORT": "0", "STOP_TIMEOUT": "5"})
    port = int(example.expect(re.compile(r"listening on (\d+)")).group(1))
    with tcp(port) as polite, tcp(port) as quiet:
        polite.sendall(b"hello\n")
        assert recv_exactly(polite, b"HELLO\n") == b"HELLO\n"
        quiet.sendall(b"x")
        assert recv_exactly(quiet, b"X") == b"X"
        example.proc.send_signal(signal.SIGTERM)
        example.expect("stopping: 2 open")
        # Each client gets its FIN: the server ended them; they end too and are not cut.
        assert recv_to_eof(polite) == b""
        assert recv_to_eof(quiet) == b""
        polite.shutdown(socket.SHUT_WR)
        quiet.shutdown(socket.SHUT_WR)
        example.expect("stopped: 0 cut")
    assert example.wait_exit() == 0


def test_graceful_shutdown_cuts_a_client_that_never_closes(run_example):
    example = run_example("graceful_shutdown.py", env={"PORT": "0", "STOP_TIMEOUT": "0.3"})
    port = int(example.expect(re.compile(r"listening on (\d+)")).group(1))
    with tcp(port) as stubborn:
        stubborn.sendall(b"hi")
        assert recv_exactly(stubborn, b"HI") == b"HI"
        example.proc.send_signal(signal.SIGTERM)
        example.expect("stopping: 1 open")
        example.expect("stopped: 1 cut")  # it never sent its FIN back: cut at the deadline
    assert example.wait_exit() == 0


def test_tls_echo_server_as_its_docstring_says(run_example):
    """examples/tls_echo_server.py: a verified stdlib ssl client, then ``openssl s_client`` as the docstring runs it."""
    pytest.importorskip("trustme")
    import ssl

    for _ in range(3):
        port = free_port()
        server = run_example("tls_echo_server.py", env={"PORT": str(port)})
        ca_file = server.expect(re.compile("CA file: (.+)")).group(1)
        line = server.lines.get(timeout=WAIT)
        if line == b"server bound\n":
            break
        if line is None and server.wait_exit() is not None and b"EADDRINUSE" in b"".join(server.stderr):
            continue  # lost the race for the port (as start_echo_server): try another one
        pytest.fail("expected 'server bound', got %r; %s" % (line, server._report()))
    else:
        pytest.fail("no free port found for tls_echo_server.py")
    context = ssl.create_default_context(cafile=ca_file)
    with context.wrap_socket(tcp(port), server_hostname="localhost") as tls_client:
        recv_exactly(tls_client, b"welcome!\n")
        tls_client.sendall(b"over TLS\n")
        recv_exactly(tls_client, b"over TLS\n")
        assert tls_client.version() == "TLSv1.3"
    server.expect("server connected unauthorized")
    server.expect("client disconnected", skip=("tlsClientError ECONNRESET",))
    openssl = shutil.which("openssl")
    if openssl is None:
        return
    proc = subprocess.Popen(
        [openssl, "s_client", "-connect", "localhost:%d" % port, "-CAfile", ca_file, "-verify_return_error",
         "-quiet", "-no_ign_eof"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        proc.stdin.write(b"typed line\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == b"welcome!\n"
        assert proc.stdout.readline() == b"typed line\n"
        proc.stdin.close()
        assert proc.wait(WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    server.expect("server connected unauthorized")
    server.expect("client disconnected")
