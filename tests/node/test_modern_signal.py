"""The ``signal`` option of connect(), ``Socket()`` and ``listen()``: an AbortSignal cancels.

Ports of nodejs/node test/parallel test-net-connect-abort-controller.js and
test-net-server-listen-options-signal.js.  ``getEventListeners(signal,
'abort').length`` is ``signal.listener_count('abort')``; ``await once(socket,
'close')`` rejecting with the AbortError is ``net.once`` raising it;
``setImmediate`` is a greenlet spawned to run after the current one yields.
"""

import gevent
import pytest

import nodenet_gevent as net
from test_modern_support import greenlet_errors, keep, raises_now, serve  # noqa: F401

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def server(track):
    """Node's server, whose live connections are destroyed at the end ("killing the
    net.socket without connecting hangs the server")."""
    live = set()

    def on_connection(connection):
        live.add(connection)
        connection.on("close", lambda *_: live.discard(connection))

    server = serve(track, on_connection, 0)
    yield server
    for connection in list(live):
        connection.destroy()


def assert_abort(socket, test_name):
    with pytest.raises(Exception) as caught:
        net.once(socket, "close", timeout=10)
    assert caught.value.name == "AbortError", "close %s should have raised an AbortError" % test_name


def socket_options(server, signal):
    return {"port": server.address()["port"], "host": "localhost", "signal": signal}


def test_post_abort(track, server):
    # Node: test/parallel/test-net-connect-abort-controller.js (postAbort)
    ac = net.AbortController()
    socket = track.connect(socket_options(server, ac.signal))
    assert ac.signal.listener_count("abort") == 1
    ac.abort()
    assert_abort(socket, "postAbort")


def test_pre_abort(track, server):
    # Node: test/parallel/test-net-connect-abort-controller.js (preAbort)
    ac = net.AbortController()
    ac.abort()
    socket = track.connect(socket_options(server, ac.signal))
    assert ac.signal.listener_count("abort") == 0
    assert_abort(socket, "preAbort")


def test_tick_abort(track, server):
    # Node: test/parallel/test-net-connect-abort-controller.js (tickAbort)
    ac = net.AbortController()
    gevent.spawn(ac.abort)
    socket = track.connect(socket_options(server, ac.signal))
    assert ac.signal.listener_count("abort") == 1
    assert_abort(socket, "tickAbort")


def test_constructor(track, server):
    # Node: test/parallel/test-net-connect-abort-controller.js (testConstructor)
    ac = net.AbortController()
    ac.abort()
    socket = keep(track, net.Socket(socket_options(server, ac.signal)))
    assert ac.signal.listener_count("abort") == 0
    assert_abort(socket, "testConstructor")


def test_constructor_post(track, server):
    # Node: test/parallel/test-net-connect-abort-controller.js (testConstructorPost)
    ac = net.AbortController()
    socket = keep(track, net.Socket(socket_options(server, ac.signal)))
    assert ac.signal.listener_count("abort") == 1
    ac.abort()
    assert_abort(socket, "testConstructorPost")


def test_constructor_post_tick(track, server):
    # Node: test/parallel/test-net-connect-abort-controller.js (testConstructorPostTick)
    ac = net.AbortController()
    socket = keep(track, net.Socket(socket_options(server, ac.signal)))
    assert ac.signal.listener_count("abort") == 1
    gevent.spawn(ac.abort)
    assert_abort(socket, "testConstructorPostTick")


def test_listen_with_a_bad_signal(track):
    # Node: test/parallel/test-net-server-listen-options-signal.js ("bad signal")
    server = track.server()
    error = raises_now(TypeError, lambda: server.listen({"port": 0, "signal": "INVALID_SIGNAL"}))
    assert error.code == "ERR_INVALID_ARG_TYPE"


def test_listen_closes_on_abort(track, must_call):
    # Node: test/parallel/test-net-server-listen-options-signal.js ("close")
    server = track.server()
    controller = net.AbortController()
    server.on("close", must_call())
    server.listen({"port": 0, "signal": controller.signal})
    controller.abort()
    net.once(server, "close", timeout=10)


def test_listen_with_a_pre_aborted_signal_closes(track, must_call):
    # Node: test/parallel/test-net-server-listen-options-signal.js ("close with pre-aborted signal")
    server = track.server()
    signal = net.AbortSignal.abort()
    server.on("close", must_call())
    server.listen({"port": 0, "signal": signal})
    net.once(server, "close", timeout=10)
