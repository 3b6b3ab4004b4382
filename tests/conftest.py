"""Shared fixtures: servers and sockets that are always cleaned up, and mustCall.

The suite runs twice: plainly (``pytest``) and with ``gevent.monkey.patch_all()``
applied first (``python tests/run_monkeypatched.py``); ``MONKEY`` says which.
"""

import atexit
import collections
import contextlib
import os
import shutil
import socket as stdlib_socket
import sys
import tempfile
from pathlib import Path

import gevent
import gevent.monkey
import pytest

import nodenet_gevent as net
from nodenet_gevent.reporting import log_error as report_to_log
from nodenet_gevent.reporting import set_error_reporter

MONKEY = gevent.monkey.is_module_patched("socket")
NODE = shutil.which("node")


def _keep_forked_children_out_of_the_hub():
    """gevent 24.10.1 on Python 3.13, monkey-patched: a forked child must not run our greenlets.

    In the child of a fork (every subprocess the suite starts), gevent's
    ``after_fork_in_child`` hook marks each other green "thread" done with
    ``_ThreadHandle._set_done()``, which sleeps 1 ms: the child's hub runs copies
    of this process's greenlets on the sockets and the epoll instance it shares
    with us until its exec (tests/test_fork_child.py says what that breaks).
    Later gevents call ``_set_done(enter_hub=False)`` there; this does the same
    for the ones whose ``_set_done`` has no such parameter, during fork only.
    """
    if not MONKEY or sys.version_info < (3, 13):
        return
    import inspect

    import gevent.thread

    handle = getattr(gevent.thread, "_ThreadHandle", None)
    if handle is None or "enter_hub" in inspect.signature(handle._set_done).parameters:
        return
    set_done = handle._set_done
    forking = []

    def _set_done(self):
        if forking:  # gevent's after-fork hook, in the child: done, without entering the hub
            self._greenlet_ref = None
            return
        set_done(self)

    handle._set_done = _set_done
    # before hooks run last-registered first, so ours runs before gevent's; after_in_child ones in
    # the order registered, so ours (clearing the flag) after gevent's.
    os.register_at_fork(before=lambda: forking.append(True), after_in_parent=forking.clear,
                        after_in_child=forking.clear)


_keep_forked_children_out_of_the_hub()


_scratch_root = []


def scratch_dir(prefix="nodenet-"):
    """A new private directory for Unix socket files, removed when the test process exits.

    Short on purpose (a socket path must fit in 108 bytes), so not pytest's tmp_path.
    """
    if not _scratch_root:
        _scratch_root.append(tempfile.mkdtemp(prefix="nodenet-tests-"))
        atexit.register(shutil.rmtree, _scratch_root[0], True)
    return tempfile.mkdtemp(prefix=prefix, dir=_scratch_root[0])


@pytest.fixture
def sock_dir():
    """A :func:`scratch_dir` for one test's Unix socket files, removed when the test ends."""
    path = scratch_dir("nodenet-sock-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def pytest_report_header(config):
    return "nodenet_gevent: gevent %s, monkey-patched: %s" % (gevent.__version__, MONKEY)


class Tracker:
    """Keeps every server/socket a test makes, and closes them all afterwards."""

    def __init__(self):
        self.servers = []
        self.sockets = []

    def server(self, *args, **kwargs):
        server = net.create_server(*args, **kwargs)
        self.servers.append(server)
        server.on("connection", self.sockets.append)
        return server

    def listen(self, handler=None, host="127.0.0.1", **options):
        """A listening TCP server on *host*, port chosen by the OS; waits for 'listening'."""
        server = self.server(options, handler) if handler else self.server(options)
        server.listen(0, host)
        net.once(server, "listening", timeout=5)
        return server

    def listen_unix(self, handler=None, **options):
        path = os.path.join(scratch_dir(), "s.sock")
        server = self.server(options, handler) if handler else self.server(options)
        server.listen(path)
        net.once(server, "listening", timeout=5)
        return server, path

    def connect(self, *args, **kwargs):
        sock = net.connect(*args, **kwargs)
        self.sockets.append(sock)
        return sock

    def close_all(self):
        for sock in self.sockets:
            sock.destroy()
        for server in self.servers:
            if server.listening:
                server.close()
        gevent.sleep(0)


@pytest.fixture
def track():
    tracker = Tracker()
    yield tracker
    tracker.close_all()


class MustCall:
    """Node's ``common.mustCall``: wrapped callbacks must run exactly as often as said."""

    def __init__(self):
        self.expected = []

    def __call__(self, fn=None, times=1):
        calls = collections.Counter()

        def wrapper(*args):
            calls["n"] += 1
            return fn(*args) if fn is not None else None

        self.expected.append((fn, wrapper, calls, times))
        return wrapper

    def never(self, name="callback"):
        return self(lambda *a: pytest.fail("%s must not be called (args %r)" % (name, a)), 0)

    def check(self):
        for fn, _wrapper, calls, times in self.expected:
            name = getattr(fn, "__name__", "callback")
            assert calls["n"] == times, "%s ran %d times, expected %d" % (name, calls["n"], times)


@pytest.fixture
def must_call():
    checker = MustCall()
    yield checker
    checker.check()


def read_all(sock, timeout=5):
    """Collect 'data' until 'end'; returns the bytes (or str) received."""
    chunks = []
    sock.on("data", chunks.append)
    net.once(sock, "end", timeout=timeout)
    return (chunks[0][:0] if chunks else b"").join(chunks)


def raises(exception, code, call, message=None):
    """``call()`` raises *exception* with Node's *code* (and, if given, exactly *message*); returns it."""
    with pytest.raises(exception) as info:
        call()
    assert info.value.code == code
    if message is not None:
        assert str(info.value) == message
    return info.value


def kill_process(proc):
    """Kill *proc* unless it is gone.  Under gevent's child watcher (libuv, patch_all()) the
    process may be reaped in the hub just before its ``returncode`` is set, so ``poll()`` says
    running while ``kill()`` would raise ``ProcessLookupError``."""
    if proc.poll() is None:
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def wait_until(predicate, timeout=5, message="condition"):
    """Poll *predicate* cooperatively; for states no single event announces."""
    deadline = gevent.get_hub().loop.now() + timeout
    while not predicate():
        if gevent.get_hub().loop.now() > deadline:
            pytest.fail("timed out waiting for %s" % message)
        gevent.sleep(0.005)


class _Flag:
    def __init__(self):
        import gevent.event

        self.event = gevent.event.Event()
        self.args = None

    def __call__(self, *args):
        self.args = args
        self.event.set()

    def wait(self, timeout=5):
        return self.event.wait(timeout)

    def is_set(self):
        return self.event.is_set()


def event_flag(emitter, event):
    """A flag set when *emitter* emits *event*; ``.args`` holds its arguments (errors not raised)."""
    flag = _Flag()
    emitter.on(event, flag)
    return flag


class recorded_greenlet_errors:
    """Record the exceptions gevent reports from greenlets, instead of printing them.

    ``with recorded_greenlet_errors() as seen:`` -- *seen* is the list of exception values.
    What the loop itself raises (``context`` ``None``: an exception from a signal
    handler, as pytest-timeout's ``Timeout``) and system errors (``KeyboardInterrupt``,
    ``SystemExit``) still go to the hub's own handler, which throws them into the main
    greenlet: recording those too would swallow a test's timeout and let it hang on.
    """

    def __init__(self):
        self.seen = []
        self.hub = gevent.get_hub()

    def _handle_error(self, context, kind, value, tb):
        if context is None or (kind is not None and issubclass(kind, self.hub.SYSTEM_ERROR)):
            self._original(context, kind, value, tb)
        else:
            self.seen.append(value)

    def __enter__(self):
        self._saved = self.hub.__dict__.get("handle_error")
        self._original = self.hub.handle_error
        self.hub.handle_error = self._handle_error
        # What the library reports of its handlers' exceptions (reporting.py) too.
        set_error_reporter(lambda error, emitter: self.seen.append(error))
        return self.seen

    def __exit__(self, *exc):
        set_error_reporter(None)
        if self._saved is None:
            del self.hub.handle_error
        else:
            self.hub.handle_error = self._saved


def check_greenlet_errors(request, must_call):
    """Body of the Node-port fixtures that fail a test on an uncaught exception in a greenlet.

    Node's test runner fails a test on any uncaught exception, including one thrown
    inside an event handler; here handlers run in greenlets, where gevent only
    reports (prints) it.  This records what the hub reports while the test runs,
    still printing it, and fails the test at teardown.  A test that expects such
    a report removes it from the yielded list.  Not counted: a failed
    ``getaddrinfo`` that gevent's thread pool reports (context ``(worker,
    function)``) -- it is handed back to the caller as well.  In a test marked
    ``xfail`` (a known library bug) the reports are only printed: failing the
    teardown would turn the expected failure into an error.  For the same reason,
    in an ``xfail`` test ``must_call``'s counts are checked by the test body itself
    (``must_call.check()`` as its last line), not at teardown.  Once the bug is
    fixed and the mark removed, both teardown checks apply again.

    Used as ``yield from check_greenlet_errors(request, must_call)`` in an autouse
    fixture of tests/node's support modules.
    """
    hub = gevent.get_hub()
    errors = []
    contexts = {}
    original = hub.handle_error

    def handle_error(context, kind, value, tb):
        from_resolver = isinstance(context, tuple) and isinstance(value, (stdlib_socket.gaierror, UnicodeError))
        if kind is not None and not issubclass(kind, hub.NOT_ERROR) and not from_resolver:
            errors.append(value)
            contexts[id(value)] = context
        return original(context, kind, value, tb)

    def reporter(error, emitter):
        # The library reports its handlers' exceptions itself (reporting.py): count them, and log.
        errors.append(error)
        contexts[id(error)] = emitter
        report_to_log(error, emitter)

    hub.handle_error = handle_error
    set_error_reporter(reporter)
    try:
        yield errors
    finally:
        set_error_reporter(None)
        try:
            del hub.handle_error
        except AttributeError:
            pass
    expected_failure = request.node.get_closest_marker("xfail") is not None
    if expected_failure:
        must_call.expected.clear()
    elif errors:
        raise AssertionError(
            "%d uncaught exception(s) in greenlets; first in %r: %r" % (len(errors), contexts[id(errors[0])], errors[0])
        ) from errors[0]


def has_ipv6():
    """Node's ``common.hasIPv6``: ``::1`` can be bound here."""
    if not stdlib_socket.has_ipv6:
        return False
    try:
        with stdlib_socket.socket(stdlib_socket.AF_INET6, stdlib_socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@contextlib.contextmanager
def refused_port(host="127.0.0.1"):
    """A port that refuses connections: bound on *host* but never listening.

    Node's tests use ``common.PORT`` with "hopefully nothing is running"; holding
    the port bound (without ``listen``) makes that certain for the test's life.
    """
    family = stdlib_socket.AF_INET6 if ":" in host else stdlib_socket.AF_INET
    holder = stdlib_socket.socket(family, stdlib_socket.SOCK_STREAM)
    try:
        holder.bind((host, 0))
        yield holder.getsockname()[1]
    finally:
        holder.close()


TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
              7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"}


def tcp_info(local_port, remote_port):
    """The kernel's view of one loopback TCP connection, from ``/proc/net/tcp{,6}``.

    ``{'state': 'ESTABLISHED', 'tx_queue': bytes not yet acknowledged, 'rx_queue': bytes
    received and not yet read}`` for the socket with these ports, or ``None`` when the
    kernel lists none (a socket reset or closed is no longer listed).  For states that
    no event announces: "the peer's RST arrived", "data waits unread in the kernel".
    """
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as table:
                next(table)
                for line in table:
                    fields = line.split()
                    ports = [int(address.rsplit(":", 1)[1], 16) for address in fields[1:3]]
                    if ports == [local_port, remote_port]:
                        tx_queue, rx_queue = (int(n, 16) for n in fields[4].split(":"))
                        return {"state": TCP_STATES.get(int(fields[3], 16), fields[3]), "tx_queue": tx_queue,
                                "rx_queue": rx_queue}
        except FileNotFoundError:
            continue
    return None


def load_soak():
    """``benchmarks/soak.py`` as a module: its peers and measurements serve the load and fault tests."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"
    spec = importlib.util.spec_from_file_location("nodenet_soak", str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def certs():
    """The TLS tests' certificates (tests/tls_support.py), made once per run."""
    pytest.importorskip("trustme")
    from tls_support import Certs

    return Certs()
