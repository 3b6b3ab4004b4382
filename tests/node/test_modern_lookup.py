"""The ``lookup`` option: a resolver of the caller's, called as Node calls it.

Ports of nodejs/node test/parallel test-net-dns-custom-lookup.js,
test-net-options-lookup.js and test-net-connect-options-ipv6.js.  JavaScript's
``undefined`` as an answer is ``None``; ``process.nextTick`` is a greenlet
spawned to answer later.
"""

import gevent
import pytest

import nodenet_gevent as net
from conftest import event_flag
from test_modern_support import greenlet_errors, needs_ipv6, raises_now, serve  # noqa: F401

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("address_type", [4, pytest.param(6, marks=needs_ipv6)])
def test_a_custom_lookup_is_used(track, must_call, address_type):
    # Node: test/parallel/test-net-dns-custom-lookup.js (check(4), then check(6) with IPv6)
    address = "127.0.0.1" if address_type == 4 else "::1"

    def on_connection(client):
        client.end()
        server.close()

    server = serve(track, on_connection, 0, address)

    def lookup(host, dnsopts, cb):
        dnsopts["family"] = address_type  # (Node's test writes into the options it was given)
        if dnsopts.get("all"):
            gevent.spawn(cb, None, [{"address": address, "family": address_type}])
        else:
            gevent.spawn(cb, None, address, address_type)

    def on_lookup(err, ip, type_, *host):
        assert err is None
        assert ip == address
        assert type_ == address_type

    client = track.connect({"port": server.address()["port"], "host": "localhost", "family": address_type,
                            "lookup": lookup})
    client.on("lookup", must_call(on_lookup))
    client.resume()
    net.once(server, "close", timeout=10)


@pytest.mark.parametrize("all_addresses", [False, True])
def test_bad_lookup_ips_are_handled(track, all_addresses):
    # Node: test/parallel/test-net-dns-custom-lookup.js ("bad lookup() IPs are handled";
    # both answer forms: the option decides which one Node asks for)
    def lookup(host, dnsopts, cb):
        if dnsopts.get("all"):
            cb(None, [{"address": None, "family": 4}])
        else:
            cb(None, None, 4)

    client = track.connect({"host": "localhost", "port": 80, "lookup": lookup, "autoSelectFamily": all_addresses})
    with pytest.raises(ValueError) as caught:
        net.once(client, "close", timeout=10)
    assert caught.value.code == "ERR_INVALID_IP_ADDRESS"


@pytest.mark.parametrize("value", ["foobar", 1, {}, []])
def test_a_lookup_that_is_not_a_function_raises(value):
    # Node: test/parallel/test-net-options-lookup.js (connectThrows)
    error = raises_now(TypeError, lambda: net.connect({"host": "localhost", "port": 0, "lookup": value}))
    assert error.code == "ERR_INVALID_ARG_TYPE"


def test_a_lookup_function_does_not_raise(track):
    # Node: test/parallel/test-net-options-lookup.js (connectDoesNotThrow(() => {}))
    client = track.connect({"host": "localhost", "port": 0, "lookup": lambda host, options, cb: None})
    assert client.connecting


@pytest.mark.parametrize("all_addresses", [False, True])
def test_an_invalid_address_family_is_an_error(track, all_addresses):
    # Node: test/parallel/test-net-options-lookup.js ("an error is emitted when an
    # invalid address family is returned"; both answer forms)
    def lookup(host, options, cb):
        if options.get("all"):
            cb(None, [{"address": "127.0.0.1", "family": 100}])
        else:
            cb(None, "127.0.0.1", 100)

    s = track.connect({"host": "localhost", "port": 0, "lookup": lookup, "autoSelectFamily": all_addresses})
    errors = event_flag(s, "error")
    assert errors.wait(10)
    error = errors.args[0]
    assert error.code == "ERR_INVALID_ADDRESS_FAMILY"
    assert error.host == "localhost"
    assert error.port == 0
    assert str(error) == "Invalid address family: 100 localhost:0"
    assert isinstance(error, ValueError)  # Node's RangeError


@needs_ipv6
def test_the_family_option_is_honored(track, must_call):
    # Node: test/parallel/test-net-connect-options-ipv6.js
    def on_connection(socket):
        socket.resume()
        socket.on("end", must_call())
        socket.end()

    server = serve(track, on_connection, 0, "::1", allowHalfOpen=True)

    def lookup(addr, opt, cb):
        assert addr == "dummy"
        assert opt["family"] == 6
        cb(None, "::1", opt["family"])

    closed = []

    def on_connect():
        client.resume()

        def on_end():
            def later():  # "wait for next uv tick and make sure the socket stream is writable"
                assert client.writable
                client.end()

            gevent.spawn_later(0.01, later)

        client.on("end", on_end)
        client.on("close", lambda *_: (closed.append(True), server.close()))

    client = track.connect({"host": "dummy", "port": server.address()["port"], "family": 6, "allowHalfOpen": True,
                            "lookup": must_call(lookup)}, on_connect)
    net.once(server, "close", timeout=10)
    assert closed
