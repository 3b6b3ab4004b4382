"""Bad input: every public entry point, fuzzed with hypothesis.

``listen``, ``createServer``, ``connect``, ``Socket(...)``, ``Socket.connect``,
``write``, ``end``, ``setTimeout``, ``setEncoding``, ``setKeepAlive``,
``setNoDelay``, ``address`` and the server's methods get arbitrary arguments (None,
bools, huge and negative numbers, NaN and infinities, odd strings, bytes, nested
lists and dicts with every option name, callables, objects), on sockets in every
state, including garbage bytes, zero-length and 64 MiB writes.  What may happen:

* a ``TypeError`` or ``ValueError`` carrying Node's ``code`` (``ERR_...``),
* an ``'error'`` event carrying a ``code``, or
* for a call in the wrong state rather than with a bad argument (``listen`` on a
  listening server, ``connect`` on a connecting socket), Node's state error
  (``ERR_SERVER_ALREADY_LISTEN``, ``ERR_SOCKET_CONNECTED``),

never another exception type, never an exception gevent has to report from a
greenlet, never a hang (every call and every settling is bounded), and never a
leaked descriptor (``/proc/self/fd`` listed before and after every example).

Arguments that would touch the world are steered, not dropped: a valid port becomes
a free one (0), a port that is busy, the port of an echo server here or a refused
one; a host name becomes loopback, ``localhost`` or one that fails before any DNS
query; a Unix path is kept (NULs, length and all) but placed in a private
directory; a descriptor number becomes a duplicate of a socket (or pipe) made for
the example.  Python's own ``TypeError`` for a call with too many positional
arguments is the language's, not the library's, and is not generated.

The bugs these fuzzers found each have a regression test of their own at the
bottom.

Default: 150 examples per entry point, derandomized (CI sees the same cases every
run) and not shrunk (a failure is reported as found); ``NODENET_LONG=1``: 1,000,
random, shrunk.
"""

import gc
import math
import os
import reprlib
import shutil
import socket as stdlib_socket
import sys
import tempfile

import gevent
import gevent.socket as gsocket
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import nodenet_gevent as net
from conftest import event_flag, recorded_greenlet_errors

LONG = os.environ.get("NODENET_LONG") == "1"

pytestmark = pytest.mark.timeout(1800 if LONG else 180)

SETTINGS = settings(
    max_examples=1000 if LONG else 150,
    deadline=None,
    derandomize=not LONG,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    # In CI a failure is reported as found, unshrunk: shrinking examples that each wait
    # out a timeout could outlast the job.  Long runs shrink.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink] if LONG
    else [Phase.explicit, Phase.reuse, Phase.generate],
)

#: Errors for a call made in the wrong state (Node throws plain Errors for these).
STATE_ERRORS = {"ERR_SERVER_ALREADY_LISTEN", "ERR_SOCKET_CONNECTED"}
HANG = 5  # seconds any single call or settling may take
BAD_FD = 999999  # a descriptor number nobody has open


def open_fds():
    """``{(fd, what it is)}`` for this process: ``'socket:[inode]'``, a path, a pipe."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            found.add((int(name), os.readlink("/proc/self/fd/" + name)))
        except OSError:  # the descriptor listdir itself used
            pass
    return found


# ---------------------------------------------------------------------------
# values

OPTION_KEYS = [
    "port", "host", "path", "backlog", "exclusive", "ipv6Only", "ipv6_only", "reusePort", "reuse_port",
    "readableAll", "writableAll", "allowHalfOpen", "allow_half_open", "pauseOnConnect", "pause_on_connect",
    "highWaterMark", "high_water_mark", "fd", "readable", "writable", "family", "localAddress", "local_address",
    "localPort", "local_port", "timeout", "noDelay", "keepAlive", "keepAliveInitialDelay", "handle", "_handle",
    "hints", "lookup", "signal", "objectMode", "readableObjectMode", "writableObjectMode", "encoding", "callback",
]

STRINGS = [
    "", " ", "0", "1", "80", "8124", "65535", "65536", "-1", " 12 ", "0x1F", "0o17", "0b1", "1e3", "1.5", ".5e1",
    "Infinity", "-Infinity", "NaN", "1_000", "\u0668\u0660",
    "utf8", "UTF-8", "utf-8", "hex", "base64", "base64url", "ucs2", "ucs-2", "utf16le", "utf-16le", "latin1",
    "binary", "ascii", "buffer", "utf32",
    "localhost", "127.0.0.1", "::1", "::", "0.0.0.0", "::ffff:127.0.0.1", "fe80::1%lo", "10.255.255.1",
    "256.0.0.1", "a..b", "x" * 300, "local\x00host",
    "\x00", "a\x00b", "s.sock", "x" * 120, "dir/none/s.sock", "../escape", "\u00fc\u20ac\U0001d11e", "true",
]


def _callback():
    # Functions that take anything and do nothing: an exception raised by a user's own
    # callback is the user's (gevent reports it, by design), so none is generated.
    return st.builds(lambda: (lambda *args, **kwargs: None))


class _Weird:
    """An object that is none of the things any argument should be."""

    def __repr__(self):
        return "<weird>"


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.sampled_from([0, 1, -1, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 53, 2 ** 63, sys.maxsize, -(2 ** 63)]),
    # No subnormals: some gevent wheels (the 21.x floor) are built with -ffast-math,
    # which turns them off for the whole process, and hypothesis then refuses to draw floats.
    st.floats(allow_subnormal=False),
    st.sampled_from([0.0, -0.0, 0.5, 1.5, 1e300, -1e300, math.inf, -math.inf, math.nan, 80.0]),
    st.text(max_size=12),
    st.sampled_from(STRINGS),
    st.binary(max_size=12),
    st.binary(max_size=12).map(bytearray),
    st.binary(max_size=12).map(memoryview),
    st.complex_numbers(max_magnitude=10, allow_nan=False, allow_subnormal=False),
    _callback(),
    st.builds(_Weird),
    st.just(Ellipsis),
)
keys = st.one_of(st.sampled_from(OPTION_KEYS), st.text(max_size=6))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=6,
)
options = st.dictionaries(st.sampled_from(OPTION_KEYS), values, max_size=5)
kwargs_ = st.dictionaries(st.sampled_from([k for k in OPTION_KEYS if k.isidentifier()]), values, max_size=3)


def arg_lists(max_size):
    return st.lists(st.one_of(values, options), max_size=max_size)


# ---------------------------------------------------------------------------
# one example's world: what it may touch, and the check that it left nothing behind


class World:
    def __init__(self, env):
        self.env = env
        self.emitters = []
        self.error_events = []
        self.lent = []  # (fd, inode) of descriptors lent to the library
        self.not_sockets = set()  # lent descriptors that are no socket (pipe ends)
        self.pool = []  # sockets the lent descriptors are duplicates of
        self.reported = []

    # steering ----------------------------------------------------------

    def port(self, value, purpose):
        number = _number(value)
        if number is None or isinstance(value, bool) or not (1 <= number <= 65535) or number != int(number):
            return value  # not a usable port: the library must refuse it
        choices = {
            "listen": [0, self.env.busy_port],
            "connect": [self.env.refused_port, self.env.echo_port],
            "local": [0, self.env.busy_port],
        }[purpose]
        chosen = choices[int(number) % len(choices)]
        return type(value)(chosen) if isinstance(value, (int, float, str)) else chosen

    def path(self, value):
        if isinstance(value, bytes):
            return os.path.join(self.env.dir.encode(), value.replace(b"/", b"_").replace(b".", b"_") or b"_")
        if isinstance(value, str) and _number(value) is None:
            return os.path.join(self.env.dir, value.replace("/", "_").replace(".", "_") or "_")
        return value

    def host(self, value, purpose):
        if not isinstance(value, str) or value == "":
            return value
        if net.isIP(value) and (purpose == "listen" or value in ("127.0.0.1", "::1", "::ffff:127.0.0.1")):
            return value  # binding a non-local address fails at once; connecting to one could hang
        safe = ["127.0.0.1", "localhost", "::1", "a..b", "x" * 300, "local\x00host"]
        return safe[len(value) % len(safe)]

    def fd(self, value):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2 ** 31 - 1:
            return value
        if value >= BAD_FD:
            return BAD_FD
        kinds = ["connected", "unconnected", "bound", "listening", "unix", "pipe"]
        return self.lend(kinds[value % len(kinds)])

    def lend(self, kind):
        if kind == "pipe":
            fd, writer = os.pipe()
            os.close(writer)
            self.not_sockets.add(fd)
        else:
            if kind == "unix":
                sock = stdlib_socket.socket(stdlib_socket.AF_UNIX)
            else:
                sock = stdlib_socket.socket()
            if kind == "connected":
                sock.connect(("127.0.0.1", self.env.echo_port))
            elif kind in ("bound", "listening"):
                sock.bind(("127.0.0.1", 0))
                if kind == "listening":
                    sock.listen(1)
            self.pool.append(sock)
            fd = os.dup(sock.fileno())
        self.lent.append((fd, os.fstat(fd).st_ino))
        return fd

    def options(self, opts, purpose):
        if not isinstance(opts, dict):
            return opts
        opts = dict(opts)
        for key in list(opts):
            value = opts[key]
            if key == "port":
                opts[key] = self.port(value, purpose)
            elif key in ("localPort", "local_port"):
                opts[key] = self.port(value, "local")
            elif key == "path":
                opts[key] = self.path(value)
            elif key == "host":
                opts[key] = self.host(value, purpose)
            elif key == "fd":
                opts[key] = self.fd(value)
            elif key in ("handle", "_handle"):
                opts[key] = self.options(value, purpose) if isinstance(value, dict) else self.fd(value)
        return opts

    def call_args(self, args, purpose):
        """Steer ``listen``/``connect`` positional arguments (port/path, host, ...)."""
        steered = []
        for index, value in enumerate(args):
            if isinstance(value, dict):
                value = self.options(value, purpose)
            elif index == 0:
                value = self.path(value) if isinstance(value, (str, bytes)) and _number(value) is None \
                    else self.port(value, purpose)
            elif index == 1 and isinstance(value, str):
                value = self.host(value, purpose)
            elif isinstance(value, str) and _number(value) is None:
                value = self.path(value)
            steered.append(value)
        return steered

    # calling -----------------------------------------------------------

    def watch(self, emitter):
        if isinstance(emitter, (net.Socket, net.Server)) and emitter not in self.emitters:
            self.emitters.append(emitter)
            emitter.on("error", self.error_events.append)
            if isinstance(emitter, net.Server):
                # Its connections are destroyed at cleanup too: left to notice their
                # peer's close by themselves, they may still hold their descriptor when
                # the leak check looks (seen once, under load).
                emitter.on("connection", self.watch)
        return emitter

    def call(self, fn, *args, **kwargs):
        """Call; a bad argument may raise a Node-coded TypeError/ValueError, nothing else."""
        timer = gevent.Timeout(HANG, AssertionError("call hung: %s%s" % (_name(fn), reprlib.repr(args))))
        timer.start()
        try:
            result = fn(*args, **kwargs)
        except (TypeError, ValueError) as error:
            code = getattr(error, "code", None)
            assert isinstance(code, str) and code.startswith("ERR_"), (
                "%s without a Node code from %s%s: %r" % (type(error).__name__, _name(fn), reprlib.repr(args), error))
            return None
        except net.NodeError as error:
            # Not a bad argument but a call in the wrong state, as Node throws it.
            assert error.code in STATE_ERRORS, "%s from %s%s" % (error.code, _name(fn), reprlib.repr(args))
            return None
        finally:
            timer.close()
        return self.watch(result)

    # settling and cleaning up -----------------------------------------

    def settle(self):
        """Let events come; every emitter must stop changing state within HANG seconds."""
        deadline = gevent.get_hub().loop.now() + HANG
        gevent.sleep(0.01)
        while any(isinstance(e, net.Socket) and e.connecting for e in self.emitters):
            assert gevent.get_hub().loop.now() < deadline, "a socket is still connecting after %ss" % HANG
            gevent.sleep(0.01)

    def cleanup(self):
        for emitter in self.emitters:
            if isinstance(emitter, net.Socket):
                emitter.destroy()
            elif emitter.listening:
                emitter.close()
        gc.collect()
        # Our originals and the duplicates the library did not keep (a lent connected
        # socket's connection lasts until every descriptor of it is closed).
        for sock in self.pool:
            sock.close()
        done = set()
        for fd, inode in self.lent:
            if fd in done:
                continue
            try:
                if os.fstat(fd).st_ino == inode:
                    os.close(fd)  # never adopted (or adopted by a listen(), which duplicates)
                    done.add(fd)
            except OSError:
                pass
        deadline = gevent.get_hub().loop.now() + HANG
        while self.env.connections() and gevent.get_hub().loop.now() < deadline:
            gevent.sleep(0.01)
        stuck = self.env.connections()
        if stuck:
            self.env.drop_connections()  # so that one failure does not fail every example after it
        assert not stuck, "the echo server still holds %d connection(s) after %ss" % (stuck, HANG)
        gevent.sleep(0.01)

    def check_events(self):
        for error in self.error_events:
            assert isinstance(error, Exception), error
            assert isinstance(getattr(error, "code", None), str), "'error' without a code: %r" % (error,)
        assert self.reported == [], "gevent reported: %r" % (self.reported,)


def _name(fn):
    return getattr(fn, "__qualname__", repr(fn))


def _number(value):
    """A number, if *value* could be read as one (a superset of Node's reading); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and (math.isnan(value) or math.isinf(value)) else value
    if isinstance(value, (str, bytes)):
        text = value.strip() if isinstance(value, str) else None
        if text is None:
            return None
        for parse in (float, lambda t: int(t, 0)):
            try:
                number = parse(text)
            except (ValueError, OverflowError):
                continue
            if isinstance(number, float) and (math.isnan(number) or math.isinf(number)):
                return None
            return number
    return None


class Env:
    """What every example may use: an echo server, a busy and a refused port, a private directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nodenet-fuzz-")
        self.accepted = []
        self.echo = net.create_server(self._on_connection)
        self.echo.listen(0, "127.0.0.1")
        net.once(self.echo, "listening", timeout=5)
        self.echo_port = self.echo.address()["port"]
        self.busy = stdlib_socket.socket()
        self.busy.bind(("127.0.0.1", 0))
        self.busy.listen(1)
        self.busy_port = self.busy.getsockname()[1]
        probe = stdlib_socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.refused_port = probe.getsockname()[1]
        probe.close()
        # Warm up what gevent creates once per process (the resolver's threadpool).
        gsocket.getaddrinfo("localhost", 80)

    def _on_connection(self, c):
        self.accepted.append(c)
        c.on("error", lambda error: None)
        c.on("close", lambda had_error: self.accepted.remove(c))
        c.pipe(c)

    def connections(self):
        return len(self.accepted)

    def drop_connections(self):
        for sock in list(self.accepted):
            sock.destroy()
        gevent.sleep(0.01)

    def reset_dir(self):
        for name in os.listdir(self.dir):
            path = os.path.join(self.dir, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)

    def close(self):
        self.echo.close()
        self.busy.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def env():
    # Every example collects garbage before it counts descriptors (a socket object
    # nobody closed is closed by its finalizer).  Freezing what exists before the
    # first example makes each collection walk only what the examples made: in a run
    # of the whole suite a full collection costs 0.1-0.3 s, twice an example, which
    # made this module take minutes.
    gc.collect()
    gc.freeze()
    environment = Env()
    try:
        yield environment
    finally:
        environment.close()
        gc.unfreeze()


def run(env, body):
    """Run one example: *body(world)*; then no hang, no stray exception, no leaked descriptor."""
    world = World(env)
    gc.collect()
    before = open_fds()
    try:
        with recorded_greenlet_errors() as world.reported:
            try:
                body(world)
                world.settle()
            finally:
                world.cleanup()
        world.check_events()
    finally:
        env.reset_dir()
    # New descriptors are this example's leak.  (One may also have gone: the server
    # side of an earlier example's connection, whose 'close' came before its fd was.)
    leaked = open_fds() - before
    assert not leaked, "descriptors left open: %r" % sorted(leaked)


# ---------------------------------------------------------------------------
# the fuzzers


@pytest.mark.slow
@SETTINGS
@given(server_args=st.lists(st.one_of(values, options), max_size=2), args=arg_lists(4), kwargs=kwargs_)
def test_fuzz_listen(env, server_args, args, kwargs):
    def body(world):
        server = world.call(net.create_server, *server_args)
        if server is None:
            return
        steered = world.call_args(args, "listen")
        steered_kwargs = world.options(kwargs, "listen")
        world.call(server.listen, *steered, **steered_kwargs)
        world.settle()
        world.call(server.address)
        if server.listening:
            world.call(server.listen, 0)  # already listening: ERR_SERVER_ALREADY_LISTEN
        world.call(server.close)

    run(env, body)


@pytest.mark.slow
@SETTINGS
@given(args=arg_lists(4), kwargs=kwargs_, via=st.sampled_from(["connect", "Socket.connect", "createConnection"]))
def test_fuzz_connect(env, args, kwargs, via):
    def body(world):
        steered = world.call_args(args, "connect")
        steered_kwargs = world.options(kwargs, "connect")
        if via == "Socket.connect":
            sock = world.call(net.Socket)
            world.call(sock.connect, *steered, **steered_kwargs)
        else:
            world.call(getattr(net, via), *steered, **steered_kwargs)

    run(env, body)


@pytest.mark.slow
@SETTINGS
@given(args=st.lists(st.one_of(options, values), max_size=1), kwargs=kwargs_)
def test_fuzz_socket_constructor(env, args, kwargs):
    def body(world):
        steered = [world.options(a, "connect") for a in args]
        steered_kwargs = world.options(kwargs, "connect")
        sock = world.call(net.Socket, *steered, **steered_kwargs)
        if sock is not None:
            for method in (sock.address, sock.pause, sock.resume):
                world.call(method)
            world.call(sock.write, b"x")

    run(env, body)


payloads = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([0, 1, 65536, 1 << 20, 64 << 20]).map(lambda n: b"\x00\xff" * (n // 2)),
    st.integers(0, 300000).map(os.urandom),
)
METHODS = {
    # name: (min, max) positional arguments
    "write": (1, 3),
    "end": (0, 3),
    "setTimeout": (1, 2),
    "set_timeout": (1, 2),
    "setEncoding": (0, 1),
    "setKeepAlive": (0, 2),
    "setNoDelay": (0, 1),
    "address": (0, 0),
    "pause": (0, 0),
    "resume": (0, 0),
}


@st.composite
def method_calls(draw):
    name = draw(st.sampled_from(sorted(METHODS)))
    low, high = METHODS[name]
    count = draw(st.integers(low, high))
    args = []
    for index in range(count):
        if name in ("write", "end") and index == 0:
            args.append(draw(st.one_of(payloads, values)))
        else:
            args.append(draw(values))
    return name, args


STATES = ["new", "connecting", "open", "open-unix", "paused", "ended", "destroyed", "half-open"]


@pytest.mark.slow
@SETTINGS
@given(state=st.sampled_from(STATES), calls=st.lists(method_calls(), min_size=1, max_size=6),
       reads=st.booleans())
def test_fuzz_socket_methods(env, state, calls, reads):
    def body(world):
        sock = _socket_in_state(world, state)
        if reads:
            sock.on("data", lambda data: None)
        for name, args in calls:
            world.call(getattr(sock, name), *args)
            gevent.sleep(0)
        # Whatever happened, the socket still answers questions and can be ended.
        world.call(sock.address)
        assert sock.ready_state in ("opening", "open", "readOnly", "writeOnly", "closed")
        assert isinstance(sock.buffer_size, int) and sock.buffer_size >= 0

    run(env, body)


def _socket_in_state(world, state):
    if state == "new":
        return world.watch(net.Socket())
    if state == "open-unix":
        server = world.watch(net.create_server(lambda c: c.pipe(c)))
        path = os.path.join(world.env.dir, "echo.sock")
        server.listen(path)
        net.once(server, "listening", timeout=5)
        server.on("connection", world.watch)
        sock = world.watch(net.connect(path))
        net.once(sock, "connect", timeout=5)
        return sock
    options = {"port": world.env.echo_port, "host": "127.0.0.1"}
    if state == "half-open":
        options["allowHalfOpen"] = True
    sock = world.watch(net.connect(options))
    if state == "connecting":
        return sock
    net.once(sock, "connect", timeout=5)
    if state == "paused":
        sock.pause()
    elif state == "ended":
        sock.end()
    elif state == "destroyed":
        sock.destroy()
    elif state == "half-open":
        sock.end(b"bye")
    return sock


@pytest.mark.slow
@SETTINGS
@given(calls=st.lists(st.tuples(st.sampled_from(["address", "close", "getConnections", "maxConnections", "ref",
                                                 "unref", "listen"]),
                                st.lists(values, max_size=2)), min_size=1, max_size=5),
       listening=st.booleans())
def test_fuzz_server_methods(env, calls, listening):
    def body(world):
        server = world.watch(net.create_server())
        if listening:
            server.listen(0, "127.0.0.1")
            net.once(server, "listening", timeout=5)
        for name, args in calls:
            if name == "maxConnections":
                if args:
                    # Node checks the value when it is used; we may check it when set.
                    world.call(setattr, server, "maxConnections", args[0])
                continue
            if name == "listen":
                args = world.call_args(args, "listen")
            if name == "close" and len(args) > 1:
                args = args[:1]
            if name == "getConnections":
                args = args[:1] or [None]  # its one argument is required
            if name in ("address", "ref", "unref"):
                args = []
            world.call(getattr(server, name), *args)
            gevent.sleep(0)
        # A flood of one: the server keeps working with whatever maxConnections holds.
        if server.listening:
            address = server.address()  # a path, if the calls made it listen on one
            target = {"path": address} if isinstance(address, str) else {"port": address["port"], "host": "127.0.0.1"}
            probe = world.watch(net.connect(target))
            net.once(probe, "connect", timeout=5)

    run(env, body)


# ---------------------------------------------------------------------------
# the bugs the fuzzers found, as the tests they should pass


def _raises_node_coded(fn, *args):
    try:
        result = fn(*args)
    except (TypeError, ValueError) as error:
        assert isinstance(getattr(error, "code", None), str), "%s without a code: %r" % (type(error).__name__, error)
        return None
    return result


@pytest.mark.parametrize("kind", ["closed", "pipe"])
def test_socket_fd_that_is_no_socket_is_a_node_type_error(kind):
    if kind == "closed":
        fd = BAD_FD
        closer = None
    else:
        fd, closer = os.pipe()
    try:
        with pytest.raises(TypeError) as info:
            net.Socket({"fd": fd})
        assert info.value.code == "ERR_INVALID_FD_TYPE"
    finally:
        if closer is not None:
            os.close(fd)
            os.close(closer)


def test_connect_unhashable_family_is_node_coded():
    with pytest.raises((TypeError, ValueError)) as info:
        net.connect({"port": 80, "host": "127.0.0.1", "family": [4]})
    assert info.value.code == "ERR_INVALID_ARG_VALUE"


@pytest.mark.parametrize("form", ["positional", "option"])
def test_huge_backlog_is_no_overflow_error(form):
    server = net.create_server()
    try:
        try:
            if form == "positional":
                server.listen(0, "127.0.0.1", 2 ** 70)
            else:
                server.listen({"port": 0, "host": "127.0.0.1", "backlog": 1e300})
        except OverflowError as error:
            pytest.fail("OverflowError: %s" % error)
        except (TypeError, ValueError) as error:
            assert error.code
    finally:
        if server.listening:
            server.close()


def test_listen_fd_beyond_int_is_no_overflow_error():
    server = net.create_server()
    errors = []
    server.on("error", errors.append)
    try:
        _raises_node_coded(server.listen, {"fd": 10 ** 10})
    except OverflowError as error:
        pytest.fail("OverflowError: %s" % error)
    gevent.sleep(0.05)
    assert not server.listening


@pytest.mark.parametrize("handle", [5, "x", 1.5, [1]])
def test_listen_handle_that_is_no_handle_is_node_coded(handle):
    server = net.create_server()
    try:
        _raises_node_coded(server.listen, {"handle": handle})
    finally:
        if server.listening:
            server.close()


def test_unix_path_with_nul_neither_raises_on_close_nor_leaves_a_file(tmp_path):
    path = str(tmp_path / "a\x00b")
    server = net.create_server()
    errors = []
    server.on("error", errors.append)
    try:
        _raises_node_coded(server.listen, path)
        gevent.sleep(0.05)
        server.close()  # must not raise
    finally:
        leftover = os.listdir(str(tmp_path))
        for name in leftover:
            os.unlink(str(tmp_path / name))
    assert leftover == [], "left behind: %r" % leftover


@pytest.mark.parametrize("callback", [5, "x", []])
def test_end_with_a_callback_that_is_no_function(callback):
    server = net.create_server(lambda c: c.pipe(c))
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    sock = net.connect(server.address()["port"], "127.0.0.1")
    try:
        with recorded_greenlet_errors() as reported:
            net.once(sock, "connect", timeout=5)
            closed = event_flag(sock, "close")
            sock.resume()
            _raises_node_coded(sock.end, b"bye", None, callback)
            assert closed.wait(5), "no 'close'"
        assert closed.args == (False,), "closed with an error"
        assert reported == []
    finally:
        sock.destroy()
        server.close()


@pytest.mark.parametrize("value", ["10", [None], b"x"])
def test_max_connections_that_is_no_number_never_kills_the_acceptor(value):
    server = net.create_server(lambda c: c.pipe(c))
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    try:
        with recorded_greenlet_errors() as reported:
            try:
                server.maxConnections = value
            except (TypeError, ValueError) as error:
                assert error.code
            for _ in range(2):
                sock = net.connect(server.address()["port"], "127.0.0.1")
                sock.end(b"ping")
                chunks = []
                sock.on("data", chunks.append)
                try:
                    # Served, or refused by a limit: 'end' either way, at once; never
                    # a connection the kernel accepted and nobody serves.
                    net.once(sock, "end", timeout=2)
                finally:
                    sock.destroy()
                assert b"".join(chunks) in (b"ping", b"")
        assert reported == []
    finally:
        server.close()
