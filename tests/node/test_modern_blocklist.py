"""net.BlockList: Node's own test file, ported.

Port of nodejs/node test/parallel/test-blocklist.js (the current tree keeps it
as test/parallel/blocklist/index.js), and of test-net-blocklist.js and
test-net-server-blocklist.js (from an older tree; the ``blockList`` options of
connect() and createServer() are Node 22's).  Where an older copy of the file expects
something Node 20 does not do (``removeAddress``/``removeSubnet``, a rule
added twice listed once), Node 20 is what is checked (see NOT_PORTED.md).
``util.inspect`` becomes ``repr``; JavaScript's ``[]``, ``{}``, ``null`` and
``1n`` arguments are a list, a dict and ``None``, and a missing argument is
``None`` too.
"""

import pytest

import nodenet_gevent as net
from test_modern_support import greenlet_errors  # noqa: F401

pytestmark = pytest.mark.timeout(60)

BlockList = net.BlockList
SocketAddress = net.SocketAddress

WRONG_TYPES = [1, [], {}, None, 2**64]  # [1, [], {}, null, 1n, undefined]


def code_of(call):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    return info.value.code


def test_argument_types():
    # Node: test/parallel/test-blocklist.js
    block_list = BlockList()
    for value in WRONG_TYPES:
        assert code_of(lambda v=value: block_list.addAddress(v)) == "ERR_INVALID_ARG_TYPE"
        if value is not None:  # None is undefined: the default family
            assert code_of(lambda v=value: block_list.addAddress("1.1.1.1", v)) == "ERR_INVALID_ARG_TYPE"
    assert code_of(lambda: block_list.addAddress("1.1.1.1", "foo")) == "ERR_INVALID_ARG_VALUE"
    for value in WRONG_TYPES:
        assert code_of(lambda v=value: block_list.addRange(v)) == "ERR_INVALID_ARG_TYPE"
        assert code_of(lambda v=value: block_list.addRange("1.1.1.1", v)) == "ERR_INVALID_ARG_TYPE"
        if value is not None:
            assert code_of(lambda v=value: block_list.addRange("1.1.1.1", "1.1.1.2", v)) == "ERR_INVALID_ARG_TYPE"
    assert code_of(lambda: block_list.addRange("1.1.1.1", "1.1.1.2", "foo")) == "ERR_INVALID_ARG_VALUE"
    assert block_list.rules == []


def test_addresses():
    # Node: test/parallel/test-blocklist.js
    block_list = BlockList()
    block_list.addAddress("1.1.1.1")
    block_list.addAddress("8592:757c:efae:4e45:fb5d:d62a:0d00:8e17", "ipv6")
    block_list.addAddress("::ffff:1.1.1.2", "ipv6")

    assert block_list.check("1.1.1.1")
    assert not block_list.check("1.1.1.1", "ipv6")
    assert not block_list.check("8592:757c:efae:4e45:fb5d:d62a:0d00:8e17")
    assert block_list.check("8592:757c:efae:4e45:fb5d:d62a:0d00:8e17", "ipv6")

    assert block_list.check("::ffff:1.1.1.1", "ipv6")
    assert block_list.check("::ffff:1.1.1.1", "IPV6")

    assert block_list.check("1.1.1.2")

    assert not block_list.check("1.2.3.4")
    assert not block_list.check("::1", "ipv6")


def test_addresses_as_socket_addresses():
    # Node: test/parallel/test-blocklist.js
    block_list = BlockList()
    sa1 = SocketAddress({"address": "1.1.1.1"})
    sa2 = SocketAddress({"address": "8592:757c:efae:4e45:fb5d:d62a:0d00:8e17", "family": "ipv6"})
    sa3 = SocketAddress({"address": "1.1.1.2"})

    block_list.addAddress(sa1)
    block_list.addAddress(sa2)
    block_list.addAddress("::ffff:1.1.1.2", "ipv6")

    assert block_list.check("1.1.1.1")
    assert block_list.check(sa1)
    assert not block_list.check("1.1.1.1", "ipv6")
    assert not block_list.check("8592:757c:efae:4e45:fb5d:d62a:0d00:8e17")
    assert block_list.check("8592:757c:efae:4e45:fb5d:d62a:0d00:8e17", "ipv6")
    assert block_list.check(sa2)

    assert block_list.check("::ffff:1.1.1.1", "ipv6")
    assert block_list.check("::ffff:1.1.1.1", "IPV6")

    assert block_list.check("1.1.1.2")
    assert block_list.check(sa3)

    assert not block_list.check("1.2.3.4")
    assert not block_list.check("::1", "ipv6")


def test_address_added_twice_is_listed_twice_in_node_20():
    # Node: test/parallel/test-blocklist.js (an older copy expects one rule;
    # Node 20 keeps both, and so do we)
    block_list = BlockList()
    block_list.addAddress("1.1.1.1")
    block_list.addAddress("1.1.1.1")
    assert block_list.rules == ["Address: IPv4 1.1.1.1", "Address: IPv4 1.1.1.1"]


@pytest.mark.parametrize("as_socket_addresses", [False, True])
def test_ranges(as_socket_addresses):
    # Node: test/parallel/test-blocklist.js
    block_list = BlockList()
    if as_socket_addresses:
        block_list.addRange(SocketAddress({"address": "1.1.1.1"}), SocketAddress({"address": "1.1.1.10"}))
        block_list.addRange(
            SocketAddress({"address": "::1", "family": "ipv6"}), SocketAddress({"address": "::f", "family": "ipv6"})
        )
    else:
        block_list.addRange("1.1.1.1", "1.1.1.10")
        block_list.addRange("::1", "::f", "ipv6")

    assert not block_list.check("1.1.1.0")
    for n in range(1, 11):
        assert block_list.check("1.1.1.%d" % n)
    assert not block_list.check("1.1.1.11")

    assert not block_list.check("::0", "ipv6")
    for n in range(0x1, 0x10):
        assert block_list.check("::%x" % n, "ipv6"), "::%x check failed" % n
    assert not block_list.check("::10", "ipv6")


@pytest.mark.parametrize("as_socket_address", [False, True])
def test_subnets(as_socket_address):
    # Node: test/parallel/test-blocklist.js
    block_list = BlockList()
    block_list.addSubnet(SocketAddress({"address": "1.1.1.0"}) if as_socket_address else "1.1.1.0", 16)
    block_list.addSubnet("8592:757c:efae:4e45::", 64, "ipv6")

    assert block_list.check("1.1.0.1")
    assert block_list.check(SocketAddress({"address": "1.1.1.1"}) if as_socket_address else "1.1.1.1")
    assert not block_list.check("1.2.0.1")
    assert block_list.check("::ffff:1.1.0.1", "ipv6")

    assert block_list.check("8592:757c:efae:4e45:f::", "ipv6")
    assert block_list.check("8592:757c:efae:4e45::f", "ipv6")
    assert not block_list.check("8592:757c:efae:4f45::f", "ipv6")


def test_rules():
    # Node: test/parallel/test-blocklist.js
    block_list = BlockList()
    block_list.addAddress("1.1.1.1")
    block_list.addRange("10.0.0.1", "10.0.0.10")
    block_list.addSubnet("8592:757c:efae:4e45::", 64, "IpV6")  # Case insensitive

    assert block_list.rules == [
        "Subnet: IPv6 8592:757c:efae:4e45::/64",
        "Range: IPv4 10.0.0.1-10.0.0.10",
        "Address: IPv4 1.1.1.1",
    ]

    assert block_list.check("1.1.1.1")
    assert block_list.check("10.0.0.5")
    assert block_list.check("::ffff:10.0.0.5", "ipv6")
    assert block_list.check("8592:757c:efae:4e45::f", "ipv6")

    assert not block_list.check("123.123.123.123")
    assert not block_list.check("8592:757c:efaf:4e45:fb5d:d62a:0d00:8e17", "ipv6")
    assert not block_list.check("::ffff:123.123.123.123", "ipv6")


def test_non_aligned_prefixes():
    # Node: test/parallel/test-blocklist.js
    # This test validates boundaries of non-aligned CIDR bit prefixes
    block_list = BlockList()
    block_list.addSubnet("10.0.0.0", 27)
    block_list.addSubnet("8592:757c:efaf::", 51, "ipv6")

    for n in range(32):
        assert block_list.check("10.0.0.%d" % n)
    assert not block_list.check("10.0.0.32")

    assert block_list.check("8592:757c:efaf:0:0:0:0:0", "ipv6")
    assert block_list.check("8592:757c:efaf:1fff:ffff:ffff:ffff:ffff", "ipv6")
    assert not block_list.check("8592:757c:efaf:2fff:ffff:ffff:ffff:ffff", "ipv6")


def test_ipv4_range_checked_as_ipv6():
    # Node: test/parallel/test-blocklist.js (regression test for nodejs/node#39074)
    block_list = BlockList()
    block_list.addRange("10.0.0.2", "10.0.0.10")

    # IPv4 checks against IPv4 range.
    assert block_list.check("10.0.0.2")
    assert block_list.check("10.0.0.10")
    assert not block_list.check("192.168.0.3")
    assert not block_list.check("2.2.2.2")
    assert not block_list.check("255.255.255.255")

    # IPv6 checks against IPv4 range.
    assert block_list.check("::ffff:0a00:0002", "ipv6")
    assert block_list.check("::ffff:0a00:000a", "ipv6")
    assert not block_list.check("::ffff:c0a8:0003", "ipv6")
    assert not block_list.check("::ffff:0202:0202", "ipv6")
    assert not block_list.check("::ffff:ffff:ffff", "ipv6")


def test_range_start_after_end():
    # Node: test/parallel/test-blocklist.js
    assert code_of(lambda: BlockList().addRange("1.1.1.2", "1.1.1.1")) == "ERR_INVALID_ARG_VALUE"


def test_subnet_arguments():
    # Node: test/parallel/test-blocklist.js
    block_list = BlockList()
    assert code_of(lambda: block_list.addSubnet(1)) == "ERR_INVALID_ARG_TYPE"
    assert code_of(lambda: block_list.addSubnet("1.1.1.1", "")) == "ERR_INVALID_ARG_TYPE"
    assert code_of(lambda: block_list.addSubnet("1.1.1.1", float("nan"))) == "ERR_OUT_OF_RANGE"
    assert code_of(lambda: block_list.addSubnet("", 1, 1)) == "ERR_INVALID_ARG_TYPE"
    assert code_of(lambda: block_list.addSubnet("", 1, "")) == "ERR_INVALID_ARG_VALUE"

    assert code_of(lambda: block_list.addSubnet("1.1.1.1", -1, "ipv4")) == "ERR_OUT_OF_RANGE"
    assert code_of(lambda: block_list.addSubnet("1.1.1.1", 33, "ipv4")) == "ERR_OUT_OF_RANGE"

    assert code_of(lambda: block_list.addSubnet("::", -1, "ipv6")) == "ERR_OUT_OF_RANGE"
    assert code_of(lambda: block_list.addSubnet("::", 129, "ipv6")) == "ERR_OUT_OF_RANGE"


def test_check_arguments():
    # Node: test/parallel/test-blocklist.js
    block_list = BlockList()
    assert code_of(lambda: block_list.check(1)) == "ERR_INVALID_ARG_TYPE"
    assert code_of(lambda: block_list.check("", 1)) == "ERR_INVALID_ARG_TYPE"


def test_inspect():
    # Node: test/parallel/test-blocklist.js (util.inspect is repr here; there is no depth)
    assert "rules: []" in repr(BlockList())


def test_slash_32():
    # Node: test/parallel/test-blocklist.js (nodejs/node#43360)
    block_list = BlockList()
    block_list.addSubnet("1.1.1.1", 32, "ipv4")

    assert block_list.check("1.1.1.1")
    assert not block_list.check("1.1.1.2")
    assert not block_list.check("2.3.4.5")


# ---------------------------------------------------------------------------
# Node: test/parallel/test-net-blocklist.js (connect's blockList) and
# test/parallel/test-net-server-blocklist.js (createServer's)


def _net_block_list():
    block_list = BlockList()
    block_list.addAddress("127.0.0.1")
    block_list.addAddress("127.0.0.2")
    return block_list


@pytest.mark.parametrize("how", ["no lookup", "one IP from the lookup", "autoSelectFamily, one IP",
                                 "autoSelectFamily, two IPs"])
def test_connect_to_a_blocked_address(track, how):
    # Node: test/parallel/test-net-blocklist.js (port 9999: nothing is sent to a blocked address)
    options = {"port": 9999, "host": "localhost", "blockList": _net_block_list()}
    if how == "no lookup":
        options["host"] = "127.0.0.1"
    elif how == "one IP from the lookup":
        options.update(lookup=lambda _, __, cb: cb(None, "127.0.0.1", 4), autoSelectFamily=False)
    elif how == "autoSelectFamily, one IP":
        options.update(lookup=lambda _, __, cb: cb(None, [{"address": "127.0.0.1", "family": 4}]),
                       autoSelectFamily=True)
    else:
        options.update(lookup=lambda _, __, cb: cb(None, [{"address": "127.0.0.1", "family": 4},
                                                          {"address": "127.0.0.2", "family": 4}]),
                       autoSelectFamily=True)
    socket = track.connect(options)
    with pytest.raises(Exception) as caught:
        net.once(socket, "close", timeout=10)
    assert caught.value.code == "ERR_IP_BLOCKED", caught.value


def test_server_drops_a_blocked_client(track, must_call):
    # Node: test/parallel/test-net-server-blocklist.js (Node 22's createServer blockList)
    block_list = BlockList()
    block_list.addAddress("127.0.0.1")
    server = track.server({"blockList": block_list}, must_call.never("the connection listener"))
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=10)
    address = server.address()
    socket = track.connect({"localAddress": "127.0.0.1", "host": address["address"], "port": address["port"]})
    socket.on("error", lambda error: None)  # (dropped: the peer may see a reset)
    socket.on("close", must_call(lambda *_: server.close()))
    net.once(server, "close", timeout=10)
