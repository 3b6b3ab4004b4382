"""Tests for nodenet_gevent.ip: Node's own test tables, then a differential
test against a real ``node`` on a few thousand generated strings."""

import ipaddress
import json
import random
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nodenet_gevent.ip as ip_module
from nodenet_gevent.ip import is_ip, is_ipv4, is_ipv6, isIP, isIPv4, isIPv6

pytestmark = pytest.mark.timeout(60)

_NO_ARG = object()  # stands for calling with no argument (Node: undefined)


class _ToString:
    """Python's analogue of ``{ toString: () => value }``."""

    def __init__(self, value):
        self.value = value

    def __str__(self):
        return self.value

    def __repr__(self):
        return "ToString(%r)" % (self.value,)


def _call(fn, value):
    return fn() if value is _NO_ARG else fn(value)


# ---------------------------------------------------------------------------
# nodejs/node test/parallel/test-net-isip.js
# (the three zone-id rows come from the newer upstream copy of that file)
# ---------------------------------------------------------------------------

NODE_ISIP = [
    ("127.0.0.1", 4),
    ("x127.0.0.1", 0),
    ("example.com", 0),
    ("0000:0000:0000:0000:0000:0000:0000:0000", 6),
    ("0000:0000:0000:0000:0000:0000:0000:0000::0000", 0),
    ("1050:0:0:0:5:600:300c:326b", 6),
    ("2001:252:0:1::2008:6", 6),
    ("2001:dead:beef:1::2008:6", 6),
    ("2001::", 6),
    ("2001:dead::", 6),
    ("2001:dead:beef::", 6),
    ("2001:dead:beef:1::", 6),
    ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6),
    (":2001:252:0:1::2008:6:", 0),
    (":2001:252:0:1::2008:6", 0),
    ("2001:252:0:1::2008:6:", 0),
    ("2001:252::1::2008:6", 0),
    ("::2001:252:1:2008:6", 6),
    ("::2001:252:1:1.1.1.1", 6),
    ("::2001:252:1:255.255.255.255", 6),
    ("::2001:252:1:255.255.255.255.76", 0),
    ("fe80::2008%eth0", 6),
    ("fe80::2008%eth0.0", 6),
    ("fe80::2008%eth0@1", 0),
    ("::anything", 0),
    ("::1", 6),
    ("::", 6),
    ("0000:0000:0000:0000:0000:0000:12345:0000", 0),
    ("0", 0),
    (_NO_ARG, 0),
    ("", 0),
    (None, 0),
    (123, 0),
    (True, 0),
    (object(), 0),  # {}
    (_ToString("::2001:252:1:255.255.255.255"), 6),
    (_ToString("127.0.0.1"), 4),
    (_ToString("bla"), 0),
]

NODE_ISIPV4 = [
    ("127.0.0.1", True),
    ("example.com", False),
    ("2001:252:0:1::2008:6", False),
    (_NO_ARG, False),
    ("", False),
    (None, False),
    (123, False),
    (True, False),
    (object(), False),
    (_ToString("::2001:252:1:255.255.255.255"), False),
    (_ToString("127.0.0.1"), True),
    (_ToString("bla"), False),
]

NODE_ISIPV6 = [
    ("127.0.0.1", False),
    ("example.com", False),
    ("2001:252:0:1::2008:6", True),
    (_NO_ARG, False),
    ("", False),
    (None, False),
    (123, False),
    (True, False),
    (object(), False),
    (_ToString("::2001:252:1:255.255.255.255"), True),
    (_ToString("127.0.0.1"), False),
    (_ToString("bla"), False),
]


@pytest.mark.parametrize("value,expected", NODE_ISIP)
def test_node_isip(value, expected):
    assert _call(is_ip, value) == expected


@pytest.mark.parametrize("value,expected", NODE_ISIPV4)
def test_node_isip_isipv4(value, expected):
    assert _call(is_ipv4, value) is expected


@pytest.mark.parametrize("value,expected", NODE_ISIPV6)
def test_node_isip_isipv6(value, expected):
    assert _call(is_ipv6, value) is expected


# ---------------------------------------------------------------------------
# nodejs/node-v0.x-archive test/simple/test-net-isip.js
# ---------------------------------------------------------------------------

NODE_V0_ISIP = [
    ("127.0.0.1", 4),
    ("x127.0.0.1", 0),
    ("example.com", 0),
    ("0000:0000:0000:0000:0000:0000:0000:0000", 6),
    ("0000:0000:0000:0000:0000:0000:0000:0000::0000", 0),
    ("1050:0:0:0:5:600:300c:326b", 6),
    ("2001:252:0:1::2008:6", 6),
    ("2001:dead:beef:1::2008:6", 6),
    ("2001::", 6),
    ("2001:dead::", 6),
    ("2001:dead:beef::", 6),
    ("2001:dead:beef:1::", 6),
    ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6),
    (":2001:252:0:1::2008:6:", 0),
    (":2001:252:0:1::2008:6", 0),
    ("2001:252:0:1::2008:6:", 0),
    ("2001:252::1::2008:6", 0),
    ("::2001:252:1:2008:6", 6),
    ("::2001:252:1:1.1.1.1", 6),
    ("::2001:252:1:255.255.255.255", 6),
    ("::2001:252:1:255.255.255.255.76", 0),
    ("::anything", 0),
    ("::1", 6),
    ("::", 6),
    ("0000:0000:0000:0000:0000:0000:12345:0000", 0),
    ("0", 0),
    (_NO_ARG, 0),
    ("", 0),
]

NODE_V0_ISIPV4 = [
    ("127.0.0.1", True),
    ("example.com", False),
    ("2001:252:0:1::2008:6", False),
]

NODE_V0_ISIPV6 = [
    ("127.0.0.1", False),
    ("example.com", False),
    ("2001:252:0:1::2008:6", True),
]


@pytest.mark.parametrize("value,expected", NODE_V0_ISIP)
def test_node_v0_isip(value, expected):
    assert _call(is_ip, value) == expected


@pytest.mark.parametrize("value,expected", NODE_V0_ISIPV4)
def test_node_v0_isip_isipv4(value, expected):
    assert is_ipv4(value) is expected


@pytest.mark.parametrize("value,expected", NODE_V0_ISIPV6)
def test_node_v0_isip_isipv6(value, expected):
    assert is_ipv6(value) is expected


# ---------------------------------------------------------------------------
# nodejs/node test/parallel/test-net-isipv4.js
# ---------------------------------------------------------------------------

NODE_V4 = [
    "0.0.0.0",
    "8.8.8.8",
    "127.0.0.1",
    "100.100.100.100",
    "192.168.0.1",
    "18.101.25.153",
    "123.23.34.2",
    "172.26.168.134",
    "212.58.241.131",
    "128.0.0.0",
    "23.71.254.72",
    "223.255.255.255",
    "192.0.2.235",
    "99.198.122.146",
    "46.51.197.88",
    "173.194.34.134",
]

NODE_V4_NOT = [
    ".100.100.100.100",
    "100..100.100.100.",
    "100.100.100.100.",
    "999.999.999.999",
    "256.256.256.256",
    "256.100.100.100.100",
    "123.123.123",
    "http://123.123.123",
    "1000.2.3.4",
    "999.2.3.4",
    "0000000192.168.0.200",
    "192.168.0.2000000000",
]


@pytest.mark.parametrize("value", NODE_V4)
def test_node_isipv4_valid(value):
    assert is_ipv4(value) is True
    assert is_ip(value) == 4


@pytest.mark.parametrize("value", NODE_V4_NOT)
def test_node_isipv4_invalid(value):
    assert is_ipv4(value) is False


# ---------------------------------------------------------------------------
# nodejs/node test/parallel/test-net-isipv6.js
# ---------------------------------------------------------------------------

NODE_V6 = [
    "::",
    "1::",
    "::1",
    "1::8",
    "1::7:8",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6::8",
    "1:2:3:4:5:6:7::",
    "1:2:3:4:5::7:8",
    "1:2:3:4:5::8",
    "1:2:3::8",
    "1::4:5:6:7:8",
    "1::6:7:8",
    "1::3:4:5:6:7:8",
    "1:2:3:4::6:7:8",
    "1:2::4:5:6:7:8",
    "::2:3:4:5:6:7:8",
    "1:2::8",
    "2001:0000:1234:0000:0000:C1C0:ABCD:0876",
    "3ffe:0b00:0000:0000:0001:0000:0000:000a",
    "FF02:0000:0000:0000:0000:0000:0000:0001",
    "0000:0000:0000:0000:0000:0000:0000:0001",
    "0000:0000:0000:0000:0000:0000:0000:0000",
    "::ffff:192.168.1.26",
    "2::10",
    "ff02::1",
    "fe80::",
    "2002::",
    "2001:db8::",
    "2001:0db8:1234::",
    "::ffff:0:0",
    "::ffff:192.168.1.1",
    "1:2:3:4::8",
    "1::2:3:4:5:6:7",
    "1::2:3:4:5:6",
    "1::2:3:4:5",
    "1::2:3:4",
    "1::2:3",
    "::2:3:4:5:6:7",
    "::2:3:4:5:6",
    "::2:3:4:5",
    "::2:3:4",
    "::2:3",
    "::8",
    "1:2:3:4:5:6::",
    "1:2:3:4:5::",
    "1:2:3:4::",
    "1:2:3::",
    "1:2::",
    "1:2:3:4::7:8",
    "1:2:3::7:8",
    "1:2::7:8",
    "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5::1.2.3.4",
    "1:2:3:4::1.2.3.4",
    "1:2:3::1.2.3.4",
    "1:2::1.2.3.4",
    "1::1.2.3.4",
    "1:2:3:4::5:1.2.3.4",
    "1:2:3::5:1.2.3.4",
    "1:2::5:1.2.3.4",
    "1::5:1.2.3.4",
    "1::5:11.22.33.44",
    "fe80::217:f2ff:254.7.237.98",
    "fe80::217:f2ff:fe07:ed62",
    "2001:DB8:0:0:8:800:200C:417A",
    "FF01:0:0:0:0:0:0:101",
    "0:0:0:0:0:0:0:1",
    "0:0:0:0:0:0:0:0",
    "2001:DB8::8:800:200C:417A",
    "FF01::101",
    "0:0:0:0:0:0:13.1.68.3",
    "0:0:0:0:0:FFFF:129.144.52.38",
    "::13.1.68.3",
    "::FFFF:129.144.52.38",
    "fe80:0000:0000:0000:0204:61ff:fe9d:f156",
    "fe80:0:0:0:204:61ff:fe9d:f156",
    "fe80::204:61ff:fe9d:f156",
    "fe80:0:0:0:204:61ff:254.157.241.86",
    "fe80::204:61ff:254.157.241.86",
    "fe80::1",
    "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    "2001:db8:85a3:0:0:8a2e:370:7334",
    "2001:db8:85a3::8a2e:370:7334",
    "2001:0db8:0000:0000:0000:0000:1428:57ab",
    "2001:0db8:0000:0000:0000::1428:57ab",
    "2001:0db8:0:0:0:0:1428:57ab",
    "2001:0db8:0:0::1428:57ab",
    "2001:0db8::1428:57ab",
    "2001:db8::1428:57ab",
    "::ffff:12.34.56.78",
    "::ffff:0c22:384e",
    "2001:0db8:1234:0000:0000:0000:0000:0000",
    "2001:0db8:1234:ffff:ffff:ffff:ffff:ffff",
    "2001:db8:a::123",
    "::ffff:192.0.2.128",
    "::ffff:c000:280",
    "a:b:c:d:e:f:f1:f2",
    "a:b:c::d:e:f:f1",
    "a:b:c::d:e:f",
    "a:b:c::d:e",
    "a:b:c::d",
    "::a",
    "::a:b:c",
    "::a:b:c:d:e:f:f1",
    "a::",
    "a:b:c::",
    "a:b:c:d:e:f:f1::",
    "a:bb:ccc:dddd:000e:00f:0f::",
    "0:a:0:a:0:0:0:a",
    "0:a:0:0:a:0:0:a",
    "2001:db8:1:1:1:1:0:0",
    "2001:db8:1:1:1:0:0:0",
    "2001:db8:1:1:0:0:0:0",
    "2001:db8:1:0:0:0:0:0",
    "2001:db8:0:0:0:0:0:0",
    "2001:0:0:0:0:0:0:0",
    "A:BB:CCC:DDDD:000E:00F:0F::",
    "0:0:0:0:0:0:0:a",
    "0:0:0:0:a:0:0:0",
    "0:0:0:a:0:0:0:0",
    "a:0:0:a:0:0:a:a",
    "a:0:0:a:0:0:0:a",
    "a:0:0:0:a:0:0:a",
    "a:0:0:0:a:0:0:0",
    "a:0:0:0:0:0:0:0",
    "fe80::7:8%eth0",
    "fe80::7:8%1",
]

NODE_V6_NOT = [
    "",
    "1:",
    ":1",
    "11:36:12",
    "02001:0000:1234:0000:0000:C1C0:ABCD:0876",
    "2001:0000:1234:0000:00001:C1C0:ABCD:0876",
    "2001:0000:1234: 0000:0000:C1C0:ABCD:0876",
    "2001:1:1:1:1:1:255Z255X255Y255",
    "3ffe:0b00:0000:0001:0000:0000:000a",
    "FF02:0000:0000:0000:0000:0000:0000:0000:0001",
    "3ffe:b00::1::a",
    "::1111:2222:3333:4444:5555:6666::",
    "1:2:3::4:5::7:8",
    "12345::6:7:8",
    "1::5:400.2.3.4",
    "1::5:260.2.3.4",
    "1::5:256.2.3.4",
    "1::5:1.256.3.4",
    "1::5:1.2.256.4",
    "1::5:1.2.3.256",
    "1::5:300.2.3.4",
    "1::5:1.300.3.4",
    "1::5:1.2.300.4",
    "1::5:1.2.3.300",
    "1::5:900.2.3.4",
    "1::5:1.900.3.4",
    "1::5:1.2.900.4",
    "1::5:1.2.3.900",
    "1::5:300.300.300.300",
    "1::5:3000.30.30.30",
    "1::400.2.3.4",
    "1::260.2.3.4",
    "1::256.2.3.4",
    "1::1.256.3.4",
    "1::1.2.256.4",
    "1::1.2.3.256",
    "1::300.2.3.4",
    "1::1.300.3.4",
    "1::1.2.300.4",
    "1::1.2.3.300",
    "1::900.2.3.4",
    "1::1.900.3.4",
    "1::1.2.900.4",
    "1::1.2.3.900",
    "1::300.300.300.300",
    "1::3000.30.30.30",
    "::400.2.3.4",
    "::260.2.3.4",
    "::256.2.3.4",
    "::1.256.3.4",
    "::1.2.256.4",
    "::1.2.3.256",
    "::300.2.3.4",
    "::1.300.3.4",
    "::1.2.300.4",
    "::1.2.3.300",
    "::900.2.3.4",
    "::1.900.3.4",
    "::1.2.900.4",
    "::1.2.3.900",
    "::300.300.300.300",
    "::3000.30.30.30",
    "2001:DB8:0:0:8:800:200C:417A:221",
    "FF01::101::2",
    "1111:2222:3333:4444::5555:",
    "1111:2222:3333::5555:",
    "1111:2222::5555:",
    "1111::5555:",
    "::5555:",
    ":::",
    "1111:",
    ":",
    ":1111:2222:3333:4444::5555",
    ":1111:2222:3333::5555",
    ":1111:2222::5555",
    ":1111::5555",
    ":::5555",
    "1.2.3.4:1111:2222:3333:4444::5555",
    "1.2.3.4:1111:2222:3333::5555",
    "1.2.3.4:1111:2222::5555",
    "1.2.3.4:1111::5555",
    "1.2.3.4::5555",
    "1.2.3.4::",
    "fe80:0000:0000:0000:0204:61ff:254.157.241.086",
    "123",
    "ldkfj",
    "2001::FFD3::57ab",
    "2001:db8:85a3::8a2e:37023:7334",
    "2001:db8:85a3::8a2e:370k:7334",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "1:::3:4:5",
    "1:2:3::4:5:6:7:8:9",
    "::ffff:2.3.4",
    "::ffff:257.1.2.3",
    "::ffff:12345678901234567890.1.26",
    "2001:0000:1234:0000:0000:C1C0:ABCD:0876 0",
    "02001:0000:1234:0000:0000:C1C0:ABCD:0876",
]


@pytest.mark.parametrize("value", NODE_V6)
def test_node_isipv6_valid(value):
    assert is_ipv6(value) is True
    assert is_ip(value) == 6


@pytest.mark.parametrize("value", NODE_V6_NOT)
def test_node_isipv6_invalid(value):
    assert is_ipv6(value) is False


# ---------------------------------------------------------------------------
# Our own: names, coercion, and the edges where Python's re differs from JS.
# ---------------------------------------------------------------------------

def test_exports_and_aliases():
    assert set(ip_module.__all__) == {
        "is_ip", "is_ipv4", "is_ipv6", "isIP", "isIPv4", "isIPv6"}
    assert isIP is is_ip and isIPv4 is is_ipv4 and isIPv6 is is_ipv6


@pytest.mark.parametrize("value,expected", [
    ("::1\n", 0),            # Python's "$" would accept this; JS's does not
    ("1.2.3.4\n", 0),
    ("\n::1", 0),
    (" 1.2.3.4", 0),
    ("١.٢.٣.٤", 0),          # Arabic-Indic digits: \d would match them
    ("１.２.３.４", 0),        # fullwidth digits
    ("::١", 0),
    ("::1%١", 0),
    ("::1%eth0\n", 0),
    ("\u212a::1", 0),        # KELVIN SIGN, which IGNORECASE folds to k
    ("01.2.3.4", 0),         # leading zero in an octet
    ("::ffff:01.2.3.4", 0),
    ("127.1", 0),
    ("0x7f.0.0.1", 0),
    ("1.2.3.4%eth0", 0),     # zone ids are for IPv6 only
    ("::ffff:1.2.3.4%eth0", 6),
    ("::1%a.b:c-d", 6),
    ("::1%::1", 6),
    ("::1%-", 6),
    ("::1%", 0),
    ("::1%e_0", 0),
    ("::1%é", 0),
    ("1:2:3:4:5:6::1.2.3.4", 0),  # "::" must stand for at least one group
    ("1:2:3:4:5::1.2.3.4", 6),
    (b"1.2.3.4", 4),         # bytes are read like a Buffer
    (bytearray(b"::1"), 6),
    (b"::1\xff", 0),
    (False, 0),
    (2130706433, 0),         # no integer form, unlike inet_aton
    (1.5, 0),
    (["::1"], 0),            # str(list) is not JS's Array toString (differs)
])
def test_quirks(value, expected):
    assert is_ip(value) == expected
    assert is_ipv4(value) is (expected == 4)
    assert is_ipv6(value) is (expected == 6)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(0, 2 ** 32 - 1).map(ipaddress.IPv4Address),
                 st.integers(0, 2 ** 128 - 1).map(ipaddress.IPv6Address)))
def test_every_address_python_prints_is_recognised(addr):
    want = addr.version
    forms = {str(addr), addr.exploded, addr.compressed}
    if want == 6:
        forms.add(addr.exploded.upper())
        forms.add(str(addr) + "%eth0")
    for text in forms:
        assert is_ip(text) == want, text


# ---------------------------------------------------------------------------
# Differential test against a real node: one process, JSON in and out.
# ---------------------------------------------------------------------------

_NODE_SCRIPT = r"""
const net = require('net');
let data = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { data += chunk; });
process.stdin.on('end', () => {
  const out = JSON.parse(data).map(
    (s) => [net.isIP(s), net.isIPv4(s), net.isIPv6(s)]);
  process.stdout.write(JSON.stringify(out));
});
"""

_OCTETS = ["0", "1", "9", "00", "01", "010", "10", "99", "100", "199", "200",
           "249", "250", "255", "256", "260", "300", "999", "1000", "0255",
           "", "-1", "1a", "٣", "１", " 1", "1 "]
_GROUPS = ["0", "1", "a", "F", "ff", "fFf", "ffff", "FFFF", "0000", "00000",
           "12345", "g", "", "1.2", "٣", "0x1", " 1", "abcd", "dead", "beef"]
_ZONES = ["eth0", "1", "eth0.0", "a:b", "-", ".", ":", "::1", "e_0", "eth0@1",
          "é", " ", "", "%", "eth0%1", "١", "en0\n", "lo/0"]
_NOISE = [" ", "\t", "\n", "\r", "\x00", "\u00a0", "\u2028", "\ufeff", "x",
          "%", ":", ".", "[", "]", "/", "-", "0", "١٢٣", "\u212a", "\ud800",
          "\U0001d7ce"]


def _v4(rng, n=4):
    return ".".join(rng.choice(_OCTETS) for _ in range(n))


def _v6(rng):
    """An IPv6-ish string: a run of groups, maybe one or two "::", maybe an
    IPv4 tail, maybe a zone; valid about as often as not."""
    n = rng.randint(0, 9)
    if rng.random() < 0.6:
        groups = [rng.choice(_GROUPS[:10]) for _ in range(n)]
    else:
        groups = [rng.choice(_GROUPS) for _ in range(n)]
    text = ":".join(groups)
    r = rng.random()
    if r < 0.7:
        pos = rng.randint(0, len(groups))
        head, tail = ":".join(groups[:pos]), ":".join(groups[pos:])
        text = head + "::" + tail
        if r < 0.05:
            text = text.replace("::", ":::", 1)
    if rng.random() < 0.3:
        sep = "" if text.endswith(":") or not text else ":"
        v4 = _v4(rng) if rng.random() < 0.7 else _v4(rng, rng.randint(2, 5))
        text = text + sep + v4
    if rng.random() < 0.3:
        text += "%" + rng.choice(_ZONES)
    return text


def _mutate(rng, text):
    i = rng.randint(0, len(text))
    op = rng.randrange(4)
    if op == 0 or not text:
        return text[:i] + rng.choice(_NOISE) + text[i:]
    if op == 1:
        return text[:i] + text[i + 1:]
    if op == 2:
        swap = rng.choice("0123456789abcdefABCDEF:.%")
        return text[:i] + swap + text[i + 1:]
    return (rng.choice(["", " ", "\n", "x"]) + text
            + rng.choice(["", "\n", " ", "%"]))


def _generated_inputs():
    rng = random.Random(20240611)
    table = (
        [v for v, _ in NODE_ISIP + NODE_V0_ISIP if isinstance(v, str)]
        + NODE_V4 + NODE_V4_NOT + NODE_V6 + NODE_V6_NOT
    )
    out = list(table)
    # Systematic: every IPv4-mapped and compatible prefix with each octet
    # in the tricky list, and each zone on a few bases.
    for o in _OCTETS:
        out += ["%s.1.1.1" % o, "1.%s.1.1" % o, "1.1.1.%s" % o,
                "::ffff:%s.2.3.4" % o, "::%s.0.0.1" % o]
    for z in _ZONES:
        out += ["fe80::1%" + z, "::%" + z, "1.2.3.4%" + z,
                "::ffff:1.2.3.4%" + z, "1:2:3:4:5:6:7:8%" + z]
    # Every split of 0-8 groups around "::" (valid and over-long).
    for total in range(0, 10):
        for pos in range(0, total + 1):
            head = ":".join(str(i + 1) for i in range(pos))
            tail = ":".join(str(i + 1) for i in range(pos, total))
            out.append(head + "::" + tail)
            out.append(head + "::" + (tail + ":" if tail else "") + "1.2.3.4")
        out.append(":".join(["a"] * total))
        out.append(":".join(["a"] * total) + ":1.2.3.4")
    for _ in range(1500):
        out.append(_v6(rng))
    for _ in range(400):
        out.append(_v4(rng, rng.choice([4, 4, 4, 3, 5])))
    alphabet = "0123456789abcdefABCDEF::..%%-gx \n١١٢"
    for _ in range(600):
        out.append("".join(rng.choice(alphabet)
                           for _ in range(rng.randint(0, 40))))
    valid = [s for s in table if is_ip(s)]
    for _ in range(800):
        out.append(_mutate(rng, rng.choice(valid)))
    return list(dict.fromkeys(out))


# Non-string values that JSON carries to node as their JS counterparts
# (None -> null, True -> true, ...).
_NON_STRINGS = [None, True, False, 0, 123, 2130706433, 1.5, -1]


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_agrees_with_real_node():
    inputs = _generated_inputs()
    assert len(inputs) >= 2000
    payload = json.dumps(inputs + _NON_STRINGS)
    proc = subprocess.run(
        [shutil.which("node"), "-e", _NODE_SCRIPT],
        # json.dumps escapes all non-ASCII (lone surrogates too) as \uXXXX
        input=payload.encode("ascii"),
        capture_output=True, timeout=50,
        check=True)
    results = json.loads(proc.stdout)
    assert len(results) == len(inputs) + len(_NON_STRINGS)
    mismatches = []
    for value, (want_ip, want_v4, want_v6) in zip(inputs + _NON_STRINGS,
                                                  results):
        got = (is_ip(value), is_ipv4(value), is_ipv6(value))
        if got != (want_ip, want_v4, want_v6):
            mismatches.append((value, got, (want_ip, want_v4, want_v6)))
    assert not mismatches, mismatches[:20]
    # The generator must exercise both answers of every function.
    answers = {r[0] for r in results}
    assert answers == {0, 4, 6}
