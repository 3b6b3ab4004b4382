"""Unix socket servers: listen(path) forms, permissions, EADDRINUSE.

Port of nodejs/node test/parallel test-net-server-listen-path.js.  (Unix-socket
clients are also covered by test_modern_connect_args.py -- test-net-connect-options-path.js --,
test_modern_errors.py -- test-net-pipe-connect-errors.js,
test-net-better-error-messages-listen-path.js -- and test_modern_lifecycle.py's
pingpong over a pipe.)
"""

import os
import re
import stat

import pytest

import nodenet_gevent as net
from conftest import event_flag, wait_until
from test_modern_support import greenlet_errors, pipe_path  # noqa: F401

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    "start",
    [
        lambda server, path, cb: server.listen(path).on("listening", cb),
        lambda server, path, cb: server.listen({"path": path}).on("listening", cb),
        lambda server, path, cb: server.listen(path, cb),
        lambda server, path, cb: server.listen({"path": path}, cb),
    ],
    ids=["listen(path)", "listen({path})", "listen(path, cb)", "listen({path}, cb)"],
)
def test_listen_path_forms(track, must_call, start):
    # Node: test/parallel/test-net-server-listen-path.js
    server = net.createServer()
    track.servers.append(server)
    closed = event_flag(server, "close")
    start(server, pipe_path("listen-path"), must_call(lambda *_: server.close()))
    assert closed.wait(5)


def test_listen_path_readable_and_writable_by_all(track, must_call):
    # Node: test/parallel/test-net-server-listen-path.js ("Test pipe chmod")
    handle_path = pipe_path("listen-path")
    modes = []
    server = net.createServer()
    track.servers.append(server)

    def listening():
        modes.append(os.stat(handle_path).st_mode)
        server.close()

    old_umask = os.umask(0o022)  # the usual umask, so that the options make the difference
    try:
        server.listen({"path": handle_path, "readableAll": True, "writableAll": True}, must_call(listening))
    finally:
        os.umask(old_umask)
    wait_until(lambda: modes, message="'listening'")
    assert modes[0] & stat.S_IROTH != 0
    assert modes[0] & stat.S_IWOTH != 0
    must_call.check()


def test_listen_on_a_path_in_use_is_eaddrinuse(track, must_call):
    # Node: test/parallel/test-net-server-listen-path.js ("should emit 'error' events
    # when listening fails")
    handle_path = pipe_path("listen-path")
    errors = []
    server1 = net.createServer()
    server2 = net.createServer()
    track.servers.extend([server1, server2])

    def listening():
        server2.listen({"path": handle_path, "writableAll": True}, must_call.never("listening callback"))

        def on_error(err):
            server1.close()
            errors.append(err)

        server2.on("error", must_call(on_error))

    server1.listen({"path": handle_path}, listening)
    wait_until(lambda: errors, message="'error'")
    assert errors[0].code == "EADDRINUSE"
    assert re.match(r"^listen EADDRINUSE: address already in use", str(errors[0])), str(errors[0])
