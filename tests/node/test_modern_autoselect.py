"""Happy Eyeballs (``autoSelectFamily``) and its defaults.

Ports of nodejs/node test/parallel test-net-autoselectfamily.js,
test-net-autoselectfamily-default.js, test-net-autoselectfamily-ipv4first.js,
test-net-autoselectfamily-commandline-option.js (a stand-in, below),
test-net-autoselectfamily-attempt-timeout-default-value.js,
test-net-socket-connect-invalid-autoselectfamily.js and
test-net-socket-connect-invalid-autoselectfamilyattempttimeout.js.

Node's ``createMockedLookup`` is :func:`mocked_lookup`.  Where Node's tests use
Internet addresses that never answer (``2606:4700::6810:85e5``,
``104.20.22.46``), these use loopback ones that never answer either: a listener
on 127.0.0.2/127.0.0.3 whose accept queue is full, reached as IPv4 and, for the
IPv6 family, as ``::ffff:127.0.0.2`` (an IPv4-mapped address, connected through
an IPv6 socket).  An address Node expects to refuse (``::1`` where only
127.0.0.1 listens) is held bound for the test, so that it does refuse.  The
command-line flag ``--no-network-family-autoselection`` is, in Python, the
process default it sets: ``net.setDefaultAutoSelectFamily(False)``.
"""

import contextlib

import gevent
import pytest

import nodenet_gevent as net
from conftest import has_ipv6
from test_modern_support import greenlet_errors, never_answering, refusing, serve  # noqa: F401

pytestmark = pytest.mark.timeout(30)

# Node's common.defaultAutoSelectFamilyAttemptTimeout is long for slow CI machines; an
# attempt that cannot answer here (a full accept queue) never answers, so short is enough.
ATTEMPT_TIMEOUT = 50


@pytest.fixture(autouse=True)
def restore_defaults():
    yield
    net.setDefaultAutoSelectFamily(True)
    net.setDefaultAutoSelectFamilyAttemptTimeout(250)


def mocked_lookup(*addresses):
    """Node's ``createMockedLookup(...addresses)``: answers them (all, or the first) on the next tick."""
    entries = [{"address": address, "family": net.isIP(address)} for address in addresses]

    def lookup(hostname, options, callback):
        if options.get("all") is True:
            gevent.spawn(callback, None, entries)
        else:
            gevent.spawn(callback, None, entries[0]["address"], entries[0]["family"])

    return lookup


def responder(reply, must_call):
    """A server's connection handler: answer the first data with *reply*, then end."""
    def on_connection(socket):
        def on_data(_):
            socket.write(reply)
            socket.end()

        socket.on("data", must_call(on_data))

    return on_connection


def exchange(connection):
    """Node's blocks' client half: send 'request', collect the response until 'end'."""
    response = []
    connection.setEncoding("utf-8")
    connection.on("data", response.append)
    connection.write("request")
    net.once(connection, "end", timeout=10)
    return "".join(response)


def test_ipv4_is_reached_if_ipv6_is_not(track, must_call):
    # Node: test/parallel/test-net-autoselectfamily.js ("IPV4 is reached if IPV6 is not reachable")
    server = serve(track, responder(b"response-ipv4", must_call), 0, "127.0.0.1")
    port = server.address()["port"]
    with refusing("::1", port) if has_ipv6() else contextlib.nullcontext():
        connection = track.connect({"host": "example.org", "port": port,
                                    "lookup": mocked_lookup("::1", "127.0.0.1"), "autoSelectFamily": True,
                                    "autoSelectFamilyAttemptTimeout": ATTEMPT_TIMEOUT})

        def on_ready():
            assert connection.autoSelectFamilyAttemptedAddresses == ["::1:%d" % port, "127.0.0.1:%d" % port]

        connection.on("ready", must_call(on_ready))
        assert exchange(connection) == "response-ipv4"


def test_only_the_last_successful_connection_is_established(track, must_call):
    # Node: test/parallel/test-net-autoselectfamily.js ("only the last successful
    # connection is established"; the addresses that never answer are on loopback)
    if not has_ipv6():
        pytest.skip("IPv4-mapped IPv6 addresses need IPv6")
    server = serve(track, responder(b"response-ipv4", must_call), 0, "127.0.0.1")
    port = server.address()["port"]
    with never_answering("127.0.0.2", port), never_answering("127.0.0.3", port), refusing("::1", port):
        connection = track.connect({
            "host": "example.org", "port": port,
            "lookup": mocked_lookup("::ffff:127.0.0.2", "::ffff:127.0.0.3", "::1",
                                    "127.0.0.2", "127.0.0.3", "127.0.0.1"),
            "autoSelectFamily": True, "autoSelectFamilyAttemptTimeout": ATTEMPT_TIMEOUT,
        })

        def on_ready():
            assert connection.autoSelectFamilyAttemptedAddresses == [
                "::ffff:127.0.0.2:%d" % port, "127.0.0.2:%d" % port,
                "::ffff:127.0.0.3:%d" % port, "127.0.0.3:%d" % port,
                "::1:%d" % port, "127.0.0.1:%d" % port,
            ]

        connection.on("ready", must_call(on_ready))
        assert exchange(connection) == "response-ipv4"


def test_ipv4_is_not_reached_if_ipv6_is(track, must_call):
    # Node: test/parallel/test-net-autoselectfamily.js ("IPV4 is NOT reached if IPV6 is reachable")
    if not has_ipv6():
        pytest.skip("no IPv6 (common.hasIPv6 is false)")
    ipv4 = serve(track, responder(b"response-ipv4", must_call.never), 0, "127.0.0.1")
    port = ipv4.address()["port"]
    try:
        serve(track, responder(b"response-ipv6", must_call), port, "::1")
    except (OSError, gevent.Timeout):
        pytest.skip("port %d is taken on ::1" % port)
    connection = track.connect({"host": "example.org", "port": port, "lookup": mocked_lookup("::1", "127.0.0.1"),
                                "autoSelectFamily": True, "autoSelectFamilyAttemptTimeout": ATTEMPT_TIMEOUT})

    def on_ready():
        assert connection.autoSelectFamilyAttemptedAddresses == ["::1:%d" % port]

    connection.on("ready", must_call(on_ready))
    assert exchange(connection) == "response-ipv6"


def test_all_errors_are_returned_when_no_connection_succeeded(track, must_call):
    # Node: test/parallel/test-net-autoselectfamily.js ("all errors are returned";
    # Node's port 10 is a port held bound on both loopback addresses here)
    with refusing("127.0.0.1", 0) as port, refusing("::1", port) if has_ipv6() else contextlib.nullcontext():
        connection = track.connect({"host": "example.org", "port": port,
                                    "lookup": mocked_lookup("::1", "127.0.0.1"), "autoSelectFamily": True,
                                    "autoSelectFamilyAttemptTimeout": ATTEMPT_TIMEOUT})
        connection.on("ready", must_call.never("'ready'"))
        with pytest.raises(net.AggregateError) as caught:
            net.once(connection, "close", timeout=10)
    error = caught.value
    assert connection.autoSelectFamilyAttemptedAddresses == ["::1:%d" % port, "127.0.0.1:%d" % port]
    assert error.name == "AggregateError"
    assert len(error.errors) == 2
    messages = [str(e) for e in error.errors]
    assert "connect ECONNREFUSED 127.0.0.1:%d" % port in messages
    if has_ipv6():
        assert "connect ECONNREFUSED ::1:%d" % port in messages


@pytest.mark.parametrize("how", ["option", "default", "command line"])
def test_ipv4_is_not_reached_when_it_is_off(track, must_call, how):
    # Node: test/parallel/test-net-autoselectfamily.js ("the option can be disabled"),
    # test-net-autoselectfamily-default.js (the default disabled) and
    # test-net-autoselectfamily-commandline-option.js (--no-network-family-autoselection:
    # the same process default)
    server = serve(track, responder(b"response-ipv4", must_call.never), 0, "127.0.0.1")
    port = server.address()["port"]
    options = {"host": "example.org", "port": port, "lookup": mocked_lookup("::1", "127.0.0.1")}
    if how == "option":
        options["autoSelectFamily"] = False
    else:
        net.setDefaultAutoSelectFamily(False)
    with refusing("::1", port) if has_ipv6() else contextlib.nullcontext():
        connection = track.connect(options)
        connection.on("ready", must_call.never("'ready'"))
        with pytest.raises(OSError) as caught:
            net.once(connection, "close", timeout=10)
    error = caught.value
    if how != "default":  # (-default.js does not look)
        assert connection.autoSelectFamilyAttemptedAddresses is None
    if has_ipv6():
        assert error.code == "ECONNREFUSED"
        assert str(error) == "connect ECONNREFUSED ::1:%d" % port
    else:
        assert error.code in ("EAFNOSUPPORT", "EADDRNOTAVAIL", "EUNATCH")


def test_ipv4_is_reached_by_default(track, must_call):
    # Node: test/parallel/test-net-autoselectfamily-default.js ("IPV4 is reached by default")
    server = serve(track, responder(b"response-ipv4", must_call), 0, "127.0.0.1")
    port = server.address()["port"]
    net.setDefaultAutoSelectFamily(True)
    with refusing("::1", port) if has_ipv6() else contextlib.nullcontext():
        connection = track.connect({"host": "example.org", "port": port, "lookup": mocked_lookup("::1", "127.0.0.1"),
                                    "autoSelectFamilyAttemptTimeout": ATTEMPT_TIMEOUT})
        assert exchange(connection) == "response-ipv4"


def test_an_a_record_first_is_tried_first(track, must_call):
    # Node: test/parallel/test-net-autoselectfamily-ipv4first.js
    if not has_ipv6():
        pytest.skip("no IPv6 (common.hasIPv6 is false)")
    ipv4 = serve(track, responder(b"response-ipv4", must_call), 0, "127.0.0.1")
    port = ipv4.address()["port"]
    try:
        serve(track, responder(b"response-ipv6", must_call.never), port, "::1")
    except (OSError, gevent.Timeout):
        pytest.skip("port %d is taken on ::1" % port)
    connection = track.connect({"host": "example.org", "port": port, "lookup": mocked_lookup("127.0.0.1", "::1"),
                                "autoSelectFamily": True})
    assert exchange(connection) == "response-ipv4"


def test_default_attempt_timeout():
    # Node: test/parallel/test-net-autoselectfamily-attempt-timeout-default-value.js
    # (upstream now expects its test harness's platformTimeout(2500); Node 20's default is 250)
    assert net.getDefaultAutoSelectFamilyAttemptTimeout() == 250


def test_invalid_auto_select_family():
    # Node: test/parallel/test-net-socket-connect-invalid-autoselectfamily.js
    with pytest.raises(TypeError) as caught:
        net.connect({"port": 8080, "autoSelectFamily": "INVALID"})
    assert caught.value.code == "ERR_INVALID_ARG_TYPE"


def test_invalid_auto_select_family_attempt_timeout():
    # Node: test/parallel/test-net-socket-connect-invalid-autoselectfamilyattempttimeout.js
    for timeout in (-10, 0):
        with pytest.raises(ValueError) as caught:
            net.connect({"port": 8080, "autoSelectFamily": True, "autoSelectFamilyAttemptTimeout": timeout})
        assert caught.value.code == "ERR_OUT_OF_RANGE"
        with pytest.raises(ValueError) as caught:
            net.setDefaultAutoSelectFamilyAttemptTimeout(timeout)
        assert caught.value.code == "ERR_OUT_OF_RANGE"
    # "the default value of autoSelectFamilyAttemptTimeout is 10 if passed number is less than 10"
    for timeout in (1, 9):
        net.setDefaultAutoSelectFamilyAttemptTimeout(timeout)
        assert net.getDefaultAutoSelectFamilyAttemptTimeout() == 10
