"""Node-shaped errors: builtin OSError subclasses with Node's attributes and messages."""

import copy
import errno
import json
import os
import pickle
import shutil
import socket as stdlib_socket
import subprocess

import pytest

import nodenet_gevent as net
from nodenet_gevent.errors import (
    NodeError,
    NodeTypeError,
    NodeValueError,
    describe,
    invalid_arg_type,
    lookup_error,
    os_error,
)
from conftest import event_flag

pytestmark = pytest.mark.timeout(30)


# ---------------------------------------------------------------------------
# os_error


OS_ERROR_CASES = [
    # (errno, syscall, address, port, builtin class, Node's message)
    (errno.ECONNREFUSED, "connect", "127.0.0.1", 8124, ConnectionRefusedError, "connect ECONNREFUSED 127.0.0.1:8124"),
    (errno.ECONNREFUSED, "connect", "::1", 8124, ConnectionRefusedError, "connect ECONNREFUSED ::1:8124"),
    (errno.EPIPE, "write", None, None, BrokenPipeError, "write EPIPE"),
    (errno.ECONNRESET, "read", None, None, ConnectionResetError, "read ECONNRESET"),
    (errno.ENOENT, "connect", "/tmp/missing.sock", None, FileNotFoundError, "connect ENOENT /tmp/missing.sock"),
    (errno.EADDRINUSE, "listen", "::", 8124, OSError, "listen EADDRINUSE: address already in use :::8124"),
    (errno.EADDRINUSE, "listen", "127.0.0.1", 8124, OSError,
     "listen EADDRINUSE: address already in use 127.0.0.1:8124"),
    (errno.EADDRINUSE, "listen", "/tmp/s.sock", None, OSError,
     "listen EADDRINUSE: address already in use /tmp/s.sock"),
    (errno.EACCES, "listen", "0.0.0.0", 80, PermissionError, "listen EACCES: permission denied 0.0.0.0:80"),
    (errno.EINVAL, "listen", None, None, OSError, "listen EINVAL: invalid argument"),
    (errno.EADDRNOTAVAIL, "bind", "10.255.255.1", 0, OSError,
     "bind EADDRNOTAVAIL: address not available 10.255.255.1"),  # Node leaves out port 0
    (errno.ETIMEDOUT, "connect", "10.0.0.1", 80, TimeoutError, "connect ETIMEDOUT 10.0.0.1:80"),
    (errno.ECONNABORTED, "read", None, None, ConnectionAbortedError, "read ECONNABORTED"),
    (errno.EPROTO, "read", None, None, OSError, "read EPROTO"),
]


@pytest.mark.parametrize("number,syscall,address,port,cls,message", OS_ERROR_CASES)
def test_os_error_shape(number, syscall, address, port, cls, message):
    error = os_error(number, syscall, address, port)
    assert isinstance(error, cls) and isinstance(error, OSError)
    assert type(error).__name__ == cls.__name__
    assert error.errno == number
    assert error.code == errno.errorcode[number]
    assert error.syscall == syscall
    assert error.address == address
    assert error.port == port
    assert str(error) == message == error.message
    assert repr(error) == "%s(%r)" % (cls.__name__, message)
    assert error.strerror == os.strerror(number)


def test_os_error_unknown_errno_is_plain_oserror():
    error = os_error(errno.EPROTO, "read")
    assert type(error).__mro__[1] is OSError
    assert not isinstance(error, (ConnectionError, FileNotFoundError, PermissionError))
    odd = os_error(99999, "read")
    assert type(odd).__mro__[1] is OSError
    assert odd.code == "UNKNOWN" and odd.errno == 99999 and str(odd) == "read UNKNOWN"


def test_os_error_the_except_clause_a_python_user_writes_catches_it():
    with pytest.raises(ConnectionRefusedError):
        raise os_error(errno.ECONNREFUSED, "connect", "127.0.0.1", 1)
    with pytest.raises(BrokenPipeError):
        raise os_error(errno.EPIPE, "write")


def test_os_error_from_an_oserror_keeps_the_cause():
    original = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    error = os_error(original, "read")
    assert isinstance(error, ConnectionResetError)
    assert error is not original and error.__cause__ is original
    assert str(error) == "read ECONNRESET" and error.errno == errno.ECONNRESET


def test_os_error_is_idempotent():
    error = os_error(errno.ECONNREFUSED, "connect", "127.0.0.1", 1)
    assert os_error(error, "write", "other", 2) is error


def test_os_error_without_errno():
    # gevent's "closed in another greenlet" has no errno: it reads as EBADF.
    closed = os_error(OSError("File descriptor was closed in another greenlet"), "read")
    assert closed.errno == errno.EBADF and closed.code == "EBADF" and str(closed) == "read EBADF"
    other = os_error(OSError("something else"), "write")
    assert other.errno == errno.EIO and str(other) == "write EIO"


@pytest.mark.parametrize("number,syscall,address,port,cls,message", OS_ERROR_CASES[:6])
def test_os_error_pickles_and_copies(number, syscall, address, port, cls, message):
    error = os_error(number, syscall, address, port)
    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error)):
        assert type(clone) is type(error)
        assert (clone.errno, clone.code, clone.syscall, clone.address, clone.port) == (
            number, errno.errorcode[number], syscall, address, port)
        assert str(clone) == message


# ---------------------------------------------------------------------------
# errors from real sockets, compared with node


def test_refused_connect_error_event_is_node_shaped():
    probe = stdlib_socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    sock = net.connect(port, "127.0.0.1")
    closed = event_flag(sock, "close")  # 'close' follows 'error' in the same greenlet
    with pytest.raises(ConnectionRefusedError) as info:
        net.once(sock, "connect", timeout=5)
    error = info.value
    assert error.code == "ECONNREFUSED" and error.errno == errno.ECONNREFUSED
    assert error.syscall == "connect" and error.address == "127.0.0.1" and error.port == port
    assert str(error) == "connect ECONNREFUSED 127.0.0.1:%d" % port
    assert closed.wait(5) and closed.args == (True,)


_NODE_LISTEN = r"""
const s = require('net').createServer();
s.on('error', (e) => {
  process.stdout.write(JSON.stringify({code: e.code, syscall: e.syscall, address: e.address,
                                       port: e.port, message: e.message}));
});
s.on('listening', () => { process.stdout.write('null'); s.close(); });
const a = process.argv[1];
if (/^[0-9]+$/.test(a)) s.listen(Number(a)); else s.listen(a);
"""


def _node_listen(target):
    proc = subprocess.run(
        [shutil.which("node"), "-e", _NODE_LISTEN, str(target)],
        capture_output=True, timeout=20, check=True,
    )
    return json.loads(proc.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
@pytest.mark.skipif(not stdlib_socket.has_ipv6, reason="no IPv6")
def test_eaddrinuse_message_equals_nodes_for_a_real_conflict():
    holder = net.create_server()
    try:
        holder.listen(0)  # '::' dual-stack, as Node's listen(port)
        net.once(holder, "listening", timeout=5)
        port = holder.address()["port"]
        want = _node_listen(port)
        assert want is not None, "node could listen on a taken port"
        other = net.create_server()
        other.listen(port)
        (error,) = net.once(other, "error", timeout=5)
        assert isinstance(error, OSError) and error.errno == errno.EADDRINUSE
        got = {"code": error.code, "syscall": error.syscall, "address": error.address, "port": error.port,
               "message": str(error)}
        assert got == want
        assert want["message"] == "listen EADDRINUSE: address already in use :::%d" % port
    finally:
        holder.close()


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_unix_eaddrinuse_message_equals_nodes(tmp_path):
    path = str(tmp_path / "taken.sock")
    holder = net.create_server()
    try:
        holder.listen(path)
        net.once(holder, "listening", timeout=5)
        want = _node_listen(path)
        other = net.create_server()
        other.listen(path)
        (error,) = net.once(other, "error", timeout=5)
        assert want is not None
        assert (error.code, error.syscall, error.address, str(error)) == (
            want["code"], want["syscall"], want["address"], want["message"])
        assert want["port"] == -1 and error.port is None  # Node's "no port" is -1; ours None
    finally:
        holder.close()


# ---------------------------------------------------------------------------
# lookup_error


def test_lookup_error_enotfound_shape():
    original = stdlib_socket.gaierror(stdlib_socket.EAI_NONAME, "Name or service not known")
    error = lookup_error(original, "nonexistent.invalid")
    assert isinstance(error, stdlib_socket.gaierror) and isinstance(error, OSError)
    assert error.code == "ENOTFOUND" and error.syscall == "getaddrinfo"
    assert error.hostname == "nonexistent.invalid"
    assert error.address is None and error.port is None
    assert error.errno == stdlib_socket.EAI_NONAME
    assert str(error) == "getaddrinfo ENOTFOUND nonexistent.invalid"
    assert repr(error) == "gaierror('getaddrinfo ENOTFOUND nonexistent.invalid')"
    assert error.__cause__ is original


def test_lookup_error_other_codes():
    error = lookup_error(stdlib_socket.gaierror(stdlib_socket.EAI_AGAIN, "Temporary failure"), "h")
    assert error.code == "EAI_AGAIN" and str(error) == "getaddrinfo EAI_AGAIN h"
    # An IDNA failure (UnicodeError) is a name that cannot resolve.
    error = lookup_error(UnicodeError("label too long"), "x" * 70 + ".com")
    assert error.code == "ENOTFOUND" and error.errno is None
    assert error.hostname == "x" * 70 + ".com"


def test_lookup_error_pickles_and_copies():
    error = lookup_error(stdlib_socket.gaierror(stdlib_socket.EAI_NONAME, "x"), "nope.invalid")
    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert type(clone) is type(error)
        assert (clone.code, clone.syscall, clone.hostname, str(clone)) == (
            "ENOTFOUND", "getaddrinfo", "nope.invalid", "getaddrinfo ENOTFOUND nope.invalid")


# ---------------------------------------------------------------------------
# argument errors


def test_node_type_and_value_errors():
    error = NodeTypeError("ERR_INVALID_ARG_TYPE", "bad type")
    assert isinstance(error, TypeError) and isinstance(error, NodeError)
    assert not isinstance(error, ValueError)
    assert error.code == "ERR_INVALID_ARG_TYPE" and str(error) == "bad type" == error.message
    error = NodeValueError("ERR_SOCKET_BAD_PORT", "bad port")
    assert isinstance(error, ValueError) and isinstance(error, NodeError)
    assert not isinstance(error, TypeError)
    assert error.code == "ERR_SOCKET_BAD_PORT" and str(error) == "bad port"
    assert net.NodeError is NodeError and net.NodeTypeError is NodeTypeError and net.NodeValueError is NodeValueError
    with pytest.raises(TypeError):
        raise NodeTypeError("ERR_X", "caught as TypeError")


@pytest.mark.parametrize("cls", [NodeError, NodeTypeError, NodeValueError])
def test_node_errors_pickle_and_copy(cls):
    error = cls("ERR_SOME_CODE", "some message")
    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error)):
        assert type(clone) is cls
        assert clone.code == "ERR_SOME_CODE" and str(clone) == "some message"


@pytest.mark.parametrize(
    "value,expected",
    [
        (None, "Received None"),
        (70000, "Received type number (70000)"),
        (1.5, "Received type number (1.5)"),
        ("abc", "Received type string ('abc')"),
        (True, "Received type boolean (True)"),
        ("x" * 40, "Received type string ('xxxxxxxxxxxxxxxxxxxxxxxx...)"),
        ([1, 2], "Received type list ([1, 2])"),
        (len, "Received function len"),
    ],
)
def test_describe(value, expected):
    assert describe(value) == expected


def test_invalid_arg_type_names_argument_or_property():
    # node: 'The "msecs" argument must be of type number. Received type string (\'1\')'
    error = invalid_arg_type("msecs", "of type number", "1")
    assert isinstance(error, TypeError) and error.code == "ERR_INVALID_ARG_TYPE"
    assert str(error) == 'The "msecs" argument must be of type number. Received type string (\'1\')'
    error = invalid_arg_type("options.port", "one of type number or string", 1.5)
    assert str(error) == 'The "options.port" property must be one of type number or string. Received type number (1.5)'
