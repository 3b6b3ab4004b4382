"""Tests for nodenet_gevent.blocklist: ``net.BlockList``.

The main test is differential: a table of cases (rules, then addresses checked
in both families, and bad arguments) generated here, evaluated by one ``node``
with Node's BlockList and by ours, and compared answer by answer -- results,
``rules`` strings, and for errors the code, the Python class and (where the
arguments print the same in both languages) the message.  Node's own test
file is ported in tests/node/test_modern_blocklist.py.
"""

import ipaddress
import json
import subprocess

import pytest

import nodenet_gevent as net
from nodenet_gevent.blocklist import ip_blocked_error, is_blocked, validate_block_list
from nodenet_gevent.errors import NodeError
from conftest import NODE, raises

pytestmark = pytest.mark.timeout(60)

BlockList = net.BlockList
SocketAddress = net.SocketAddress


# ---------------------------------------------------------------------------
# Names, rules, repr
# ---------------------------------------------------------------------------


def test_pep8_aliases_are_the_same_methods():
    assert BlockList.addAddress is BlockList.add_address
    assert BlockList.addRange is BlockList.add_range
    assert BlockList.addSubnet is BlockList.add_subnet
    assert BlockList.isBlockList is BlockList.is_block_list


def test_rules_newest_first_and_fresh_copies():
    b = BlockList()
    b.add_address("1.1.1.1")
    b.add_range("10.0.0.1", "10.0.0.10")
    b.add_subnet("8592:757c:efae:4e45::", 64, "IpV6")
    expected = ["Subnet: IPv6 8592:757c:efae:4e45::/64", "Range: IPv4 10.0.0.1-10.0.0.10", "Address: IPv4 1.1.1.1"]
    assert b.rules == expected
    b.rules.append("x")
    assert b.rules == expected


def test_repr_is_nodes_inspect():
    b = BlockList()
    assert repr(b) == "BlockList { rules: [] }"
    b.add_address("1.1.1.1")
    assert repr(b) == "BlockList { rules: [ 'Address: IPv4 1.1.1.1' ] }"


def test_none_is_undefined():
    b = BlockList()
    b.add_address("1.1.1.1", None)
    assert b.check("1.1.1.1", None)
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: b.add_address(None),
           'The "address" argument must be of type string. Received None')
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: b.add_subnet("1.1.1.1"),
           'The "prefix" argument must be of type number. Received None')
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: b.check())


def test_python_only_argument_types():
    b = BlockList()
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: b.add_address(b"1.1.1.1"))
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: b.add_subnet("1.1.1.1", True))
    raises(ValueError, "ERR_OUT_OF_RANGE", lambda: b.add_subnet("1.1.1.1", float("nan")),
           'The value of "prefix" is out of range. It must be an integer. Received NaN')
    b.add_subnet("1.1.1.1", 16.0)
    assert b.rules == ["Subnet: IPv4 1.1.1.1/16"]


def test_enforcement_helpers():
    b = BlockList()
    b.add_address("10.0.0.1")
    b.add_subnet("fe80::", 10, "ipv6")
    assert is_blocked(b, "10.0.0.1", "IPv4")  # as socket.address() spells it
    assert is_blocked(b, "10.0.0.1", 4)
    assert is_blocked(b, "::ffff:10.0.0.1", "IPv6")
    assert is_blocked(b, "fe80::1%eth0")  # family from the text, zone ignored
    assert not is_blocked(b, "10.0.0.2")
    assert not is_blocked(b, "not an address", "IPv4")
    assert not is_blocked(b, "10.0.0.1", "IPX")
    assert not is_blocked(b, None)
    error = ip_blocked_error("10.0.0.1")
    assert isinstance(error, NodeError) and error.code == "ERR_IP_BLOCKED"
    assert str(error) == "IP(10.0.0.1) is blocked by net.BlockList"
    assert validate_block_list(b) is b
    raises(TypeError, "ERR_INVALID_ARG_VALUE", lambda: validate_block_list([]),
           "The property 'options.blockList' must be a net.BlockList. Received []")


# ---------------------------------------------------------------------------
# The differential table
# ---------------------------------------------------------------------------

_NODE = r"""
const { BlockList, SocketAddress } = require('net');
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const isSA = (a) => a !== null && typeof a === 'object' && !Array.isArray(a) && 'sa' in a;
const arg = (a) => (isSA(a) ? new SocketAddress(a.sa) : a);
function attempt(f) {
  try { return f(); } catch (e) { return { err: [e.name, e.code, e.message] }; }
}
process.stdout.write(JSON.stringify(cases.map(({ ops, checks }) => {
  const list = new BlockList();
  return {
    ops: ops.map(([method, ...args]) => attempt(() => { list[method](...args.map(arg)); return null; })),
    checks: checks.map((args) => attempt(() => list.check(...args.map(arg)))),
    rules: list.rules,
  };
})));
"""


def SA(**options):
    """A SocketAddress argument in the table (built by each side from these options)."""
    return {"sa": options}


def _arg(value):
    return SocketAddress(value["sa"]) if isinstance(value, dict) and "sa" in value else value


V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address


def _texts(value, bits):
    """Every way to write the address *value* of *bits* bits, as (text, family) checks."""
    if bits == 32:
        v4 = V4(value)
        mapped = V6(0xFFFF << 32 | value)
        return [
            [str(v4)], [str(v4), "ipv6"], ["::ffff:%s" % v4, "ipv6"], [mapped.exploded, "ipv6"],
            ["::%s" % v4, "ipv6"],  # IPv4-compatible: never the same address
        ]
    checks = [[str(V6(value)), "ipv6"], [V6(value).exploded.upper(), "ipv6"]]
    if value >> 32 == 0xFFFF:
        checks.append([str(V4(value & 0xFFFFFFFF))])
    return checks


def _near(values, bits):
    top = (1 << bits) - 1
    out = set()
    for value in values:
        out.update(v for v in (value - 1, value, value + 1) if 0 <= v <= top)
    return sorted(out)


def _value(text, bits):
    return int(V4(text)) if bits == 32 else int(V6(text))


def _rule_cases():
    """One case per rule: the rule, then addresses around its edges in every spelling."""
    rules = [
        ("addAddress", "10.0.0.1"),
        ("addAddress", "0.0.0.0"),
        ("addAddress", "255.255.255.255"),
        ("addRange", "10.0.0.250", "10.0.1.5"),
        ("addRange", "10.255.255.250", "11.0.0.5"),
        ("addRange", "0.0.0.0", "0.0.0.0"),
        ("addRange", "255.255.255.254", "255.255.255.255"),
        ("addRange", "0.0.0.0", "255.255.255.255"),
        *(("addSubnet", "192.168.129.77", p) for p in (0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 30, 31, 32)),
        ("addAddress", "::ffff:1.2.3.4", "ipv6"),
        ("addAddress", "::1.2.3.4", "ipv6"),
        ("addAddress", "::", "ipv6"),
        ("addAddress", "::1", "IPv6"),
        ("addAddress", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ipv6"),
        ("addRange", "::ffff:10.0.0.250", "::ffff:10.0.1.5", "ipv6"),
        ("addRange", "::fffe:ffff:fff0", "::ffff:0:10", "ipv6"),  # into the IPv4-mapped block
        ("addRange", "::ffff:255.255.255.250", "::1:0:0:5", "ipv6"),  # out of it
        ("addRange", "2001:db8::ffff", "2001:db8::1:0", "ipv6"),
        ("addRange", "2001:db8:0:0:ffff:ffff:ffff:fff0", "2001:db8:0:1::10", "ipv6"),
        ("addRange", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ipv6"),
        *(
            ("addSubnet", "2001:db8:abcd:1234:5678:9abc:def0:1234", p, "ipv6")
            for p in (0, 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 95, 96, 97, 119, 120, 121, 127, 128)
        ),
        ("addSubnet", "::ffff:0:0", 96, "ipv6"),
        ("addSubnet", "::ffff:10.1.0.0", 112, "ipv6"),
        ("addSubnet", "::ffff:10.1.2.3", 128, "ipv6"),
        ("addSubnet", "::ffff:10.1.2.3", 127, "ipv6"),
        ("addSubnet", "::", 95, "ipv6"),
    ]
    fixed = [
        ["1.2.3.4"], ["10.0.0.1"], ["0.0.0.0"], ["255.255.255.255"], ["::", "ipv6"], ["::1", "ipv6"],
        ["::ffff:10.0.0.1", "ipv6"], ["::ffff:0:0", "ipv6"], ["2001:db8::1", "ipv6"], ["not an address"],
        ["10.0.0.1", "IPV4"], ["10.0.0.1", "foo"], ["::1"],
    ]
    cases = []
    for method, *args in rules:
        bits = 128 if isinstance(args[-1], str) and args[-1].lower() == "ipv6" else 32
        if method == "addSubnet":
            network, prefix = _value(args[0], bits), args[1]
            host_bits = bits - prefix
            first = network >> host_bits << host_bits
            last = first | ((1 << host_bits) - 1)
            edges = [first, last, network]
            if host_bits:
                edges.append(network ^ (1 << (host_bits - 1)))
            if prefix:
                edges.append(network ^ (1 << host_bits))
        else:
            edges = [_value(text, bits) for text in args if isinstance(text, str) and text.lower() != "ipv6"]
        checks = list(fixed)
        for value in _near(edges, bits):
            checks += _texts(value, bits)
        cases.append({"ops": [[method, *args]], "checks": checks})
    return cases


def _mixed_cases():
    """SocketAddress arguments, whose families may differ within one rule."""
    probes = [["1.1.1.0"], ["1.1.1.1"], ["1.1.1.5"], ["1.1.1.9"], ["1.1.1.10"], ["::1", "ipv6"], ["::2", "ipv6"],
              ["::ffff:1.1.1.5", "ipv6"], ["::ffff:1.1.1.10", "ipv6"], [SA(address="1.1.1.5")],
              [SA(address="::ffff:1.1.1.5", family="ipv6")], [SA(address="1.1.1.5"), 1]]
    rules = [
        ["addRange", SA(address="1.1.1.1"), SA(address="::1", family="ipv6")],
        ["addRange", SA(address="::1", family="ipv6"), SA(address="1.1.1.1")],
        ["addRange", SA(address="::ffff:1.1.1.1", family="ipv6"), SA(address="1.1.1.9")],
        ["addRange", SA(address="1.1.1.1"), "::ffff:1.1.1.9", "ipv6"],
        ["addRange", SA(address="1.1.1.1"), "1.1.1.9", 1],
        ["addAddress", SA(address="::ffff:1.1.1.5", family="ipv6"), 1],
        ["addSubnet", SA(address="::ffff:1.1.1.0", family="ipv6"), 124, 1],
        ["addSubnet", SA(address="1.1.1.0"), 28],
        ["addSubnet", SA(address="::", family="ipv6"), 0],
    ]
    return [{"ops": [rule], "checks": probes} for rule in rules]


def _error_cases():
    """Bad arguments, one case each (a failed call adds no rule: ``rules`` shows it)."""
    calls = [
        ["addAddress"], ["addAddress", 1], ["addAddress", [], "ipv4"], ["addAddress", {}],
        ["addAddress", "1.1.1.1", 1], ["addAddress", "1.1.1.1", "foo"], ["addAddress", "1.1.1.1", ""],
        ["addAddress", "1.1.1.1", "IPv4"], ["addAddress", "foo"], ["addAddress", ""], ["addAddress", "::1"],
        ["addAddress", "1.1.1.1", "ipv6"], ["addAddress", "01.1.1.1"], ["addAddress", "1.1.1"],
        ["addAddress", " 1.1.1.1"], ["addAddress", "1.1.1.1\u0000xyz"], ["addAddress", "::1\u0000x", "ipv6"],
        ["addAddress", "fe80::1%", "ipv6"], ["addAddress", "%eth0", "ipv6"], ["addAddress", "\uff11.1.1.1"],
        ["addAddress", "0000:0000:0000:0000:0000:0000:0000:00001%x", "ipv6"],
        ["addRange"], ["addRange", 1], ["addRange", "1.1.1.1"], ["addRange", "1.1.1.1", 1],
        ["addRange", "1.1.1.1", "1.1.1.2", 1], ["addRange", "1.1.1.1", "1.1.1.2", "foo"],
        ["addRange", "1.1.1.2", "1.1.1.1"], ["addRange", "::f", "::1", "ipv6"], ["addRange", "foo", 1],
        ["addRange", "1.1.1.1", "foo"], ["addRange", "1.1.1.1", "::1"], ["addRange", "1.1.1.2", "1.1.1.2"],
        ["addRange", SA(address="::ffff:1.1.1.9", family="ipv6"), SA(address="1.1.1.1")],
        ["addRange", SA(address="1.1.1.1"), "1.1.1.2", 1],
        ["addSubnet"], ["addSubnet", 1], ["addSubnet", "1.1.1.1"], ["addSubnet", "1.1.1.1", ""],
        ["addSubnet", "1.1.1.1", 1.5], ["addSubnet", "1.1.1.1", 16.0], ["addSubnet", "1.1.1.1", 2**40],
        ["addSubnet", "1.1.1.1", 2**31], ["addSubnet", "1.1.1.1", -(2**31) - 1], ["addSubnet", "1.1.1.1", 1e21],
        ["addSubnet", "1.1.1.1", True], ["addSubnet", "", 1, 1], ["addSubnet", "", 1, ""],
        ["addSubnet", "1.1.1.1", -1, "ipv4"], ["addSubnet", "1.1.1.1", 33, "ipv4"], ["addSubnet", "::", -1, "ipv6"],
        ["addSubnet", "::", 129, "ipv6"], ["addSubnet", "::", 129], ["addSubnet", "foo", 8],
        ["addSubnet", SA(address="::1", family="ipv6"), 100, 1], ["addSubnet", SA(address="1.1.1.1"), 33],
    ]
    cases = [{"ops": [call], "checks": []} for call in calls]
    cases.append({"ops": [], "checks": [[], [1], ["", 1], ["", "foo"], ["1.1.1.1", "foo"], ["foo"], [True],
                                        ["1.1.1.1", []], [SA(address="1.1.1.1"), 1]]})
    return cases


def _order_cases():
    """Several rules in one list: ``rules`` order, and duplicates (Node 20 keeps them)."""
    ops = [
        ["addAddress", "1.1.1.1"], ["addAddress", "1.1.1.1"], ["addRange", "10.0.0.1", "10.0.0.10"],
        ["addSubnet", "8592:757c:efae:4e45::", 64, "IpV6"], ["addAddress", "2.2.2.2"], ["addSubnet", "1.1.1.1", 16],
        ["addSubnet", "1.1.1.1", 16], ["addAddress", "FE80::0001%eth0", "ipv6"],
    ]
    return [{"ops": ops, "checks": [["1.1.1.1"], ["1.1.9.9"], ["10.0.0.5"], ["fe80::1", "ipv6"], ["3.3.3.3"]]}]


def _simple(value):
    """An argument whose Python description in an error message reads as Node's."""
    if isinstance(value, dict):
        return "sa" in value
    return isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool))


@pytest.fixture(scope="module")
def table():
    cases = _rule_cases() + _mixed_cases() + _error_cases() + _order_cases()
    if NODE is None:
        pytest.skip("node is not installed: the differential table needs it")
    done = subprocess.run(
        [NODE, "-e", _NODE], input=json.dumps(cases), capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    return cases, json.loads(done.stdout)


def _compare(call, theirs, args, where):
    try:
        ours = call()
    except NodeError as error:
        assert isinstance(theirs, dict), "%s: we raised %r, Node answered %r" % (where, error, theirs)
        name, code, message = theirs["err"]
        assert error.code == code, "%s: %s, Node's %s (%s)" % (where, error.code, code, message)
        # Node's TypeErrors of a bad family value are ValueErrors here; a wrong type stays a TypeError.
        expected = TypeError if code == "ERR_INVALID_ARG_TYPE" else ValueError
        assert isinstance(error, expected), "%s: %r is not a %s" % (where, error, expected.__name__)
        # A missing argument is Node's "Received undefined", our "Received None".
        if all(_simple(a) for a in args) and not message.endswith("Received undefined"):
            assert str(error) == message, where
        return
    assert not isinstance(theirs, dict), "%s: Node raised %r, we returned %r" % (where, theirs, ours)
    assert ours == theirs, where


def test_table_matches_node(table):
    cases, results = table
    assert len(results) == len(cases)
    counts = {"checks": 0, "blocked": 0, "errors": 0}
    for case, theirs in zip(cases, results):
        ours = BlockList()
        label = " then ".join("%s%r" % (op[0], tuple(op[1:])) for op in case["ops"]) or "BlockList()"
        for (method, *args), their_op in zip(case["ops"], theirs["ops"]):
            counts["errors"] += their_op is not None
            _compare(lambda m=method, a=args, b=ours: getattr(b, m)(*map(_arg, a)), their_op, args,
                     "%s%r" % (method, tuple(args)))
        for args, their_check in zip(case["checks"], theirs["checks"]):
            counts["checks"] += 1
            counts["blocked"] += their_check is True
            where = "%s: check%r" % (label, tuple(args))
            _compare(lambda a=args, b=ours: b.check(*map(_arg, a)), their_check, args, where)
        assert ours.rules == theirs["rules"], label
    # The table is not vacuous: many checks, both answers, and errors.
    assert counts["checks"] > 2000 and 500 < counts["blocked"] < counts["checks"] - 500 and counts["errors"] > 40
