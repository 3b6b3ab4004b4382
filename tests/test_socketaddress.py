"""Tests for nodenet_gevent.socketaddress: ``net.SocketAddress`` and ``SocketAddress.parse``.

The differential tests run one ``node`` for the whole module and compare its
answers with ours on generated tables: constructor options (defaults, every
validation error), address text (parsing and the normalised form), and
``SocketAddress.parse``.  Node 20 has no ``parse``; the table is evaluated
with Node 22's algorithm written out on Node 20's WHATWG ``URL`` (see
``_NODE``), with the explicit-``:80`` fix we follow (nodejs/node#62906).
"""

import json
import random
import subprocess

import pytest

import nodenet_gevent as net
from nodenet_gevent.errors import NodeError
from nodenet_gevent.socketaddress import format_ipv6
from conftest import NODE, raises

pytestmark = pytest.mark.timeout(60)

SocketAddress = net.SocketAddress


# ---------------------------------------------------------------------------
# Defaults, properties, names
# ---------------------------------------------------------------------------


def test_defaults():
    for sa in (SocketAddress(), SocketAddress({}), SocketAddress(None)):
        assert sa.to_json() == {"address": "127.0.0.1", "port": 0, "family": "ipv4", "flowlabel": 0}
    assert SocketAddress(family="ipv6").address == "::"
    assert SocketAddress({"family": "IPv6"}).family == "ipv6"


def test_options_as_dict_or_keywords():
    a = SocketAddress({"address": "::1", "family": "ipv6", "port": 443, "flowlabel": 7})
    b = SocketAddress(address="::1", family="ipv6", port=443, flowlabel=7)
    assert a.toJSON() == b.to_json() == {"address": "::1", "port": 443, "family": "ipv6", "flowlabel": 7}
    # Keywords win over the dict's keys.
    assert SocketAddress({"port": 1}, port=2).port == 2


def test_none_is_undefined():
    sa = SocketAddress({"address": None, "port": None, "family": None, "flowlabel": None})
    assert sa.to_json() == {"address": "127.0.0.1", "port": 0, "family": "ipv4", "flowlabel": 0}


def test_properties_are_read_only():
    sa = SocketAddress()
    for name in ("address", "port", "family", "flowlabel"):
        with pytest.raises(AttributeError):
            setattr(sa, name, 1)
    assert sa.address == "127.0.0.1"


def test_repr_is_nodes_inspect():
    sa = SocketAddress(address="1.2.3.4", port=80)
    assert repr(sa) == "SocketAddress { address: '1.2.3.4', port: 80, family: 'ipv4', flowlabel: 0 }"


def test_is_socket_address():
    assert SocketAddress.isSocketAddress(SocketAddress()) is True
    assert SocketAddress.is_socket_address({"address": "1.2.3.4"}) is False
    assert SocketAddress.is_socket_address(None) is False


def test_ipv4_flowlabel_is_dropped():
    # sockaddr_in has no flow label: Node reports 0.
    assert SocketAddress(flowlabel=5).flowlabel == 0
    assert SocketAddress(family="ipv6", flowlabel=5).flowlabel == 5


def test_default_address_follows_the_family_as_given():
    # Node picks the default address before lower-casing the family.
    raises(ValueError, "ERR_INVALID_ADDRESS", lambda: SocketAddress(family="IPV4"), "Invalid socket address")
    assert SocketAddress(family="IPV4", address="1.2.3.4").family == "ipv4"


# ---------------------------------------------------------------------------
# Where Node 20 aborts the process (a C++ assertion), we decide
# ---------------------------------------------------------------------------


def test_numeric_string_port_is_the_number():
    # Node's validatePort() accepts it; its C++ layer then aborts.  We keep the number.
    assert SocketAddress(port="80").port == 80
    raises(ValueError, "ERR_SOCKET_BAD_PORT", lambda: SocketAddress(port="abc"))


def test_ipv6_flowlabel_over_20_bits_is_out_of_range():
    assert SocketAddress(family="ipv6", flowlabel=0xFFFFF).flowlabel == 0xFFFFF
    raises(
        ValueError, "ERR_OUT_OF_RANGE", lambda: SocketAddress(family="ipv6", flowlabel=0x100000),
        'The value of "options.flowlabel" is out of range. It must be >= 0 && <= 1048575. Received 1048576',
    )


# ---------------------------------------------------------------------------
# Validation: Python-only inputs (the table below has the rest)
# ---------------------------------------------------------------------------


def test_validation_python_types():
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: SocketAddress([]))
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: SocketAddress("1.2.3.4"))
    raises(TypeError, "ERR_INVALID_ARG_VALUE", lambda: SocketAddress(family=4))
    raises(ValueError, "ERR_INVALID_ARG_VALUE", lambda: SocketAddress(family="inet"))
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: SocketAddress(address=b"1.2.3.4"))
    raises(ValueError, "ERR_SOCKET_BAD_PORT", lambda: SocketAddress(port=True))
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: SocketAddress(flowlabel=True))
    raises(ValueError, "ERR_OUT_OF_RANGE", lambda: SocketAddress(flowlabel=float("nan")),
           'The value of "options.flowlabel" is out of range. It must be an integer. Received NaN')
    assert SocketAddress(port=80.0).port == 80


def test_errors_are_node_errors():
    error = raises(ValueError, "ERR_INVALID_ADDRESS", lambda: SocketAddress(address="::1"))
    assert isinstance(error, NodeError)


# ---------------------------------------------------------------------------
# The IPv6 text Node prints (libuv's inet_ntop)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,text",
    [
        (0, "::"),
        (1, "::1"),
        (2, "::2"),  # not ::0.0.0.2
        (0x01020304, "::1.2.3.4"),
        (0xFFFF_0102_0304, "::ffff:1.2.3.4"),
        (0xFFFF, "::ffff"),
        (1 << 112, "1::"),
        (0x0001_0000_0000_0001_0000_0000_0000_0001, "1:0:0:1::1"),  # the longer run wins
        (0x0001_0000_0000_0001_0001_0000_0000_0001, "1::1:1:0:0:1"),  # the first of equal runs
        (0x0001_0002_0003_0004_0005_0006_0007_0000, "1:2:3:4:5:6:7:0"),  # one zero group stays
    ],
)
def test_format_ipv6(value, text):
    assert format_ipv6(value) == text


# ---------------------------------------------------------------------------
# The differential tables, evaluated by one node
# ---------------------------------------------------------------------------

_NODE = r"""
const { SocketAddress } = require('net');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const fail = (e) => ({ err: [e.name, e.code, e.message] });
function attempt(f) { try { return { ok: f() }; } catch (e) { return fail(e); } }
// Node 22's SocketAddress.parse(), on Node 20's URL; an explicit :80 is kept
// (https's default is 443, so its port says what http's dropped).
function parse22(text) {
  try {
    const url = new URL(`http://${text}`);
    let port = url.port;
    if (port === '' && new URL(`https://${text}`).port === '80') port = '80';
    const address = url.hostname;
    if (address.startsWith('[') && address.endsWith(']'))
      return new SocketAddress({ address: address.slice(1, -1), port: port | 0, family: 'ipv6' }).toJSON();
    return new SocketAddress({ address, port: port | 0 }).toJSON();
  } catch { return null; }
}
process.stdout.write(JSON.stringify({
  ctor: input.ctor.map((c) => attempt(() => ('options' in c ? new SocketAddress(c.options) : new SocketAddress())
    .toJSON())),
  text: input.text.map(([address, family]) => attempt(() => new SocketAddress({ address, family }).address)),
  parse: input.parse.map(parse22),
}));
"""

# Options Node 20 answers without aborting (see the tests above for the others).
CTOR_CASES = [
    {},
    {"options": {}},
    {"options": {"address": "123.123.123.123"}},
    {"options": {"address": "123.123.123.123", "port": 80}},
    {"options": {"family": "ipv6"}},
    {"options": {"family": "ipv6", "flowlabel": 1}},
    {"options": {"family": "ipv6", "flowlabel": 0xFFFFF}},
    {"options": {"family": "IPv6"}},
    {"options": {"family": "IPV4"}},
    {"options": {"family": "ipv4", "address": "::1"}},
    {"options": {"family": "ipv6", "address": "1.2.3.4"}},
    {"options": {"address": "1.2.3.4", "port": 65535, "flowlabel": 4294967295}},
    *({"options": {"family": family}} for family in ["foo", "", "test", 1, False, {}, []]),
    *({"options": {"address": address}} for address in [1, False, {}, [], "", "foo", " 1.1.1.1"]),
    *({"options": {"port": port}} for port in [-1, 65536, 1.5, 80.0, False, True, {}, [], "", " ", "abc", 1e21]),
    *({"options": {"flowlabel": label}} for label in [-1, 1.5, "1", True, 2**32, 2**32 + 1, -(2**32) - 1, 1e21]),
    {"options": {"family": "foo", "address": 1}},
    {"options": {"address": 1, "port": -1}},
    {"options": {"port": -1, "flowlabel": -1}},
    {"options": {"address": "foo", "flowlabel": -1}},
    {"options": {"address": "foo", "port": -1}},
    *({"options": value} for value in [1, False, "hello", []]),
]

# Fixed address texts: libuv's parser's corners, zones, NULs, the 39-byte cut.
TEXT_CASES = [
    "FE80::0001", "fe80::1%eth0", "fe80::1%", "fe80::1%@@", "%eth0", "1.1.1.1%1", "::ffff:1.1.1.2",
    "::ffff:0101:0102", "::1.2.3.4", "::0.0.0.2", "::0.0.1.0", "::0.1.0.0", "::1", "::", ":::", ":", "1:", ":1",
    "::ffff:0.0.0.1", "::ffff", "::ffff:0:1.2.3.4", "0:0:0:0:0:ffff:1.2.3.4", "1::", "1:0:0:1:0:0:0:1",
    "1:0:0:0:1:0:0:1", "0:0:1::", "::0:1:0:0:0:0", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "1:2:3:4::5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
    "::1.2.3.4:1", "::ffff:1.2.3", "::ffff:01.2.3.4", "1::2::3", " ::1", "::1 ", "[::1]", "::00001", "::0001",
    "::ffff:256.1.1.1", "::1.2.3.4.5", "::.1.2.3", "::1.2..3", "1.2.3.4", "01.2.3.4", "1.2.3", "1.2.3.4.",
    "255.255.255.255", "256.0.0.0", "0.0.0.0", "1.1.1.1\0xyz", "::1\0xyz", "１.1.1.1", "0x7f.0.0.1",
    "0000:0000:0000:0000:0000:ffff:255.255.255.255%x", "0000:0000:0000:0000:0000:0000:0000:0001%x",
    "0000:0000:0000:0000:0000:ffff:255.255.255.255", "0000:0000:0000:0000:0000:0000:0000:00001%x",
    "0000:0000:0000:0000:0000:0000:0000:0001a%x", "0000:0000:0000:0000:0000:0000:0000:000é%x",
    "0000:0000:0000:0000:0000:0000:0000:0000é%x",
]

PARSE_CASES = [
    # nodejs/node test/parallel/test-socketaddress.js
    "1.2.3.4", "192.168.257:1", "256", "999999999:12", "0xffffffff", "0x.0x.0", "[1:0::]", "[1::8]:123",
    "127.0.0.1:80", "127.0.0.1:443", "[::1]:80", "[::1]:443", "user:80@1.2.3.4", "user:80@1.2.3.4:80",
    "user:80@1.2.3.4:123", "user:80@[::1]", "user:80@[::1]:80", "user:80@[::1]:123",
    "not an ip", "abc.123", "259.1.1.1", "12:12:12",
    # URL corners: ports, slashes, paths, user info, percent-encoding, Unicode, whitespace
    "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:0080", "1.2.3.4:65535", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:8x",
    "1.2.3.4:80/x", "1.2.3.4/path:99", "1.2.3.4?q=1", "1.2.3.4#frag", "1.2.3.4\\x", "//1.2.3.4:5", "\\\\1.2.3.4",
    "@1.2.3.4", "a@b@1.2.3.4:7", "1.2.3.4@", "a:b@", ":80", "", " ", "1.2.3.4 ", " 1.2.3.4", "1.2\t.3.4",
    "1.2.3.4\n", "%31.2.3.4", "1.2.3.%34", "%zz.1.2.3", "１.２.３.４", "１２７。０。０。１", "1.2.3.4\u00ad",
    "1.2.3.4.", "1.2.3.4..", ".1.2.3.4", "1..2.3", "0x7f.1", "0X7F.1", "017.1", "08.1", "0x", "0x.1", "1.0x",
    "4294967295", "4294967296", "1.16777215", "1.16777216", "1.2.65535", "1.2.65536", "1.2.3.256", "1.2.3.4.5",
    "LOCALHOST", "example.com", "1.2.3.4a", "a1.2.3.4", "0xg.1", "[::1", "::1]", "[::1]x", "[::1]:",
    "[::1]:65536", "[::ffff:1.2.3.4]", "[::ffff:01.2.3.4]", "[fe80::1%25eth0]", "[fe80::1%eth0]", "[1:2:3:4:5:6:7:8]",
    "[1::2::3]", "[::1.2.3.4]:8", "[ ::1]", "[::1\u0000]", "[::g]", "[1:2:3:4:5:6:7:8:9]",
]


def _generated_texts(rng, count):
    """Address texts near valid ones: random IPv6 values written out, and mutations."""
    texts = []
    for _ in range(count):
        value = 0
        for _group in range(8):
            value = value << 16 | (0 if rng.random() < 0.55 else rng.choice([1, 0xFFFF, rng.getrandbits(16)]))
        if rng.random() < 0.2:
            value = 0xFFFF << 32 | rng.getrandbits(32)
        groups = ["%x" % ((value >> (112 - 16 * i)) & 0xFFFF) for i in range(8)]
        if rng.random() < 0.3:
            groups = [group.upper().zfill(4) for group in groups]
        texts.append(":".join(groups))
        texts.append(format_ipv6(value))
    alphabet = "0123456789abcdefABCDEFg:.%x "
    seeds = list(texts[: count // 2]) + ["1.2.3.4", "255.0.10.1", "::ffff:1.2.3.4", "fe80::1%eth0"]
    for seed in seeds:
        chars = list(seed)
        for _ in range(rng.randint(1, 3)):
            where = rng.randrange(len(chars) + 1)
            action = rng.random()
            if action < 0.4 and chars:
                del chars[min(where, len(chars) - 1)]
            elif action < 0.8:
                chars.insert(where, rng.choice(alphabet))
            elif chars:
                chars[min(where, len(chars) - 1)] = rng.choice(alphabet)
        texts.append("".join(chars))
    return texts


def _generated_parse_inputs(rng, count):
    hosts = ["1.2.3.4", "0x7f.1", "256", "017.0.0.1", "[::1]", "[1::8]", "[::ffff:1.2.3.4]", "example.com", "1.2.3"]
    inputs = []
    for _ in range(count):
        text = rng.choice(hosts)
        if rng.random() < 0.6:
            text += ":" + rng.choice(["80", "443", "0", "8080", "65535", "65536", "", "08", "x"])
        if rng.random() < 0.2:
            text = rng.choice(["u@", "u:p@", "u:80@", "@"]) + text
        if rng.random() < 0.2:
            text += rng.choice(["/", "/a:1", "?x", "#y", "\\z", " "])
        if rng.random() < 0.2:
            where = rng.randrange(len(text) + 1)
            text = text[:where] + rng.choice(".:[]x0%\t@") + text[where:]
        inputs.append(text)
    return inputs


def _node_results(table):
    if NODE is None:
        pytest.skip("node is not installed: the differential tables need it")
    done = subprocess.run(
        [NODE, "-e", _NODE], input=json.dumps(table), capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def tables():
    rng = random.Random(20240614)
    texts = TEXT_CASES + _generated_texts(rng, 300)
    table = {
        "ctor": CTOR_CASES,
        "text": [[text, family] for text in texts for family in ("ipv4", "ipv6")],
        "parse": PARSE_CASES + _generated_parse_inputs(rng, 400),
    }
    return table, _node_results(table)


def _simple(value):
    """A value whose Python description in an error message reads as Node's."""
    return isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _ours(call):
    try:
        return {"ok": call()}
    except NodeError as error:
        return {"err": error}


def _check_error(ours, theirs, python_class, compare_message, where):
    name, code, message = theirs
    assert "err" in ours, "%s: Node raised %s %s (%s), we returned %r" % (where, name, code, message, ours)
    error = ours["err"]
    assert error.code == code, "%s: code %s, Node's %s (%s)" % (where, error.code, code, message)
    assert isinstance(error, python_class), "%s: %r is not a %s" % (where, error, python_class.__name__)
    if compare_message:
        assert str(error) == message, where


def test_constructor_table_matches_node(tables):
    table, node = tables
    assert len(node["ctor"]) == len(CTOR_CASES)
    for case, theirs in zip(CTOR_CASES, node["ctor"]):
        where = "SocketAddress(%r)" % (case.get("options", "<none>"),)
        ours = _ours(lambda c=case: (SocketAddress(c["options"]) if "options" in c else SocketAddress()).toJSON())
        if "ok" in theirs:
            assert ours == theirs, where
            continue
        options = case["options"]
        family = options.get("family", "ipv4") if isinstance(options, dict) else "ipv4"
        # Node's TypeError for a family that is a string is a bad value: ValueError here.
        wrong_type = theirs["err"][1] == "ERR_INVALID_ARG_TYPE" or (
            theirs["err"][1] == "ERR_INVALID_ARG_VALUE" and not isinstance(family, str)
        )
        simple = all(_simple(v) for v in options.values()) if isinstance(options, dict) else _simple(options)
        _check_error(ours, theirs["err"], TypeError if wrong_type else ValueError, simple, where)


def test_address_text_matches_node(tables):
    table, node = tables
    checked = valid = 0
    for (text, family), theirs in zip(table["text"], node["text"]):
        where = "SocketAddress(address=%r, family=%r)" % (text, family)
        ours = _ours(lambda text=text, family=family: SocketAddress(address=text, family=family).address)
        checked += 1
        if "ok" in theirs:
            valid += 1
            assert ours == theirs, where
        else:
            _check_error(ours, theirs["err"], ValueError, True, where)
    assert checked == len(table["text"]) and valid > 300  # the table exercises both outcomes


def test_parse_matches_node_22(tables):
    table, node = tables
    parsed = 0
    for text, theirs in zip(table["parse"], node["parse"]):
        result = SocketAddress.parse(text)
        ours = None if result is None else result.to_json()
        assert ours == theirs, "SocketAddress.parse(%r)" % (text,)
        parsed += ours is not None
    assert 100 < parsed < len(table["parse"])


def test_parse_validates_its_argument():
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: SocketAddress.parse(1),
           'The "input" argument must be of type string. Received type number (1)')
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: SocketAddress.parse(None))


def test_parse_explicit_port_80_is_kept():
    # Node 22 returns port 0 here (nodejs/node#62906); the fix being merged keeps it.
    assert SocketAddress.parse("127.0.0.1:80").port == 80
    assert SocketAddress.parse("[::1]:80").port == 80
    assert SocketAddress.parse("user:80@1.2.3.4").port == 0
