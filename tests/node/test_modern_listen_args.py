"""listen() forms, arguments and their validation; listening on handles and fds.

Ports of nodejs/node test/parallel test-net-listen-invalid-port.js,
test-net-server-listen-options.js, test-net-server-call-listen-multiple-times.js,
test-net-listen-close-server-callback-is-not-function.js,
test-net-listen-close-server.js, test-net-server-close-before-calling-lookup-callback.js,
test-net-listen-fd0.js, test-net-server-listen-handle.js, test-net-listening.js,
test-net-server-listen-remove-callback.js, test-net-server-try-ports.js.

Deliberate difference (SPEC section 6): Node's ``RangeError`` is our ``ValueError``
and Node's ``TypeError`` our ``TypeError``, both with Node's ``code``; Python's
``None`` is JavaScript's ``undefined``.
"""

import os
import re
import socket as stdlib_socket

import pytest

import nodenet_gevent as net
from conftest import event_flag, wait_until
from test_modern_support import greenlet_errors, pipe_path, raises_now  # noqa: F401

pytestmark = pytest.mark.timeout(60)


def close_on_listening(track, server, must_call):
    """A mustCall'd 'listening' handler that closes the server; returns a flag for 'close'."""
    track.servers.append(server)
    closed = event_flag(server, "close")
    return must_call(lambda *_: server.close()), closed


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-listen-invalid-port.js

INVALID_PORT = 4294967295  # -1 >>> 0


def test_listen_zero_works(track, must_call):
    # Node: test/parallel/test-net-listen-invalid-port.js (first block; its
    # `_connectionKey` check is about an internal field and is not ported).
    server = net.Server()
    on_listening, closed = close_on_listening(track, server, must_call)
    server.listen(0, on_listening)
    assert closed.wait(5)


@pytest.mark.parametrize(
    "call",
    [
        lambda cb: net.Server().listen({"port": INVALID_PORT}, cb),
        lambda cb: net.Server().listen(INVALID_PORT, cb),
        lambda cb: net.Server().listen(INVALID_PORT, "0.0.0.0", cb),
    ],
    ids=["options", "port", "port-host"],
)
def test_listen_invalid_port_raises(must_call, call):
    # Node: test/parallel/test-net-listen-invalid-port.js
    with pytest.raises(ValueError) as info:
        call(must_call.never("listening callback"))
    assert info.value.code == "ERR_SOCKET_BAD_PORT"


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-server-listen-options.js


@pytest.mark.parametrize(
    "start",
    [
        lambda server, cb: server.listen().on("listening", cb),
        lambda server, cb: server.listen(cb),
        lambda server, cb: server.listen(0).on("listening", cb),
        lambda server, cb: server.listen({"port": 0}).on("listening", cb),
    ],
    ids=["listen()", "listen(cb)", "listen(0)", "listen({port})"],
)
def test_listen_without_port_or_with_zero(track, must_call, start):
    # Node: test/parallel/test-net-server-listen-options.js (first block)
    server = net.createServer()
    on_listening, closed = close_on_listening(track, server, must_call)
    start(server, on_listening)
    assert closed.wait(5)


LISTEN_ON_PORT = [
    lambda port, cb: net.createServer().listen({"port": port}, cb),
    lambda port, cb: net.createServer().listen(port, cb),
]


@pytest.mark.parametrize("listen", LISTEN_ON_PORT, ids=["listen({port}, cb)", "listen(port, cb)"])
@pytest.mark.parametrize("port", ["0", 0, None], ids=repr)
def test_listen_arbitrary_unused_port(track, must_call, listen, port):
    # Node: test/parallel/test-net-server-listen-options.js ('0', 0, undefined, null;
    # Python's None stands for both undefined and null).
    done = []

    def on_listening():
        assert server.address()["port"] > 0
        server.close(lambda *_: done.append(True))

    server = listen(port, must_call(on_listening))
    track.servers.append(server)
    wait_until(lambda: done, message="server closed")


@pytest.mark.parametrize("listen", LISTEN_ON_PORT, ids=["listen({port}, cb)", "listen(port, cb)"])
@pytest.mark.parametrize("port", [-1, float("nan"), 123.456, 65536, float("inf"), float("-inf")], ids=repr)
def test_listen_invalid_port_values(must_call, listen, port):
    # Node: test/parallel/test-net-server-listen-options.js ("Test invalid ports")
    with pytest.raises(ValueError) as info:
        listen(port, must_call.never("listening callback"))
    assert info.value.code == "ERR_SOCKET_BAD_PORT"


def test_listen_port_takes_precedence_over_path():
    # Node: test/parallel/test-net-server-listen-options.js
    # ("In listen(options, cb), port takes precedence over path")
    error = raises_now(ValueError, lambda: net.createServer().listen({"port": -1, "path": pipe_path()}))
    assert error.code == "ERR_SOCKET_BAD_PORT"


MUST_HAVE_PORT_OR_PATH = r"^The argument 'options' must have the property \"port\" or \"path\"\. Received .+$"
IS_INVALID = r"^The argument 'options' is invalid\. Received .+$"
@pytest.mark.parametrize(
    "options, message",
    [
        (False, IS_INVALID),
        ({"port": False}, IS_INVALID),
        (True, IS_INVALID),
        ({"port": True}, IS_INVALID),
        ({"fd": -1}, MUST_HAVE_PORT_OR_PATH),
        ({"path": -1}, IS_INVALID),
        ({}, MUST_HAVE_PORT_OR_PATH),
        ({"host": "localhost"}, MUST_HAVE_PORT_OR_PATH),
        ({"host": "localhost:3000"}, MUST_HAVE_PORT_OR_PATH),
        ({"host": {"port": 3000}}, MUST_HAVE_PORT_OR_PATH),
        ({"exclusive": True}, MUST_HAVE_PORT_OR_PATH),
    ],
    ids=repr,
)
def test_listen_should_fail(options, message):
    # Node: test/parallel/test-net-server-listen-options.js (shouldFailToListen)
    error = raises_now(TypeError, lambda: net.createServer().listen(options, lambda: None))
    assert error.code == "ERR_INVALID_ARG_VALUE"
    assert re.match(message, str(error)), str(error)


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-server-call-listen-multiple-times.js


def test_listen_again_after_error(track, must_call):
    # Node: test/parallel/test-net-server-call-listen-multiple-times.js (first test)
    dummy = net.Server()
    server = net.Server()
    track.servers.extend([dummy, server])
    done = []

    def on_error(e):
        def on_listening():
            dummy.close()
            server.close(lambda *_: done.append(True))

        server.listen(must_call(on_listening))

    server.on("error", must_call(on_error))
    dummy.listen(must_call(lambda: server.listen(dummy.address()["port"])))
    wait_until(lambda: done, message="second listen and close")


def test_second_listen_raises(track, must_call):
    # Node: test/parallel/test-net-server-call-listen-multiple-times.js (second test).
    # Node throws a plain Error; ours is a NodeError that is neither TypeError nor ValueError.
    server = net.Server()
    track.servers.append(server)
    closed = event_flag(server, "close")
    server.listen(must_call(lambda: server.close()))
    with pytest.raises(net.NodeError) as info:
        server.listen()
    assert info.value.code == "ERR_SERVER_ALREADY_LISTEN"
    assert not isinstance(info.value, (TypeError, ValueError))
    assert closed.wait(5)


def test_listen_again_after_close(track, must_call):
    # Node: test/parallel/test-net-server-call-listen-multiple-times.js (third test)
    server = net.Server()
    track.servers.append(server)
    done = []

    def first():
        server.close()
        server.listen(must_call(lambda: server.close(lambda *_: done.append(True))))

    server.listen(must_call(first))
    wait_until(lambda: done, message="relisten and close")


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-server-listen-remove-callback.js


def test_listen_callback_is_removed_after_it_ran(track):
    # Node: test/parallel/test-net-server-listen-remove-callback.js -- a listen
    # callback is a once-listener; after each close no 'listening' listener is left.
    server = net.createServer()
    track.servers.append(server)
    counts = []
    server.on("close", lambda: counts.append(len(server.listeners("listening"))))
    server.listen(0, lambda: server.close())
    server.once("close", lambda: server.listen(0, lambda: server.close()))
    wait_until(lambda: len(counts) == 2, message="two closes")
    assert counts == [0, 0]


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-server-try-ports.js


def test_eaddrinuse_then_listen_on_another_port(track, must_call):
    # Node: test/parallel/test-net-server-try-ports.js
    server1 = net.Server()
    server2 = net.Server()
    track.servers.extend([server1, server2])
    done = []

    def on_error(e):
        assert e.code == "EADDRINUSE"

        def on_listening():
            server1.close()
            server2.close(lambda *_: done.append(True))

        server2.listen(0, must_call(on_listening))

    server2.on("error", must_call(on_error))
    server1.listen(0, must_call(lambda: server2.listen(server1.address()["port"])))
    wait_until(lambda: done, message="server2 listening elsewhere")


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-listening.js


def test_listening_property(track, must_call):
    # Node: test/parallel/test-net-listening.js
    server = net.createServer()
    track.servers.append(server)
    assert server.listening is False
    done = []

    def on_close(*_):
        assert server.listening is False
        done.append(True)

    def on_listening():
        assert server.listening is True
        server.close(must_call(on_close))

    server.listen(0, must_call(on_listening))
    wait_until(lambda: done, message="close callback")


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-listen-close-server.js,
#       test/parallel/test-net-server-close-before-calling-lookup-callback.js,
#       test/parallel/test-net-listen-close-server-callback-is-not-function.js


def test_close_right_after_listen(track, must_call):
    # Node: test/parallel/test-net-listen-close-server.js -- neither 'listening' nor 'error'.
    server = net.createServer(lambda socket: None)
    track.servers.append(server)
    closed = event_flag(server, "close")
    server.listen(0, must_call.never("listening callback"))
    server.on("error", must_call.never("'error'"))
    server.close()
    assert closed.wait(5)


def test_close_before_the_host_lookup_finished(track, must_call):
    # Node: test/parallel/test-net-server-close-before-calling-lookup-callback.js
    server = net.createServer()
    track.servers.append(server)
    closed = event_flag(server, "close")
    server.listen(0, "localhost", must_call.never("listening callback")).close()
    assert closed.wait(5)
    assert server.address() is None and not server.listening


def test_close_callback_that_is_not_a_function(track, must_call):
    # Node: test/parallel/test-net-listen-close-server-callback-is-not-function.js.
    # Node ignores a close() argument that is not a function (and closes).  Our rule
    # (SPEC section 6: a wrong type raises TypeError at once) rejects it; the server
    # is unaffected and a proper close() then behaves as Node's does: 'close' once,
    # the listening callback never.
    server = net.createServer(must_call.never("connection listener"))
    track.servers.append(server)
    server.on("close", must_call())
    closed = event_flag(server, "close")
    server.listen(0, must_call.never("listening callback"))
    with pytest.raises(TypeError) as info:
        server.close("bad argument")
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    server.close()
    assert closed.wait(5)


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-listen-fd0.js


def test_listen_on_fd_that_is_not_a_socket_is_an_async_error(track):
    # Node: test/parallel/test-net-listen-fd0.js -- "This should fail with an async
    # EINVAL error, not throw an exception".  Node uses fd 0; under pytest fd 0 may be
    # anything, so a regular file's descriptor stands for "not a socket".
    with open(__file__, "rb") as not_a_socket:
        server = net.createServer(lambda c: pytest.fail("connection"))
        track.servers.append(server)
        errors = []
        server.on("error", errors.append)
        server.listen({"fd": not_a_socket.fileno()})
        wait_until(lambda: errors, message="'error'")
    (error,) = errors
    assert isinstance(error, OSError)
    assert error.code in ("EINVAL", "ENOTSOCK")


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-server-listen-handle.js


def _bound_tcp():
    handle = stdlib_socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_STREAM)
    handle.bind(("0.0.0.0", 0))
    return handle


def _bound_pipe():
    handle = stdlib_socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
    handle.bind(pipe_path("listen-handle"))
    return handle


LISTEN_HANDLE_FORMS = [
    ("listen(h) + 'listening'", lambda s, h, cb: s.listen(h).on("listening", cb)),
    ("listen(h, cb)", lambda s, h, cb: s.listen(h, cb)),
    ("listen({handle}, cb)", lambda s, h, cb: s.listen({"handle": h}, cb)),
    ("listen({handle}) + 'listening'", lambda s, h, cb: s.listen({"handle": h}).on("listening", cb)),
    ("listen({_handle}, cb)", lambda s, h, cb: s.listen({"_handle": h}, cb)),
    ("listen({_handle}) + 'listening'", lambda s, h, cb: s.listen({"_handle": h}).on("listening", cb)),
    ("listen({fd}, cb)", lambda s, h, cb: s.listen({"fd": h.fileno()}, cb)),
    ("listen({fd}) + 'listening'", lambda s, h, cb: s.listen({"fd": h.fileno()}).on("listening", cb)),
]


@pytest.mark.parametrize("kind", ["tcp", "pipe"])
@pytest.mark.parametrize("form", [f for _, f in LISTEN_HANDLE_FORMS], ids=[n for n, _ in LISTEN_HANDLE_FORMS])
def test_listen_on_bound_handle(track, must_call, kind, form):
    # Node: test/parallel/test-net-server-listen-handle.js.  Node's handles are
    # internal TCP/Pipe wraps; ours are anything with fileno() (SPEC section 5).
    # As in Node, closing the server does not unlink the pipe the handle was bound to.
    handle = _bound_tcp() if kind == "tcp" else _bound_pipe()
    try:
        server = net.createServer()
        track.servers.append(server)
        closed = event_flag(server, "close")
        form(server, handle, must_call(lambda *_: server.close()))
        assert closed.wait(5)
    finally:
        path = handle.getsockname() if kind == "pipe" else None
        handle.close()
        if path:
            os.unlink(path)


def test_listen_on_invalid_fd_is_einval(track):
    # Node: test/parallel/test-net-server-listen-handle.js ("Test invalid fd")
    with open(__file__, "rb") as regular_file:
        server = net.createServer()
        track.servers.append(server)
        errors = []
        server.on("error", errors.append)
        server.listen({"fd": regular_file.fileno()}, lambda: pytest.fail("listening"))
        wait_until(lambda: errors, message="'error'")
    assert str(errors[0]) == "listen EINVAL: invalid argument"
    assert errors[0].code == "EINVAL"
