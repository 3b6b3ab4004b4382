"""net.SocketAddress: Node's own test file, ported.

Port of nodejs/node test/parallel/test-socketaddress.js.  Not ported: "is
cloneable" (a ``MessageChannel`` round trip; the defaults it also checks are
checked here) and "InternalSocketAddress correctly inherits from
SocketAddress" (an internal binding).  ``SocketAddress.parse`` is Node 22's;
its table is the upstream one, which keeps an explicit ``:80`` as the fix for
nodejs/node#62906 does (Node 22.x itself returns port 0 there).
"""

import pytest

import nodenet_gevent as net
from test_modern_support import greenlet_errors  # noqa: F401

pytestmark = pytest.mark.timeout(60)

SocketAddress = net.SocketAddress


def fields(sa):
    return sa.address, sa.port, sa.family, sa.flowlabel


def test_has_reasonable_defaults():
    # Node: test/parallel/test-socketaddress.js
    assert fields(SocketAddress()) == ("127.0.0.1", 0, "ipv4", 0)
    assert fields(SocketAddress({})) == ("127.0.0.1", 0, "ipv4", 0)


def test_interprets_simple_ipv4_correctly():
    # Node: test/parallel/test-socketaddress.js
    assert fields(SocketAddress({"address": "123.123.123.123"})) == ("123.123.123.123", 0, "ipv4", 0)


def test_sets_the_port_correctly():
    # Node: test/parallel/test-socketaddress.js
    assert fields(SocketAddress({"address": "123.123.123.123", "port": 80})) == ("123.123.123.123", 80, "ipv4", 0)


def test_interprets_simple_ipv6_correctly():
    # Node: test/parallel/test-socketaddress.js
    assert fields(SocketAddress({"family": "ipv6"})) == ("::", 0, "ipv6", 0)


def test_uses_the_flowlabel_correctly():
    # Node: test/parallel/test-socketaddress.js
    assert fields(SocketAddress({"family": "ipv6", "flowlabel": 1})) == ("::", 0, "ipv6", 1)


def code_of(call):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    return info.value.code


def test_validates_input_correctly():
    # Node: test/parallel/test-socketaddress.js
    for options in [1, False, "hello"]:
        assert code_of(lambda o=options: SocketAddress(o)) == "ERR_INVALID_ARG_TYPE"
    for family in [1, False, {}, [], "test"]:
        assert code_of(lambda f=family: SocketAddress({"family": f})) == "ERR_INVALID_ARG_VALUE"
    for address in [1, False, {}, []]:
        assert code_of(lambda a=address: SocketAddress({"address": a})) == "ERR_INVALID_ARG_TYPE"
    for port in [-1, False, {}, []]:
        assert code_of(lambda p=port: SocketAddress({"port": p})) == "ERR_SOCKET_BAD_PORT"
    assert code_of(lambda: SocketAddress({"flowlabel": -1})) == "ERR_OUT_OF_RANGE"


GOOD = [
    ("1.2.3.4", "1.2.3.4", 0, "ipv4"),
    ("192.168.257:1", "192.168.1.1", 1, "ipv4"),
    ("256", "0.0.1.0", 0, "ipv4"),
    ("999999999:12", "59.154.201.255", 12, "ipv4"),
    ("0xffffffff", "255.255.255.255", 0, "ipv4"),
    ("0x.0x.0", "0.0.0.0", 0, "ipv4"),
    ("[1:0::]", "1::", 0, "ipv6"),
    ("[1::8]:123", "1::8", 123, "ipv6"),
    ("127.0.0.1:80", "127.0.0.1", 80, "ipv4"),
    ("127.0.0.1:443", "127.0.0.1", 443, "ipv4"),
    ("[::1]:80", "::1", 80, "ipv6"),
    ("[::1]:443", "::1", 443, "ipv6"),
    ("user:80@1.2.3.4", "1.2.3.4", 0, "ipv4"),
    ("user:80@1.2.3.4:80", "1.2.3.4", 80, "ipv4"),
    ("user:80@1.2.3.4:123", "1.2.3.4", 123, "ipv4"),
    ("user:80@[::1]", "::1", 0, "ipv6"),
    ("user:80@[::1]:80", "::1", 80, "ipv6"),
    ("user:80@[::1]:123", "::1", 123, "ipv6"),
]


@pytest.mark.parametrize("text,address,port,family", GOOD)
def test_parse_works_as_expected(text, address, port, family):
    # Node: test/parallel/test-socketaddress.js
    parsed = SocketAddress.parse(text)
    assert (parsed.address, parsed.port, parsed.family) == (address, port, family)


@pytest.mark.parametrize("text", ["not an ip", "abc.123", "259.1.1.1", "12:12:12"])
def test_parse_rejects(text):
    # Node: test/parallel/test-socketaddress.js
    assert SocketAddress.parse(text) is None
