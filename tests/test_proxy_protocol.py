"""Tests for nodenet_gevent.proxy_protocol: the PROXY protocol header parser and read_header().

Tables of valid and malformed headers (built here byte by byte from the spec,
https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt), fed whole, split at every
point and a byte at a time; hypothesis properties (any split of a header and its payload
parses the same; no input makes the parser raise anything but its own error); read_header()
over gevent sockets; and the real peer: the ``haproxy`` binary, started here, relaying
connections with ``send-proxy`` and ``send-proxy-v2`` to a gevent socket that parses what
arrives (skipped when haproxy is not installed).
"""

import errno
import os
import pickle
import socket as stdlib_socket
import struct
import time

import gevent
import gevent.socket as gsocket
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodenet_gevent.errors import NodeError, NodeTypeError, NodeValueError
from nodenet_gevent.proxy_protocol import (
    DEFAULT_LIMIT,
    V1_MAX_LENGTH,
    V2_MAX_LENGTH,
    V2_SIGNATURE,
    ProxyHeader,
    ProxyProtocolError,
    ProxyProtocolParser,
    parse,
    read_header,
)
from haproxy_support import Frontend, running_haproxy

pytestmark = pytest.mark.timeout(60)

PAYLOAD = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n\x00\r\n\r\nQUIT\n"  # looks like a header's bytes on purpose


# ---------------------------------------------------------------------------
# Building headers, independently of the module under test


def v2(command=0x1, family=0x11, body=b"", tlvs=(), version=0x2, length=None):
    """A v2 header: the 16 fixed bytes, *body* (the address block), then *tlvs*."""
    block = body + b"".join(bytes([kind]) + struct.pack(">H", len(value)) + value for kind, value in tlvs)
    size = len(block) if length is None else length
    return V2_SIGNATURE + bytes([version << 4 | command, family]) + struct.pack(">H", size) + block


def inet4(source, dest, sport, dport):
    return stdlib_socket.inet_aton(source) + stdlib_socket.inet_aton(dest) + struct.pack(">HH", sport, dport)


def inet6(source, dest, sport, dport):
    pton = stdlib_socket.inet_pton
    return pton(stdlib_socket.AF_INET6, source) + pton(stdlib_socket.AF_INET6, dest) + struct.pack(">HH", sport, dport)


def unix(source, dest):
    return source.ljust(108, b"\0") + dest.ljust(108, b"\0")


def header(version, command="PROXY", family=None, transport=None, src=None, sport=None, dst=None, dport=None,
           tlvs=()):
    return ProxyHeader(version, command, family, transport, src, sport, dst, dport, tlvs)


TLVS = ((0x01, b"h2"), (0x02, b"example.com"), (0x04, b""), (0x05, b"id-1"), (0xE0, b"\x00" * 300), (0x05, b"id-2"))
V1_WORST = b"PROXY UNKNOWN " + b"ffff:" * 7 + b"ffff " + b"ffff:" * 7 + b"ffff 65535 65535\r\n"
assert len(V1_WORST) == V1_MAX_LENGTH

VALID = [
    ("v1-tcp4", b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
     header(1, "PROXY", "IPv4", "STREAM", "192.168.0.1", 56324, "192.168.0.11", 443)),
    ("v1-tcp4-extremes", b"PROXY TCP4 255.255.255.255 0.0.0.0 65535 0\r\n",
     header(1, "PROXY", "IPv4", "STREAM", "255.255.255.255", 65535, "0.0.0.0", 0)),
    ("v1-tcp6", b"PROXY TCP6 2001:db8::1 ::1 1 2\r\n",
     header(1, "PROXY", "IPv6", "STREAM", "2001:db8::1", 1, "::1", 2)),
    # Given in full and in upper case: reported as getpeername() would.
    ("v1-tcp6-full-upper", b"PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:00FF "
                           b"FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF 65535 65535\r\n",
     header(1, "PROXY", "IPv6", "STREAM", "2001:db8::ff", 65535, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535)),
    ("v1-tcp6-mapped", b"PROXY TCP6 ::ffff:10.0.0.1 ::ffff:a00:2 80 81\r\n",
     header(1, "PROXY", "IPv6", "STREAM", "::ffff:10.0.0.1", 80, "::ffff:10.0.0.2", 81)),
    ("v1-unknown", b"PROXY UNKNOWN\r\n", header(1)),
    # UNKNOWN: "the receiver must ignore anything presented before the CRLF".
    ("v1-unknown-worst-case-107-bytes", V1_WORST, header(1)),
    ("v1-unknown-junk", b"PROXY UNKNOWN  whatever\x00\xff\r\n", header(1)),
    ("v2-tcp4", v2(0x1, 0x11, inet4("10.1.2.3", "10.4.5.6", 1234, 443)),
     header(2, "PROXY", "IPv4", "STREAM", "10.1.2.3", 1234, "10.4.5.6", 443)),
    ("v2-tcp4-tlvs", v2(0x1, 0x11, inet4("10.1.2.3", "10.4.5.6", 65535, 0), TLVS),
     header(2, "PROXY", "IPv4", "STREAM", "10.1.2.3", 65535, "10.4.5.6", 0, TLVS)),
    ("v2-udp4", v2(0x1, 0x12, inet4("1.1.1.1", "2.2.2.2", 53, 5353)),
     header(2, "PROXY", "IPv4", "DGRAM", "1.1.1.1", 53, "2.2.2.2", 5353)),
    ("v2-tcp6", v2(0x1, 0x21, inet6("2001:db8::1", "::ffff:1.2.3.4", 40000, 8443), TLVS[:2]),
     header(2, "PROXY", "IPv6", "STREAM", "2001:db8::1", 40000, "::ffff:1.2.3.4", 8443, TLVS[:2])),
    ("v2-udp6", v2(0x1, 0x22, inet6("::1", "::2", 1, 2)), header(2, "PROXY", "IPv6", "DGRAM", "::1", 1, "::2", 2)),
    ("v2-unix", v2(0x1, 0x31, unix(b"/run/client.sock", b"/run/server.sock"), TLVS[3:4]),
     header(2, "PROXY", "unix", "STREAM", "/run/client.sock", None, "/run/server.sock", None, TLVS[3:4])),
    ("v2-unix-abstract-dgram", v2(0x1, 0x32, unix(b"\0abstract", b"/a" * 54)),
     header(2, "PROXY", "unix", "DGRAM", "\0abstract", None, "/a" * 54, None)),
    ("v2-local", v2(0x0, 0x00), header(2, "LOCAL")),
    ("v2-local-tlvs", v2(0x0, 0x00, b"", TLVS), header(2, "LOCAL", tlvs=TLVS)),
    # LOCAL: the receiver "must use the real connection endpoints": the addresses are ignored.
    ("v2-local-with-addresses", v2(0x0, 0x11, inet4("1.2.3.4", "5.6.7.8", 1, 2), TLVS[:1]),
     header(2, "LOCAL", tlvs=TLVS[:1])),
    ("v2-local-family-ignored", v2(0x0, 0x77, b"\xff" * 5), header(2, "LOCAL")),
    ("v2-proxy-unspec", v2(0x1, 0x00, b"", TLVS[1:2]), header(2, "PROXY", tlvs=TLVS[1:2])),
]
VALID_IDS = [case[0] for case in VALID]


@pytest.mark.parametrize("name,data,expected", VALID, ids=VALID_IDS)
def test_valid_whole(name, data, expected):
    assert parse(data + PAYLOAD) == (expected, PAYLOAD)
    assert parse(data) == (expected, b"")


@pytest.mark.parametrize(
    "name,data,expected,mode",
    [case + (mode,) for case in VALID for mode in (case[0][:2], True)],
    ids=["%s-%s" % (case[0], "exact" if mode is not True else "either") for case in VALID for mode in (1, True)],
)
def test_valid_split_at_every_point(name, data, expected, mode):
    whole = data + PAYLOAD
    for cut in range(len(whole) + 1):
        parser = ProxyProtocolParser(mode)
        first = parser.feed(whole[:cut])
        if cut < len(data):
            assert first is None, "complete after only %d of %d bytes" % (cut, len(data))
            assert parser.feed(whole[cut:]) == (expected, PAYLOAD)
        else:
            assert first == (expected, whole[len(data):cut])


@pytest.mark.parametrize("name,data,expected", VALID, ids=VALID_IDS)
def test_valid_a_byte_at_a_time(name, data, expected):
    parser = ProxyProtocolParser()
    for index in range(len(data) - 1):
        assert parser.feed(data[index:index + 1]) is None
        assert parser.received == index + 1
    assert parser.feed(data[-1:] + PAYLOAD) == (expected, PAYLOAD)


@pytest.mark.parametrize("name,data,expected", VALID, ids=VALID_IDS)
def test_truncated_needs_more_then_parse_says_incomplete(name, data, expected):
    for cut in range(len(data)):
        assert ProxyProtocolParser().feed(data[:cut]) is None
    with pytest.raises(ProxyProtocolError, match=r"^Incomplete PROXY protocol header: %d bytes" % (len(data) - 1)):
        parse(data[:-1])


IPV4 = inet4("1.2.3.4", "5.6.7.8", 1, 2)

# (id, bytes, mode, a regular expression the message must match).  Each is invalid as a
# whole; those marked early below are refused before their last byte.
MALFORMED = [
    ("http", b"GET / HTTP/1.1\r\n", True, r"^Not a PROXY protocol header: the connection starts with b'GET / HTTP"),
    ("tls", b"\x16\x03\x01\x02\x00\x01\x00", True, r"^Not a PROXY protocol header"),
    ("lowercase-proxy", b"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", True, r"^Not a PROXY protocol header"),
    ("proxy-without-space", b"PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", True, r"^Not a PROXY protocol header"),
    ("v2-bad-signature", b"\r\n\r\n\x00\r\nQUIX\n!\x11\x00\x0c" + IPV4, True, r"^Not a PROXY protocol header"),
    ("v1-lf-only", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", True, r"does not end with CRLF"),
    ("v1-cr-only", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rGET", True, r"a CR not followed by LF"),
    ("v1-stray-cr", b"PROXY TCP4 1.2.3.4\r 5.6.7.8 1 2\r\n", True, r"CR not followed by LF"),
    ("v1-lf-cr", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\r", True, r"does not end with CRLF"),
    ("v1-no-crlf-in-107", b"PROXY TCP6 " + b"1" * 96, True, r"^PROXY protocol v1 header too long: no CRLF in the "
                                                             r"first 107 bytes"),
    ("v1-108-bytes", V1_WORST[:-2] + b"0\r\n", True, r"too long"),
    ("v1-empty-protocol", b"PROXY \r\n", True, r"unknown protocol b''"),
    ("v1-udp4", b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", True, r"unknown protocol b'UDP4' \(TCP4, TCP6 or UNKNOWN\)"),
    ("v1-unknown-glued", b"PROXY UNKNOWNX\r\n", True, r"unknown protocol b'UNKNOWNX'"),
    ("v1-tcp4-no-fields", b"PROXY TCP4\r\n", True, r"2 fields, not 6"),
    ("v1-five-fields", b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", True, r"5 fields, not 6"),
    ("v1-seven-fields", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", True, r"7 fields, not 6"),
    ("v1-double-space", b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", True, r"7 fields, not 6"),
    ("v1-trailing-space", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", True, r"7 fields, not 6"),
    ("v1-ipv4-leading-zero", b"PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n", True,
     r"the source address b'1.2.3.04' is not an IPv4 address"),
    ("v1-ipv4-256", b"PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n", True, r"destination address b'5.6.7.256' is not an IPv4"),
    ("v1-ipv4-three-parts", b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", True, r"source address b'1.2.3'"),
    ("v1-ipv6-in-tcp4", b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n", True, r"source address b'::1' is not an IPv4 address"),
    ("v1-ipv4-in-tcp6", b"PROXY TCP6 ::1 5.6.7.8 1 2\r\n", True,
     r"destination address b'5.6.7.8' is not an IPv6 address"),
    ("v1-ipv6-scope", b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", True, r"source address b'fe80::1%eth0'"),
    ("v1-ipv6-two-double-colons", b"PROXY TCP6 1::2::3 ::1 1 2\r\n", True, r"source address b'1::2::3'"),
    ("v1-ipv6-non-ascii", b"PROXY TCP6 \xff::1 ::1 1 2\r\n", True, r"source address b'\\xff::1'"),
    ("v1-port-65536", b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", True,
     r"the source port b'65536' is not a port \(0-65535, no leading zero\)"),
    ("v1-port-leading-zero", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 080\r\n", True, r"destination port b'080'"),
    ("v1-port-negative", b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", True, r"source port b'-1'"),
    ("v1-port-plus", b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", True, r"source port b'\+1'"),
    ("v1-port-empty", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n", True, r"destination port b''"),
    ("v2-version-1", v2(version=0x1, body=IPV4), True, r"^Invalid PROXY protocol v2 header: version 1 in byte 13"),
    ("v2-version-3", v2(version=0x3, body=IPV4), True, r"version 3 in byte 13 \(0x31\), not 2"),
    ("v2-command-2", v2(command=0x2, body=IPV4), True, r"unknown command 2 in byte 13 \(0x22\)"),
    ("v2-command-f", v2(command=0xF, body=IPV4), True, r"unknown command 15"),
    ("v2-family-4", v2(family=0x41, body=IPV4), True, r"unknown address family/transport byte 0x41"),
    ("v2-transport-3", v2(family=0x13, body=IPV4), True, r"byte 0x13"),
    ("v2-inet-unspec-transport", v2(family=0x10, body=IPV4), True, r"byte 0x10"),
    ("v2-unspec-family-stream", v2(family=0x01), True, r"byte 0x01"),
    ("v2-ipv4-short", v2(family=0x11, body=IPV4[:11]), True, r"11 address bytes, an IPv4 address block takes 12"),
    ("v2-ipv6-short", v2(family=0x21, body=IPV4), True, r"12 address bytes, an IPv6 address block takes 36"),
    ("v2-unix-short", v2(family=0x31, body=b"/x" * 100), True, r"200 address bytes, an unix address block takes 216"),
    ("v2-tlv-overrun", v2(body=IPV4 + b"\x05\x00\x05abcd"), True, r"TLV 0x05 of 5 bytes overruns the header by 1"),
    ("v2-tlv-stray-bytes", v2(body=IPV4 + b"\x05\x00"), True, r"2 stray bytes after the last TLV"),
    ("v2-local-tlv-overrun", v2(command=0x0, family=0x00, body=b"\x01\xff\xff"), True, r"TLV 0x01 of 65535 bytes"),
    ("v2-oversized", v2(body=IPV4 + b"\xe0" + struct.pack(">H", 4096) + b"x" * 4096), True,
     r"^PROXY protocol v2 header too long: %d bytes, the limit is 4096" % (16 + 12 + 3 + 4096)),
    ("v2-wanted-got-v1", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "v2",
     r"^Expected a PROXY protocol v2 header, received a v1 header"),
    ("v1-wanted-got-v2", v2(body=IPV4), "v1", r"^Expected a PROXY protocol v1 header, received a v2 header"),
    ("v1-wanted-got-http", b"GET / HTTP/1.1\r\n", "v1", r"^Not a PROXY protocol v1 header: the connection starts"),
    ("v2-wanted-got-crlf", b"\r\n\r\nhello", "v2", r"^Not a PROXY protocol v2 header"),
]
MALFORMED_IDS = [case[0] for case in MALFORMED]

# Refused as soon as the bad byte arrives, not after the whole header: id -> (bytes it takes,
# the message then, when it differs from the whole input's: it has seen less).
EARLY = {
    "http": (1, r"^Not a PROXY protocol header: the connection starts with b'G'$"),
    "tls": (1, None),
    "lowercase-proxy": (1, None),
    "proxy-without-space": (6, None),
    "v2-bad-signature": (11, None),
    "v1-lf-only": (31, None),
    "v1-cr-only": (32, None),
    "v1-stray-cr": (20, None),
    "v1-no-crlf-in-107": (107, None),
    "v1-108-bytes": (107, None),
    "v2-version-3": (13, None),
    "v2-command-2": (13, None),
    "v2-family-4": (14, None),
    "v2-oversized": (16, None),
    # One byte is enough to refuse the other version; not enough to name it.
    "v2-wanted-got-v1": (1, r"^Not a PROXY protocol v2 header: the connection starts with b'P'$"),
    "v1-wanted-got-v2": (1, r"^Not a PROXY protocol v1 header: the connection starts with b'\\r'$"),
    "v1-wanted-got-http": (1, None),
}


@pytest.mark.parametrize("name,data,mode,message", MALFORMED, ids=MALFORMED_IDS)
def test_malformed(name, data, mode, message):
    with pytest.raises(ProxyProtocolError, match=message) as caught:
        parse(data + PAYLOAD, mode)
    error = caught.value
    assert error.code == "ERR_PROXY_PROTOCOL"
    assert isinstance(error, NodeError)
    assert str(error) == error.message


@pytest.mark.parametrize("name,data,mode,message", MALFORMED, ids=MALFORMED_IDS)
def test_malformed_a_byte_at_a_time(name, data, mode, message):
    """Fed a byte at a time it fails too (no byte of payload needed), with the same message,
    and as early as the spec lets it: at the first byte that makes the header impossible."""
    early, early_message = EARLY.get(name, (None, None))
    message = early_message or message
    parser = ProxyProtocolParser(mode)
    with pytest.raises(ProxyProtocolError, match=message):
        for index in range(len(data)):
            parser.feed(data[index:index + 1])
    if early is not None:
        assert index + 1 == early, "refused after %d bytes, not %d" % (index + 1, early)
    # Once failed, it stays failed: the same error again.
    with pytest.raises(ProxyProtocolError, match=message):
        parser.feed(b"x")


def test_limits():
    tlv = (0xE0, b"x" * (DEFAULT_LIMIT - 16 - 12 - 3))
    exactly = v2(body=IPV4, tlvs=[tlv])
    assert len(exactly) == DEFAULT_LIMIT
    assert parse(exactly)[0].tlvs == (tlv,)
    with pytest.raises(ProxyProtocolError, match="4097 bytes, the limit is 4096"):
        parse(v2(body=IPV4, tlvs=[(0xE0, tlv[1] + b"x")]))
    # A smaller cap refuses once the 16 fixed bytes announce too much, before the rest arrives.
    with pytest.raises(ProxyProtocolError, match="28 bytes, the limit is 27"):
        ProxyProtocolParser(limit=27).feed(v2(body=IPV4)[:16])
    assert parse(v2(body=IPV4), limit=28)[0].source_address == "1.2.3.4"
    # The largest header the format can carry, when the cap allows it.
    biggest = v2(body=IPV4, tlvs=[(0xE0, b"\xff" * (0xFFFF - 12 - 3))])
    assert len(biggest) == V2_MAX_LENGTH == 16 + 65535
    assert parse(biggest + PAYLOAD, limit=V2_MAX_LENGTH) == (parse(biggest, limit=V2_MAX_LENGTH)[0], PAYLOAD)
    with pytest.raises(ProxyProtocolError, match="too long"):
        parse(biggest)
    # The v1 limit is the spec's, whatever the cap.
    assert parse(V1_WORST, limit=16)[0] == header(1)


@pytest.mark.parametrize(
    "kwargs,error,code,message",
    [
        ({"mode": "v3"}, NodeValueError, "ERR_INVALID_ARG_VALUE", "The argument 'mode' must be 'v1', 'v2' or True. "
                                                                    "Received 'v3'"),
        ({"mode": False}, NodeValueError, "ERR_INVALID_ARG_VALUE", "Received False"),
        ({"mode": 1}, NodeValueError, "ERR_INVALID_ARG_VALUE", "Received 1"),
        ({"mode": None}, NodeValueError, "ERR_INVALID_ARG_VALUE", "Received None"),
        ({"limit": "4096"}, NodeTypeError, "ERR_INVALID_ARG_TYPE", 'The "limit" argument must be of type int'),
        ({"limit": True}, NodeTypeError, "ERR_INVALID_ARG_TYPE", "limit"),
        ({"limit": 15}, NodeValueError, "ERR_OUT_OF_RANGE", 'The value of "limit" is out of range. It must be >= 16 '
                                                             'and <= 65551. Received 15'),
        ({"limit": 65552}, NodeValueError, "ERR_OUT_OF_RANGE", "Received 65552"),
    ],
)
def test_bad_arguments(kwargs, error, code, message):
    with pytest.raises(error) as caught:
        ProxyProtocolParser(**kwargs)
    assert caught.value.code == code
    assert message in str(caught.value)
    a, _ = gsocket.socketpair()
    with a, _:
        with pytest.raises(error):
            read_header(a, **kwargs)


@pytest.mark.parametrize("timeout,error,code", [(0, NodeValueError, "ERR_OUT_OF_RANGE"),
                                                (-1, NodeValueError, "ERR_OUT_OF_RANGE"),
                                                (float("nan"), NodeValueError, "ERR_OUT_OF_RANGE"),
                                                ("5", NodeTypeError, "ERR_INVALID_ARG_TYPE"),
                                                (True, NodeTypeError, "ERR_INVALID_ARG_TYPE")])
def test_bad_timeout(timeout, error, code):
    a, b = gsocket.socketpair()
    with a, b:
        b.sendall(VALID[0][1])
        with pytest.raises(error) as caught:
            read_header(a, True, timeout)
        assert caught.value.code == code
        assert "timeout_seconds" in str(caught.value)


def test_parser_is_single_use():
    parser = ProxyProtocolParser()
    assert parser.feed(b"") is None
    assert parser.feed(b"PROXY UNKNOWN\r\nabc") == (header(1), b"abc")
    with pytest.raises(NodeError, match="already parsed") as caught:
        parser.feed(b"more")
    assert caught.value.code == "ERR_INVALID_STATE"
    assert not isinstance(caught.value, ProxyProtocolError)


def test_parser_accepts_bytes_like():
    data = VALID[0][1] + PAYLOAD
    expected = (VALID[0][2], PAYLOAD)
    assert ProxyProtocolParser().feed(bytearray(data)) == expected
    assert ProxyProtocolParser().feed(memoryview(data)) == expected
    result = ProxyProtocolParser().feed(memoryview(data))
    assert type(result[1]) is bytes


def test_header_object():
    value = VALID[9][2]  # v2-tcp4-tlvs
    assert value.tlv(0x05) == b"id-1"  # the first of two
    assert value.tlv(0x02) == b"example.com"
    assert value.tlv(0x03) is None
    assert value.tlvs == TLVS
    with pytest.raises(AttributeError, match="immutable"):
        value.source_port = 1
    with pytest.raises(AttributeError, match="immutable"):
        del value.version
    with pytest.raises(AttributeError):
        value.extra = 1  # __slots__: no room for anything else
    assert not hasattr(value, "__dict__")
    assert pickle.loads(pickle.dumps(value)) == value
    assert hash(value) == hash(parse(VALID[9][1])[0])
    assert value != VALID[8][2]
    assert value != object()
    assert {value, parse(VALID[9][1])[0]} == {value}
    assert repr(VALID[0][2]) == ("ProxyHeader(version=1, command='PROXY', family='IPv4', transport='STREAM', "
                                 "source_address='192.168.0.1', source_port=56324, dest_address='192.168.0.11', "
                                 "dest_port=443, tlvs=())")


def test_error_pickles():
    with pytest.raises(ProxyProtocolError) as caught:
        parse(b"nope")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is ProxyProtocolError
    assert (copy.code, str(copy)) == ("ERR_PROXY_PROTOCOL", str(caught.value))


def test_fast_enough():
    """Once per connection, but not a Python loop per byte: well under 50 µs a header here."""
    cases = [data + PAYLOAD for name, data, _ in VALID if name in ("v1-tcp6-full-upper", "v2-tcp4-tlvs", "v2-unix")]
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        for data in cases:
            parse(data)
    per_header = (time.perf_counter() - started) / (rounds * len(cases))
    assert per_header < 50e-6, "%.1f µs a header" % (per_header * 1e6)


# ---------------------------------------------------------------------------
# Properties

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def headers(draw):
    """A valid header of any kind, with the ProxyHeader it stands for."""
    kind = draw(st.sampled_from(["v1-4", "v1-6", "v1-unknown", "v2-4", "v2-6", "v2-unix", "v2-local"]))
    ports = draw(st.tuples(st.integers(0, 65535), st.integers(0, 65535)))
    tlvs = tuple(draw(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=40)), max_size=4)))
    if kind == "v1-unknown":
        return b"PROXY UNKNOWN" + draw(st.sampled_from([b"", b" ::1 ::2 1 2", b" junk"])) + b"\r\n", header(1)
    if kind == "v2-local":
        return v2(0x0, 0x00, b"", tlvs), header(2, "LOCAL", tlvs=tlvs)
    if kind == "v2-unix":
        paths = draw(st.tuples(*[st.binary(min_size=1, max_size=107).map(lambda p: b"/" + p.replace(b"\0", b"")[:106])
                                 for _ in range(2)]))
        names = [p.decode("utf-8", "surrogateescape") for p in paths]
        return v2(0x1, 0x31, unix(*paths), tlvs), header(2, "PROXY", "unix", "STREAM", names[0], None, names[1],
                                                        None, tlvs)
    version = 4 if kind.endswith("4") else 6
    addresses = draw(st.tuples(st.ip_addresses(v=version), st.ip_addresses(v=version)))
    family = "IPv4" if version == 4 else "IPv6"
    if version == 4:
        names = [str(a) for a in addresses]
    else:
        names = [stdlib_socket.inet_ntop(stdlib_socket.AF_INET6, a.packed) for a in addresses]
    if kind.startswith("v1"):
        if version == 4:
            texts = names
        else:  # any spelling: compressed, exploded, upper case
            texts = [draw(st.sampled_from([n, a.exploded, a.exploded.upper(), n.upper()]))
                     for n, a in zip(names, addresses)]
        line = "PROXY TCP%d %s %s %d %d\r\n" % (version, texts[0], texts[1], ports[0], ports[1])
        return line.encode("ascii"), header(1, "PROXY", family, "STREAM", names[0], ports[0], names[1], ports[1])
    block = b"".join(a.packed for a in addresses) + struct.pack(">HH", *ports)
    return v2(0x1, 0x11 if version == 4 else 0x21, block, tlvs), header(2, "PROXY", family, "STREAM", names[0],
                                                                        ports[0], names[1], ports[1], tlvs)


@SETTINGS
@given(case=headers(), payload=st.binary(max_size=200), cuts=st.lists(st.integers(0, 600), max_size=8))
def test_any_split_gives_the_same_header_and_payload(case, payload, cuts):
    data, expected = case
    whole = data + payload
    points = sorted({min(cut, len(whole)) for cut in cuts} | {0, len(whole)})
    parser = ProxyProtocolParser()
    result = None
    for start, end in zip(points, points[1:]):
        result = parser.feed(whole[start:end])
        if result is not None:
            assert end >= len(data), "complete before its last byte"
            assert result == (expected, whole[len(data):end])
            assert result[1] + whole[end:] == payload
            break
        assert end < len(data), "still incomplete after the whole header"
    assert result is not None
    assert parse(whole) == (expected, payload)


@SETTINGS
@given(data=st.one_of(st.binary(max_size=300),
                      st.binary(max_size=300).map(lambda b: b"PROXY " + b),
                      st.binary(max_size=300).map(lambda b: V2_SIGNATURE + b),
                      st.tuples(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=300)).map(
                          lambda t: V2_SIGNATURE + bytes([0x20 | (t[0] & 1), t[1]]) + struct.pack(">H", len(t[2]))
                          + t[2])),
       mode=st.sampled_from(["v1", "v2", True]), cut=st.integers(0, 400))
def test_no_input_raises_anything_else(data, mode, cut):
    parser = ProxyProtocolParser(mode)
    try:
        if parser.feed(data[:cut]) is None:
            parser.feed(data[cut:])
    except ProxyProtocolError as error:
        assert error.message and error.code == "ERR_PROXY_PROTOCOL"


# ---------------------------------------------------------------------------
# read_header() on gevent sockets


class Spy:
    """A socket whose recv calls are counted: (bufsize, flags) each."""

    def __init__(self, sock):
        self.sock = sock
        self.calls = []

    def recv(self, size, flags=0):
        self.calls.append((size, flags))
        return self.sock.recv(size, flags)


def rest_of(sock, timeout=5):
    """Everything *sock* receives until EOF."""
    chunks = []
    with gevent.Timeout(timeout):
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


@pytest.fixture
def pair():
    a, b = gsocket.socketpair()
    yield a, b
    a.close()
    b.close()


@pytest.mark.parametrize("name,data,expected", VALID, ids=VALID_IDS)
def test_read_header_leaves_the_payload(pair, name, data, expected):
    a, b = pair
    b.sendall(data + PAYLOAD)
    b.shutdown(stdlib_socket.SHUT_WR)
    spy = Spy(a)
    assert read_header(spy, True, 5) == (expected, b"")
    assert rest_of(a) == PAYLOAD
    # What was received for real is the header, to the byte.
    assert sum(size for size, flags in spy.calls if not flags) == len(data)


def test_read_header_v2_reads_exact_sizes_without_peeking(pair):
    a, b = pair
    data = VALID[9][1]  # v2-tcp4-tlvs
    b.sendall(data + PAYLOAD)
    spy = Spy(a)
    assert read_header(spy, "v2", 5) == (VALID[9][2], b"")
    assert spy.calls == [(16, 0), (len(data) - 16, 0)]
    b.close()
    assert rest_of(a) == PAYLOAD


def test_read_header_v1_peeks_then_takes_the_line(pair):
    a, b = pair
    b.sendall(VALID[0][1] + PAYLOAD)
    spy = Spy(a)
    read_header(spy, "v1", 5)
    assert spy.calls == [(V1_MAX_LENGTH, stdlib_socket.MSG_PEEK), (len(VALID[0][1]), 0)]


@pytest.mark.parametrize("name", ["v1-tcp6-full-upper", "v2-unix", "v2-local"])
def test_read_header_trickled(pair, name):
    """A header arriving in pieces is waited for (not spun on: a handful of recv calls per piece)."""
    _, data, expected = VALID[VALID_IDS.index(name)]
    a, b = pair
    pieces = [data[i:i + 7] for i in range(0, len(data), 7)]

    def send():
        for piece in pieces:
            gevent.sleep(0.005)
            b.sendall(piece)
        b.sendall(PAYLOAD)
        b.shutdown(stdlib_socket.SHUT_WR)

    sender = gevent.spawn(send)
    spy = Spy(a)
    try:
        assert read_header(spy, True, 5) == (expected, b"")
        assert len(spy.calls) <= 2 * len(pieces) + 2
        assert rest_of(a) == PAYLOAD
    finally:
        sender.kill()


def test_read_header_over_tcp():
    listener = gsocket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = gsocket.create_connection(listener.getsockname(), timeout=5)
    conn, _ = listener.accept()
    with listener, client, conn:
        client.sendall(VALID[0][1][:10])
        gevent.spawn_later(0.02, client.sendall, VALID[0][1][10:] + PAYLOAD)
        assert read_header(conn, "v1", 5) == (VALID[0][2], b"")
        client.shutdown(stdlib_socket.SHUT_WR)
        assert rest_of(conn) == PAYLOAD


@pytest.mark.parametrize("sent,received", [(b"", 0), (b"PROXY TCP4 1.2", 14), (V2_SIGNATURE, 12)])
def test_read_header_times_out(pair, sent, received):
    a, b = pair
    b.sendall(sent)
    started = time.monotonic()
    with pytest.raises(ProxyProtocolError, match=r"^No complete PROXY protocol header within 0.2 s \(%d bytes "
                                                 r"received\)$" % received) as caught, \
            gevent.Timeout(3, AssertionError("read_header() did not give up")):
        read_header(a, True, 0.2)
    assert 0.15 < time.monotonic() - started < 2
    assert caught.value.code == "ERR_PROXY_PROTOCOL"


def test_read_header_leaves_an_outer_timeout_alone(pair):
    a, _ = pair
    with pytest.raises(gevent.Timeout) as caught, gevent.Timeout(0.05) as outer:
        read_header(a, True, 5)
    assert caught.value is outer


@pytest.mark.parametrize("sent,message", [
    (b"", r"^Connection closed before a PROXY protocol header was received$"),
    (b"PROXY TCP4 1.2.3.4", r"^Connection closed before the PROXY protocol header was complete \(18 bytes received\)$"),
    (V2_SIGNATURE + b"\x21\x11\x00\x0c" + IPV4[:5], r"complete \(21 bytes received\)$"),
])
def test_read_header_eof(pair, sent, message):
    a, b = pair
    b.sendall(sent)
    b.close()
    with pytest.raises(ProxyProtocolError, match=message):
        read_header(a, True, 5)


@pytest.mark.parametrize("mode", ["v1", "v2", True])
def test_read_header_malformed_fails_at_once(pair, mode):
    a, b = pair
    b.sendall(b"GET / HTTP/1.1\r\n\r\n")
    started = time.monotonic()
    with pytest.raises(ProxyProtocolError, match=r"^Not a PROXY protocol (v\d )?header"):
        read_header(a, mode, 5)
    assert time.monotonic() - started < 1


def test_read_header_wrong_version(pair):
    a, b = pair
    b.sendall(VALID[0][1])
    with pytest.raises(ProxyProtocolError, match="Expected a PROXY protocol v2 header, received a v1 header"):
        read_header(a, "v2", 5)


class NoPeek:
    """A socket that refuses recv flags (as an SSL socket does), served from a list of chunks."""

    def __init__(self, *chunks):
        self.chunks = list(chunks)
        self.calls = []

    def recv(self, size, flags=0):
        self.calls.append((size, flags))
        if flags:
            raise ValueError("non-zero flags not allowed in calls to recv()")
        if not self.chunks:
            return b""
        chunk = self.chunks.pop(0)
        if len(chunk) > size:
            self.chunks.insert(0, chunk[size:])
        return chunk[:size]


def test_read_header_without_peek_returns_what_it_read_past():
    data = VALID[0][1]
    sock = NoPeek(data[:20], data[20:] + PAYLOAD)
    found, leftover = read_header(sock, True, 5)
    assert found == VALID[0][2]
    assert leftover + b"".join(sock.chunks) == PAYLOAD
    assert leftover  # it did read past, and says so
    # v2 needs no peek: exact reads, nothing read past.
    sock = NoPeek(VALID[9][1] + PAYLOAD)
    assert read_header(sock, True, 5) == (VALID[9][2], b"")
    assert sock.chunks == [PAYLOAD]


def test_read_header_socket_error_has_node_shape():
    class Reset:
        def recv(self, size, flags=0):
            raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")

    with pytest.raises(ConnectionResetError) as caught:
        read_header(Reset(), True, 5)
    assert (caught.value.code, caught.value.syscall, str(caught.value)) == ("ECONNRESET", "read", "read ECONNRESET")


# ---------------------------------------------------------------------------
# The real peer: haproxy relays to a gevent socket with send-proxy / send-proxy-v2

CASES = [Frontend("v1-tcp4", "v1", "127.0.0.1"), Frontend("v2-tcp4", "v2", "127.0.0.1"),
         Frontend("v1-unix", "v1", "unix"), Frontend("v2-unix", "v2", "unix"),
         Frontend("v1-tcp6", "v1", "::1"), Frontend("v2-tcp6", "v2", "::1")]


@pytest.fixture(scope="module")
def haproxy(tmp_path_factory):
    yield from running_haproxy(tmp_path_factory.mktemp("haproxy"), CASES, checks=True)


def relay(haproxy, name, mode):
    """A client connected through haproxy's frontend *name*, and the header its backend got."""
    client = haproxy.connect(name)
    client.sendall(PAYLOAD)  # sent at once: it may well arrive with the header
    conn = haproxy.accept(name)
    found, leftover = read_header(conn, mode, 5)
    assert leftover == b""
    return client, conn, found


def check_payload(client, conn):
    """What the client sends after the header arrives intact, to the byte, and then EOF."""
    big = os.urandom(256 * 1024)
    client.sendall(big)
    client.shutdown(stdlib_socket.SHUT_WR)
    assert rest_of(conn) == PAYLOAD + big


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", ["exact", True])
@pytest.mark.parametrize("name", ["v1-tcp4", "v2-tcp4", "v1-tcp6", "v2-tcp6"])
def test_haproxy_tcp(haproxy, name, mode):
    if name not in haproxy.frontends:
        pytest.skip("no IPv6 on this machine")
    version = name[:2]
    client, conn, found = relay(haproxy, name, version if mode == "exact" else True)
    with client, conn:
        source = client.getsockname()
        family = "IPv4" if name.endswith("4") else "IPv6"
        assert (found.version, found.command, found.family, found.transport) == (int(version[1]), "PROXY", family,
                                                                                  "STREAM")
        assert (found.source_address, found.source_port) == source[:2]
        assert (found.dest_address, found.dest_port) == haproxy.frontends[name]
        if version == "v2":
            # proxy-v2-options unique-id, the frontend's unique-id-format being %ci:%cp.
            assert found.tlvs == ((0x05, ("%s:%d" % source[:2]).encode()),)
        else:
            assert found.tlvs == ()
        check_payload(client, conn)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["v1-unix", "v2-unix"])
def test_haproxy_unix_client(haproxy, name):
    """A client on a Unix socket: haproxy says v1 ``UNKNOWN``, v2 ``LOCAL`` with no address."""
    client, conn, found = relay(haproxy, name, True)
    with client, conn:
        if name == "v1-unix":
            assert found == ProxyHeader(1, "PROXY")
        else:
            assert (found.version, found.command, found.family, found.source_address, found.dest_address) == (
                2, "LOCAL", None, None, None)
            # LOCAL still carries the TLVs asked for: the unique id (%ci:%cp of a Unix client).
            assert [kind for kind, _ in found.tlvs] == [0x05]
            assert found.tlv(0x05)
        check_payload(client, conn)


@pytest.mark.timeout(30)
def test_haproxy_health_check_v2_is_local(haproxy):
    conn, found, _, _ = haproxy.accept_check("check-v2", "v2")
    with conn:
        assert found == ProxyHeader(2, "LOCAL")
        conn.sendall(b"pong\n")


@pytest.mark.timeout(30)
def test_haproxy_health_check_v1_gives_its_own_addresses(haproxy):
    conn, found, peer, local = haproxy.accept_check("check-v1", "v1")
    with conn:
        assert (found.version, found.command, found.family) == (1, "PROXY", "IPv4")
        assert (found.source_address, found.source_port) == peer
        assert (found.dest_address, found.dest_port) == local
        conn.sendall(b"pong\n")
