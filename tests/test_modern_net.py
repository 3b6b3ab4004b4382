"""Node's modern net options: Happy Eyeballs, lookup, signal, blockList, onread, highWaterMark,
and unknown options refused -- over loopback only (several addresses come from the lookup
option; an address that never answers is a listener whose accept queue is full).
"""

import errno
import hashlib
import os
import socket as stdlib_socket

import gevent
import gevent.event
import pytest

import nodenet_gevent as net
from conftest import event_flag, has_ipv6, refused_port, wait_until

pytestmark = pytest.mark.timeout(30)


def fixed_lookup(*addresses):
    """A ``lookup`` option answering *addresses* (``(ip, family)``), recording its calls."""
    calls = []

    def lookup(hostname, options, callback):
        calls.append((hostname, dict(options)))
        if options.get("all"):
            callback(None, [{"address": ip, "family": family} for ip, family in addresses])
        else:
            callback(None, addresses[0][0], addresses[0][1])

    lookup.calls = calls
    return lookup


@pytest.fixture
def silent_address():
    """``(ip, port)`` on loopback where SYNs go unanswered: a listener whose accept queue is full.

    The port is the same as a real server's (on 127.0.0.1) so one connect() target can name both.
    """
    made = []

    def make(port):
        listener = stdlib_socket.socket()
        listener.bind(("127.0.0.2", port))
        listener.listen(0)
        made.append(listener)
        fillers = []
        for _ in range(8):  # backlog 0 still queues one or two: fill it, SYNs beyond are dropped
            filler = stdlib_socket.socket()
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.2", port))
            except BlockingIOError:
                pass
            fillers.append(filler)
        made.extend(fillers)
        return "127.0.0.2", port

    yield make
    for sock in made:
        sock.close()


@pytest.fixture
def closed_port():
    """A port nobody listens on (on 127.0.0.1, held bound for the test: nothing can take it)."""
    with refused_port() as port:
        yield port


@pytest.fixture(autouse=True)
def default_auto_select():
    yield
    net.setDefaultAutoSelectFamily(True)
    net.setDefaultAutoSelectFamilyAttemptTimeout(250)


# ---------------------------------------------------------------------------
# Happy Eyeballs


def test_defaults_and_their_validation():
    assert net.getDefaultAutoSelectFamily() is True and net.get_default_auto_select_family() is True
    assert net.getDefaultAutoSelectFamilyAttemptTimeout() == 250
    net.setDefaultAutoSelectFamilyAttemptTimeout(5)
    assert net.getDefaultAutoSelectFamilyAttemptTimeout() == 10  # Node's minimum
    for bad, cls, code in [("x", TypeError, "ERR_INVALID_ARG_TYPE"), (0, ValueError, "ERR_OUT_OF_RANGE"),
                           (1.5, ValueError, "ERR_OUT_OF_RANGE"), (2**31, ValueError, "ERR_OUT_OF_RANGE")]:
        with pytest.raises(cls) as caught:
            net.setDefaultAutoSelectFamilyAttemptTimeout(bad)
        assert caught.value.code == code
    with pytest.raises(TypeError) as caught:
        net.setDefaultAutoSelectFamily(1)
    assert str(caught.value) == 'The "value" argument must be of type boolean. Received type number (1)'
    net.set_default_auto_select_family(False)
    assert net.getDefaultAutoSelectFamily() is False


def test_a_refused_address_then_the_next_family_connects(track, must_call):
    if not has_ipv6():
        pytest.skip("no IPv6 loopback here")
    server = track.listen()
    port = server.address()["port"]
    refused = stdlib_socket.socket(stdlib_socket.AF_INET6)
    try:
        refused.bind(("::1", port))  # the port on ::1 is bound, not listening: refused at once
    except OSError:
        refused.close()
        pytest.skip("port %d is taken on ::1" % port)
    try:
        lookup = fixed_lookup(("::1", 6), ("127.0.0.1", 4))
        client = track.connect({"host": "example.test", "port": port, "lookup": lookup})
        attempts, failures = [], []
        client.on("connectionAttempt", lambda *a: attempts.append(a))
        client.on("connectionAttemptFailed", lambda *a: failures.append(a))
        net.once(client, "connect", timeout=5)
    finally:
        refused.close()
    assert lookup.calls == [("example.test", {"hints": stdlib_socket.AI_ADDRCONFIG, "all": True})]  # Node's
    assert attempts == [("::1", port, 6), ("127.0.0.1", port, 4)]
    assert [(a, p, f, e.code) for a, p, f, e in failures] == [("::1", port, 6, "ECONNREFUSED")]
    assert client.autoSelectFamilyAttemptedAddresses == ["::1:%d" % port, "127.0.0.1:%d" % port]
    assert client.remote_address == "127.0.0.1"


def test_an_address_that_never_answers_times_out_and_the_next_wins(track, silent_address):
    server = track.listen()
    port = server.address()["port"]
    silent = silent_address(port)
    lookup = fixed_lookup((silent[0], 4), ("127.0.0.1", 4))
    client = track.connect({"host": "example.test", "port": port, "lookup": lookup,
                            "autoSelectFamilyAttemptTimeout": 50})
    timeouts = []
    client.on("connectionAttemptTimeout", lambda *a: timeouts.append(a))
    net.once(client, "connect", timeout=5)
    assert timeouts == [("127.0.0.2", port, 4)]
    assert client.remote_address == "127.0.0.1"
    assert client.auto_select_family_attempted_addresses == ["127.0.0.2:%d" % port, "127.0.0.1:%d" % port]


def test_all_attempts_failing_is_an_aggregate_error(track, closed_port):
    port = closed_port
    lookup = fixed_lookup(("127.0.0.1", 4), ("127.0.0.3", 4))
    client = track.connect({"host": "example.test", "port": port, "lookup": lookup})
    flag = event_flag(client, "error")
    closed = event_flag(client, "close")
    assert flag.wait(5)
    error = flag.args[0]
    assert isinstance(error, net.AggregateError) and isinstance(error, OSError)
    assert error.name == "AggregateError" and error.code == "ECONNREFUSED"
    assert [str(e) for e in error.errors] == [
        "connect ECONNREFUSED 127.0.0.1:%d" % port, "connect ECONNREFUSED 127.0.0.3:%d" % port]
    assert closed.wait(5) and closed.args == (True,)


def test_without_auto_select_family_only_the_first_address_is_tried(track, closed_port):
    port = closed_port
    lookup = fixed_lookup(("127.0.0.1", 4), ("127.0.0.3", 4))
    client = track.connect({"host": "example.test", "port": port, "lookup": lookup, "autoSelectFamily": False})
    flag = event_flag(client, "error")
    assert flag.wait(5)
    assert str(flag.args[0]) == "connect ECONNREFUSED 127.0.0.1:%d" % port
    assert lookup.calls == [("example.test", {"hints": stdlib_socket.AI_ADDRCONFIG})]
    assert client.autoSelectFamilyAttemptedAddresses is None


def test_a_family_this_machine_lacks_fails_only_its_attempt(track, monkeypatch, must_call):
    # Node's connect6 on a machine without IPv6: EAFNOSUPPORT for that attempt, the next one
    # goes on.  Here socket(AF_INET6) is what fails; no IPv6-less machine is at hand, so
    # connecting.py is given a socket() that refuses the family as such a kernel does.
    from nodenet_gevent import connecting

    real = connecting.gsocket

    class NoIPv6:
        @staticmethod
        def socket(family, *args):
            if family == stdlib_socket.AF_INET6:
                raise OSError(errno.EAFNOSUPPORT, os.strerror(errno.EAFNOSUPPORT))
            return real.socket(family, *args)

    server = track.listen(lambda c: c.end())
    port = server.address()["port"]
    monkeypatch.setattr(connecting, "gsocket", NoIPv6)
    client = track.connect({"host": "example.test", "port": port, "lookup": fixed_lookup(("::1", 6), ("127.0.0.1", 4))})
    failures = []
    client.on("connectionAttemptFailed", lambda *a: failures.append(a[:3] + (a[3].code, str(a[3]))))
    net.once(client, "connect", timeout=5)
    assert failures == [("::1", port, 6, "EAFNOSUPPORT", "connect EAFNOSUPPORT ::1:%d" % port)]
    assert client.autoSelectFamilyAttemptedAddresses == ["::1:%d" % port, "127.0.0.1:%d" % port]


def test_the_aggregate_error_has_the_first_attempts_code(track, silent_address, closed_port):
    # Node's NodeAggregateError: code = errors[0].code (here the timeout, then a refusal).
    silent = silent_address(closed_port)
    lookup = fixed_lookup((silent[0], 4), ("127.0.0.1", 4))
    client = track.connect({"host": "example.test", "port": closed_port, "lookup": lookup,
                            "autoSelectFamilyAttemptTimeout": 20})
    with pytest.raises(net.AggregateError) as caught:
        net.once(client, "close", timeout=5)
    assert [e.code for e in caught.value.errors] == ["ETIMEDOUT", "ECONNREFUSED"]
    assert caught.value.code == "ETIMEDOUT" and caught.value.errno == caught.value.errors[0].errno


@pytest.mark.parametrize("options, flags", [
    ({}, stdlib_socket.AI_ADDRCONFIG),
    ({"autoSelectFamily": False}, stdlib_socket.AI_ADDRCONFIG),
    ({"family": 4}, 0),
    ({"hints": stdlib_socket.AI_V4MAPPED}, stdlib_socket.AI_V4MAPPED),
])
def test_the_system_lookup_gets_nodes_hints(track, monkeypatch, closed_port, options, flags):
    from nodenet_gevent import lookup

    real, asked = lookup._system_getaddrinfo, []

    def getaddrinfo(host, port, family, type, proto, flags=0):
        asked.append((host, flags))
        return real(host, port, family, type, proto, flags)

    monkeypatch.setattr(lookup, "_system_getaddrinfo", getaddrinfo)
    client = track.connect({"host": "localhost", "port": closed_port, **options})
    client.on("error", lambda error: None)
    assert event_flag(client, "close").wait(5)
    assert asked == [("localhost", flags)]


def test_a_unix_path_connect_emits_the_attempt_events(track, tmp_path):
    # Node's internalConnect: ('connectionAttempt'|'connectionAttemptFailed', path, undefined, undefined[, err])
    missing = str(tmp_path / "nobody.sock")
    client = track.connect(missing)
    events = []
    client.on("connectionAttempt", lambda *a: events.append(("attempt",) + a))
    client.on("connectionAttemptFailed", lambda *a: events.append(("failed",) + a[:3] + (a[3].code,)))
    with pytest.raises(FileNotFoundError):
        net.once(client, "close", timeout=5)
    assert events == [("attempt", missing, None, None), ("failed", missing, None, None, "ENOENT")]
    server, path = track.listen_unix(lambda c: c.end())
    client = track.connect(path)
    attempts = []
    client.on("connectionAttempt", lambda *a: attempts.append(a))
    net.once(client, "connect", timeout=5)
    assert attempts == [(path, None, None)]


@pytest.mark.parametrize("options, code", [
    ({"autoSelectFamily": 1}, "ERR_INVALID_ARG_TYPE"),
    ({"autoSelectFamilyAttemptTimeout": "x"}, "ERR_INVALID_ARG_TYPE"),
    ({"autoSelectFamilyAttemptTimeout": 0}, "ERR_OUT_OF_RANGE"),
    ({"lookup": 1}, "ERR_INVALID_ARG_TYPE"),
    ({"hints": "x"}, "ERR_INVALID_ARG_TYPE"),
    ({"signal": 1}, "ERR_INVALID_ARG_TYPE"),
    ({"blockList": 1}, "ERR_INVALID_ARG_VALUE"),
    ({"onread": 1}, "ERR_INVALID_ARG_TYPE"),
    ({"onread": {"buffer": b"read-only", "callback": print}}, "ERR_INVALID_ARG_TYPE"),
    ({"onread": {"buffer": bytearray(4), "callback": 1}}, "ERR_INVALID_ARG_TYPE"),
])
def test_bad_modern_options_raise_at_once(options, code):
    with pytest.raises((TypeError, ValueError)) as caught:
        net.connect({"port": 1, "host": "127.0.0.1", **options})
    assert caught.value.code == code


# ---------------------------------------------------------------------------
# lookup


def test_lookup_is_called_with_family_and_hints_and_may_answer_later(track):
    server = track.listen()
    calls = []

    def lookup(hostname, options, callback):
        calls.append(dict(options))
        gevent.spawn_later(0.01, callback, None, "127.0.0.1", 4)  # from another greenlet, later

    client = track.connect({"host": "later.test", "port": server.address()["port"], "family": 4,
                            "hints": stdlib_socket.AI_ADDRCONFIG, "lookup": lookup})
    lookups = []
    client.on("lookup", lambda *a: lookups.append(a))
    net.once(client, "connect", timeout=5)
    assert calls == [{"hints": stdlib_socket.AI_ADDRCONFIG, "family": 4}]
    assert lookups == [(None, "127.0.0.1", 4, "later.test")]


def test_lookup_error_and_bad_answers(track):
    failure = OSError("nope")
    failure.code = "ENOTFOUND"
    client = track.connect({"host": "x.test", "port": 1, "lookup": lambda h, o, cb: cb(failure)})
    lookups = []
    client.on("lookup", lambda *a: lookups.append(a))
    flag = event_flag(client, "error")
    assert flag.wait(5) and flag.args[0] is failure
    assert lookups == [(failure, None, None, "x.test")]
    for answer in ("not-an-ip", [{"address": "not-an-ip", "family": 4}]):
        bad = track.connect({"host": "x.test", "port": 1, "autoSelectFamily": isinstance(answer, list),
                             "lookup": lambda h, o, cb, answer=answer: cb(None, answer, 4)})
        flag = event_flag(bad, "error")
        assert flag.wait(5)
        assert flag.args[0].code == "ERR_INVALID_IP_ADDRESS" and str(flag.args[0]) == "Invalid IP address: not-an-ip"


def test_destroy_while_the_lookup_has_not_answered(track, must_call):
    client = track.connect({"host": "x.test", "port": 1, "lookup": lambda h, o, cb: None})
    client.on("close", must_call(lambda had_error: None))
    gevent.sleep(0)  # the reader calls the lookup, which never answers
    client.destroy()
    net.once(client, "close", timeout=5)
    wait_until(lambda: client._reader.dead, message="the reader greenlet ended")


# ---------------------------------------------------------------------------
# signal


def check_abort_error(error, reason=None):
    assert isinstance(error, net.AbortError)
    assert error.name == "AbortError" and error.code == "ABORT_ERR" and str(error) == "The operation was aborted"
    if reason is not None:
        assert error.cause is reason


def test_signal_already_aborted_fails_after_connect_returns(track, closed_port):
    controller = net.AbortController()
    controller.abort()
    client = track.connect({"port": closed_port, "host": "127.0.0.1", "signal": controller.signal})
    errors = []
    client.on("error", errors.append)  # after connect() returned: not missed
    with pytest.raises(net.AbortError):  # 'error' comes before 'close'
        net.once(client, "close", timeout=5)
    check_abort_error(errors[0], controller.signal.reason)
    assert errors[0].cause.name == "AbortError"


def test_abort_while_connecting(track, silent_address):
    server = track.listen()
    address, port = silent_address(server.address()["port"])
    controller = net.AbortController()
    client = track.connect({"port": port, "host": address, "signal": controller.signal})
    errors = []
    client.on("error", errors.append)
    gevent.spawn_later(0.05, controller.abort, "changed my mind")
    with pytest.raises(net.AbortError):  # 'error' comes before 'close'
        net.once(client, "close", timeout=5)
    check_abort_error(errors[0])
    assert errors[0].cause == "changed my mind"


def test_abort_after_connected_destroys_and_lets_go_of_the_signal(track):
    server = track.listen(lambda c: c.resume())
    controller = net.AbortController()
    client = track.connect({"port": server.address()["port"], "host": "127.0.0.1", "signal": controller.signal})
    net.once(client, "connect", timeout=5)
    errors = []
    client.on("error", errors.append)
    controller.abort()
    with pytest.raises(net.AbortError):  # 'error' comes before 'close'
        net.once(client, "close", timeout=5)
    check_abort_error(errors[0])
    other = net.AbortController()
    clean = track.connect({"port": server.address()["port"], "host": "127.0.0.1", "signal": other.signal})
    net.once(clean, "connect", timeout=5)
    assert other.signal.listener_count("abort") == 1
    clean.destroy()
    assert other.signal.listener_count("abort") == 0


def test_listen_signal_closes_the_server(track):
    controller = net.AbortController()
    server = track.server()
    server.listen({"port": 0, "host": "127.0.0.1", "signal": controller.signal})
    net.once(server, "listening", timeout=5)
    controller.abort()
    net.once(server, "close", timeout=5)
    assert not server.listening
    aborted = net.AbortController()
    aborted.abort()
    again = track.server()
    again.listen({"port": 0, "host": "127.0.0.1", "signal": aborted.signal})
    net.once(again, "close", timeout=5)
    with pytest.raises(TypeError) as caught:
        track.server().listen({"port": 0, "signal": "no"})
    assert caught.value.code == "ERR_INVALID_ARG_TYPE"


# ---------------------------------------------------------------------------
# blockList


def test_server_block_list_drops_before_connection(track, must_call):
    blocked = net.BlockList()
    blocked.addAddress("127.0.0.1")
    server = track.listen(must_call.never("connection handler"), blockList=blocked)
    drops = []
    server.on("drop", drops.append)
    client = track.connect(server.address()["port"], "127.0.0.1")
    client.on("error", lambda error: None)
    net.once(client, "close", timeout=5)
    wait_until(lambda: drops, message="'drop'")
    assert drops[0]["remoteAddress"] == "127.0.0.1" and drops[0]["localPort"] == server.address()["port"]


def test_connect_block_list_refuses_the_address(track):
    blocked = net.BlockList()
    blocked.addSubnet("127.0.0.0", 8)
    server = track.listen()
    client = track.connect({"port": server.address()["port"], "host": "127.0.0.1", "blockList": blocked})
    flag = event_flag(client, "error")
    assert flag.wait(5)
    assert flag.args[0].code == "ERR_IP_BLOCKED" and str(flag.args[0]) == "IP(127.0.0.1) is blocked by net.BlockList"


# ---------------------------------------------------------------------------
# onread, and the server's highWaterMark


@pytest.mark.parametrize("supply", ["buffer", "function"])
def test_onread_reads_into_the_callers_buffer(track, supply, must_call):
    blob = os.urandom(2 * 1024 * 1024)
    server = track.listen(lambda c: c.end(blob))
    buffer = bytearray(4096)
    digest = hashlib.sha256()
    sizes = []

    def callback(nread, buf):
        assert buf is buffer
        digest.update(memoryview(buf)[:nread])
        sizes.append(nread)
        if len(sizes) == 3:
            gevent.spawn_later(0.01, client.resume)
            return False  # pauses
        return None

    onread = {"buffer": buffer if supply == "buffer" else (lambda: buffer), "callback": callback}
    client = track.connect({"port": server.address()["port"], "host": "127.0.0.1", "onread": onread})
    client.on("data", must_call.never("'data' with onread"))
    net.once(client, "end", timeout=10)
    assert digest.digest() == hashlib.sha256(blob).digest() and max(sizes) <= 4096
    assert client.bytes_read == len(blob)


def test_server_high_water_mark_reaches_accepted_sockets(track):
    accepted = []
    server = track.listen(accepted.append, highWaterMark=1024)
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    wait_until(lambda: accepted, message="the accepted socket")
    assert accepted[0].writableHighWaterMark == 1024 and accepted[0].readableHighWaterMark == 1024


# ---------------------------------------------------------------------------
# no option silently dropped


@pytest.mark.parametrize("call", [
    lambda: net.connect({"port": 1, "allowHalfopen": True}),
    lambda: net.Socket({"handle": object()}),
    lambda: net.createServer({"pauseOnconnect": True}),
    lambda: net.createServer().listen({"port": 0, "reuseport": True}),
])
def test_unknown_options_are_refused_by_name(call):
    with pytest.raises(TypeError) as caught:
        call()
    assert caught.value.code == "ERR_INVALID_ARG_VALUE"
    assert "options." in str(caught.value)
