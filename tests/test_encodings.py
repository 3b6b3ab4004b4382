"""Tests for nodenet_gevent.encodings: tables for the names and the edges, then
a differential test against a real ``node`` (Buffer.from and StringDecoder) on
thousands of generated strings and chunked byte strings, plus hypothesis runs
against the same node process."""

import array
import json
import random
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodenet_gevent.encodings import ENCODINGS, Decoder, encode, normalize_encoding, to_bytes
from nodenet_gevent.errors import NodeTypeError, NodeValueError

pytestmark = pytest.mark.timeout(60)

ALL = ("utf8", "ascii", "latin1", "base64", "base64url", "hex", "utf16le")


# ---------------------------------------------------------------------------
# normalize_encoding

NAMES = [
    ("utf8", "utf8"),
    ("utf-8", "utf8"),
    ("UTF8", "utf8"),
    ("UTF-8", "utf8"),
    ("Utf-8", "utf8"),
    ("ascii", "ascii"),
    ("ASCII", "ascii"),
    ("latin1", "latin1"),
    ("LATIN1", "latin1"),
    ("binary", "latin1"),
    ("Binary", "latin1"),
    ("base64", "base64"),
    ("BASE64", "base64"),
    ("base64url", "base64url"),
    ("Base64Url", "base64url"),
    ("hex", "hex"),
    ("HEX", "hex"),
    ("ucs2", "utf16le"),
    ("UCS2", "utf16le"),
    ("ucs-2", "utf16le"),
    ("UCS-2", "utf16le"),
    ("utf16le", "utf16le"),
    ("UTF16LE", "utf16le"),
    ("utf-16le", "utf16le"),
    ("UTF-16LE", "utf16le"),
]

UNKNOWN = [
    "foo",
    "utf16",
    "utf-16",
    "utf-16be",
    "latin-1",
    "iso-8859-1",
    "us-ascii",
    "utf_8",
    "utf 8",
    " utf8",
    "utf8 ",
    "base-64",
    "buffer",
    "ucs",
]


@pytest.mark.parametrize("name, expected", NAMES)
def test_normalize_encoding_names(name, expected):
    assert normalize_encoding(name) == expected
    assert normalize_encoding(name, default="hex") == expected


def test_canonical_names_are_fixed_points():
    assert ENCODINGS == set(ALL)
    for name in ALL:
        assert normalize_encoding(name) == name


@pytest.mark.parametrize("value", [None, ""])
def test_normalize_encoding_default(value):
    assert normalize_encoding(value) == "utf8"
    assert normalize_encoding(value, default="latin1") == "latin1"
    assert normalize_encoding(value, default=None) is None


@pytest.mark.parametrize("name", UNKNOWN)
def test_normalize_encoding_unknown(name):
    with pytest.raises(NodeValueError) as info:
        normalize_encoding(name)
    assert isinstance(info.value, ValueError)
    assert info.value.code == "ERR_UNKNOWN_ENCODING"
    assert str(info.value) == "Unknown encoding: %s" % name


@pytest.mark.parametrize(
    "value, shown",
    [(5, "5"), (1.5, "1.5"), (b"utf8", "b'utf8'"), (["utf8"], "['utf8']"), (True, "True"), ((1, 2), "(1, 2)")],
)
def test_normalize_encoding_non_string(value, shown):
    with pytest.raises(NodeValueError) as info:
        normalize_encoding(value)
    assert info.value.code == "ERR_UNKNOWN_ENCODING"
    assert str(info.value) == "Unknown encoding: " + shown


# ---------------------------------------------------------------------------
# encode / to_bytes / Decoder: fixed tables (these also hold without node)

ENCODE_TABLE = [
    ("a\u00e9\u20ac\U0001f600\ud800x\udc00", "utf8", "61c3a9e282acf09f9880efbfbd78efbfbd"),
    ("a\u00e9\u20ac\U0001f600\ud800x\udc00", "ascii", "61e9ac3d00007800"),
    ("a\u00e9\u20ac\U0001f600\ud800x\udc00", "latin1", "61e9ac3d00007800"),
    ("a\u00e9\u20ac\U0001f600\ud800x\udc00", "utf16le", "6100e900ac203dd800de00d8780000dc"),
    ("\ud83d\ude00", "utf8", "f09f9880"),  # two surrogate code points = one JS pair
    ("\ud83d\ude00", "utf16le", "3dd800de"),
    ("\ude00\ud83d", "utf8", "efbfbdefbfbd"),
    ("QUJD", "base64", "414243"),
    ("QUJ", "base64", "4142"),
    ("Q", "base64", ""),
    ("QUJDQ", "base64", "414243"),
    ("QUJD=QUJD", "base64", "414243"),
    ("QU=JD", "base64", "41"),
    ("=QUJD", "base64", ""),
    ("Q U\nJ*D", "base64", "414243"),
    ("-_-_", "base64", "fbffbf"),
    ("+/+/", "base64url", "fbffbf"),
    ("QR==", "base64", "41"),
    ("QUJD\u00e9QUJD", "base64", "414243414243"),
    ("\u0141\u0141\u0141\u0141", "base64", "000000"),  # low byte 0x41 = 'A'
    ("QU\u013dJD", "base64", "41"),  # low byte 0x3d = '='
    ("abcd", "hex", "abcd"),
    ("ABcd", "hex", "abcd"),
    ("abc", "hex", "ab"),
    ("a", "hex", ""),
    ("a1zz", "hex", "a1"),
    ("1z2", "hex", ""),
    ("ab cd", "hex", "ab"),
    ("\u0661\u0662", "hex", "ab"),  # low bytes 0x61 0x62
]


@pytest.mark.parametrize("text, encoding, expected", ENCODE_TABLE)
def test_encode_table(text, encoding, expected):
    assert encode(text, encoding).hex() == expected


def test_encode_accepts_any_spelling():
    assert encode("\u00e9", "UTF-8") == b"\xc3\xa9"
    assert encode("\u00e9", "binary") == b"\xe9"
    with pytest.raises(NodeValueError) as info:
        encode("x", "utf-16")
    assert info.value.code == "ERR_UNKNOWN_ENCODING"


def test_to_bytes_bytes_is_not_copied():
    data = b"hello world"
    assert to_bytes(data) is data
    assert to_bytes(data, "hex") is data  # encoding ignored for bytes-likes
    assert to_bytes(data, "no-such-encoding") is data


def test_to_bytes_copies_bytearray():
    data = bytearray(b"abc")
    out = to_bytes(data)
    assert type(out) is bytes and out == b"abc"
    data[0] = ord("z")
    data.extend(b"def")
    assert out == b"abc"


def test_to_bytes_copies_memoryview():
    backing = bytearray(b"abcdef")
    out = to_bytes(memoryview(backing)[1:4])
    assert type(out) is bytes and out == b"bcd"
    backing[1] = ord("z")
    assert out == b"bcd"


def test_to_bytes_memoryview_any_format_and_shape():
    words = array.array("H", [0x0102, 0x0304, 0x0506])
    view = memoryview(words)
    assert to_bytes(view) == words.tobytes()
    assert to_bytes(view[::2]) == array.array("H", [0x0102, 0x0506]).tobytes()  # non-contiguous
    square = memoryview(bytes(range(6))).cast("B", (2, 3))
    assert to_bytes(square) == bytes(range(6))
    assert to_bytes(memoryview(b"")) == b""


def test_to_bytes_bytes_subclass_becomes_bytes():
    class B(bytes):
        pass

    out = to_bytes(B(b"xy"))
    assert type(out) is bytes and out == b"xy"


@pytest.mark.parametrize(
    "text, encoding, expected",
    [
        ("h\u00e9", None, b"h\xc3\xa9"),
        ("h\u00e9", "utf8", b"h\xc3\xa9"),
        ("h\u00e9", "", b"h\xc3\xa9"),
        ("h\u00e9", "latin1", b"h\xe9"),
        ("h\u00e9", "BINARY", b"h\xe9"),
        ("6869", "hex", b"hi"),
        ("aGk=", "base64", b"hi"),
        ("hi", "ucs2", b"h\x00i\x00"),
        ("", None, b""),
    ],
)
def test_to_bytes_str(text, encoding, expected):
    out = to_bytes(text, encoding)
    assert type(out) is bytes and out == expected


def test_to_bytes_str_subclass():
    class S(str):
        pass

    assert to_bytes(S("hi"), "hex") == b""
    assert to_bytes(S("6869"), "hex") == b"hi"


@pytest.mark.parametrize("encoding", ["foo", "utf-16", 5, b"utf8"])
def test_to_bytes_str_bad_encoding(encoding):
    with pytest.raises(NodeValueError) as info:
        to_bytes("x", encoding)
    assert info.value.code == "ERR_UNKNOWN_ENCODING"
    assert str(info.value) == "Unknown encoding: %s" % (encoding,)


@pytest.mark.parametrize(
    "value",
    [None, 5, 1.5, True, ["a"], {"a": 1}, array.array("B", b"ab"), object(), bytes, len],
)
def test_to_bytes_bad_type(value):
    with pytest.raises(NodeTypeError) as info:
        to_bytes(value)
    assert isinstance(info.value, TypeError)
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    assert str(info.value).startswith(
        'The "chunk" argument must be of type str or bytes-like (bytes, bytearray, memoryview). Received '
    )


def test_decoder_basics():
    decoder = Decoder()
    assert isinstance(decoder, Decoder)
    assert decoder.encoding == "utf8"
    assert repr(decoder) == "Decoder('utf8')"
    assert Decoder(None).encoding == "utf8"
    assert Decoder("UCS-2").encoding == "utf16le"
    assert Decoder("binary").encoding == "latin1"
    for name in ALL:
        assert Decoder(name).encoding == name
    with pytest.raises(NodeValueError) as info:
        Decoder("utf-16")
    assert info.value.code == "ERR_UNKNOWN_ENCODING"
    assert str(info.value) == "Unknown encoding: utf-16"


@pytest.mark.parametrize("name", ALL)
def test_decoder_chunk_types(name):
    decoder = Decoder(name)
    assert decoder.write("passed through") == "passed through"  # as Node does
    expected = Decoder(name).end(b"\xc3\xa9abc")
    assert decoder.end(bytearray(b"\xc3\xa9abc")) == expected
    assert decoder.end(memoryview(b"\xc3\xa9abc")) == expected
    with pytest.raises(NodeTypeError) as info:
        decoder.write(5)
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    assert str(info.value).startswith('The "buf" argument must be ')


def test_decoder_is_reusable_after_end():
    decoder = Decoder("utf8")
    assert decoder.write(b"\xe2\x82") == ""
    assert decoder.end() == "\ufffd"
    assert decoder.write(b"\xe2\x82") == ""
    assert decoder.end(b"\xac") == "\u20ac"
    assert decoder.end() == ""


@pytest.mark.parametrize(
    "encoding, chunks, outputs",
    [
        ("utf8", [b"\xe2", b"\x82", b"\xac!"], ["", "", "\u20ac!", ""]),
        ("utf8", [b"\xf0\x9f", b"\x98\x80"], ["", "\U0001f600", ""]),
        ("utf8", [b"\xe0\x80", b"\x80A"], ["", "\ufffd\ufffd\ufffdA", ""]),
        ("utf8", [b"\xe0\x80"], ["", "\ufffd\ufffd"]),
        ("utf8", [b"\xf0\x90\x80"], ["", "\ufffd"]),
        ("utf8", [b"\xe2\x82", b"A"], ["", "\ufffdA", ""]),
        ("utf8", [b"\xed\xa0\x80\xc0\x80\xf5\x80\xf0\x90A\xe2\x82"], ["\ufffd" * 8 + "A", "\ufffd"]),
        ("utf16le", [b"\x3d", b"\xd8", b"\x00\xde"], ["", "", "\U0001f600", ""]),
        ("utf16le", [b"\x3d\xd8\x41"], ["", "\ud83d"]),
        ("utf16le", [b"A\x00\x00"], ["A", ""]),
        ("base64", [b"ab", b"cd"], ["", "YWJj", "ZA=="]),
        ("base64url", [b"\xfb\xff", b"\xbf\xfb"], ["", "-_-_", "-w"]),
        ("hex", [b"\x00\xff"], ["00ff", ""]),
        ("latin1", [b"\xe9"], ["\xe9", ""]),
        ("ascii", [b"A\xc1\xff\x80"], ["AA\x7f\x00", ""]),
    ],
)
def test_decoder_table(encoding, chunks, outputs):
    decoder = Decoder(encoding)
    assert [decoder.write(chunk) for chunk in chunks] + [decoder.end()] == outputs


# ---------------------------------------------------------------------------
# Differential test against node

NODE = shutil.which("node")

_NODE_SCRIPT = r"""
'use strict';
const {StringDecoder} = require('string_decoder');
const u16 = (s) => Buffer.from(s, 'utf16le').toString('hex');
function handle(r) {
  switch (r.op) {
    case 'encode':
      return Buffer.from(r.text, r.enc).toString('hex');
    case 'decode': {
      const d = new StringDecoder(r.enc);
      const outs = r.chunks.map((h) => u16(d.write(Buffer.from(h, 'hex'))));
      outs.push(u16(d.end()));
      return outs;
    }
    case 'normalize':
      try {
        return {name: new StringDecoder(r.enc).encoding, known: Buffer.isEncoding(r.enc)};
      } catch (e) {
        return {code: e.code, message: e.message};
      }
  }
  throw new Error('bad op ' + r.op);
}
let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (data) => {
  pending += data;
  let nl;
  while ((nl = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    process.stdout.write(JSON.stringify(JSON.parse(line).map(handle)) + '\n');
  }
});
"""


class _Node:
    """One node process answering batches of requests, one JSON line each way."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [NODE, "-e", _NODE_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
        )

    def ask(self, requests):
        # ensure_ascii: lone surrogates travel as \udXXX escapes, which
        # JSON.parse turns back into lone code units.
        self.proc.stdin.write(json.dumps(requests, ensure_ascii=True) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("node died: " + self.proc.stderr.read())
        answers = json.loads(line)
        assert len(answers) == len(requests)
        return answers

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture(scope="module")
def node():
    if NODE is None:
        pytest.skip("node is not installed")
    server = _Node()
    yield server
    server.close()


def _u16(text):
    return text.encode("utf-16-le", "surrogatepass").hex()


def _ours_decode(encoding, chunks):
    decoder = Decoder(encoding)
    return [_u16(decoder.write(chunk)) for chunk in chunks] + [_u16(decoder.end())]


def _is_high_surrogate(unit_hex):
    return 0xD8 <= int(unit_hex[2:], 16) <= 0xDB  # little-endian: high byte second


def _check_utf16_outputs(chunks, got, node_outputs):
    """Our utf16le outputs against Node's, allowing the one documented
    difference: Node may return the high half of a surrogate pair at the end
    of one write() and the low half in the next; we always hold a trailing
    high surrogate back.  So: the concatenations are equal (every whole code
    unit, a lone trailing byte dropped), each of our writes returns every
    whole code unit received so far except a trailing high surrogate, and
    Node's boundary is ours or one high surrogate later."""
    data = b"".join(chunks)
    units = [data[k : k + 2].hex() for k in range(0, len(data) & ~1, 2)]
    if "".join(node_outputs) != "".join(units) or "".join(got) != "".join(units):
        return False
    received = ours_done = node_done = 0
    for index, chunk in enumerate(chunks):
        received += len(chunk)
        upto = received // 2
        if upto > ours_done and _is_high_surrogate(units[upto - 1]):
            upto -= 1
        if got[index] != "".join(units[ours_done:upto]):
            return False
        ours_done = upto
        node_done += len(node_outputs[index]) // 4
        if node_done != ours_done and not (node_done == ours_done + 1 and _is_high_surrogate(units[ours_done])):
            return False
    return True


def _check_encode(node, texts):
    requests = [{"op": "encode", "text": text, "enc": enc} for text in texts for enc in ALL]
    answers = node.ask(requests)
    failures = []
    for request, expected in zip(requests, answers):
        got = encode(request["text"], request["enc"]).hex()
        if got != expected:
            failures.append((request["text"], request["enc"], got, expected))
    assert not failures, "%d mismatches, first: %r" % (len(failures), failures[:5])


def _check_decode(node, cases, encodings=ALL):
    requests = [
        {"op": "decode", "enc": enc, "chunks": [chunk.hex() for chunk in chunks]}
        for chunks in cases
        for enc in encodings
    ]
    answers = node.ask(requests)
    failures = []
    for request, node_outputs in zip(requests, answers):
        chunks = [bytes.fromhex(chunk) for chunk in request["chunks"]]
        got = _ours_decode(request["enc"], chunks)
        if request["enc"] == "utf16le":
            same = _check_utf16_outputs(chunks, got, node_outputs)
        else:
            same = got == node_outputs
        if not same:
            failures.append((request["enc"], request["chunks"], got, node_outputs))
    assert not failures, "%d mismatches, first: %r" % (len(failures), failures[:5])


# Material for generated strings.
_PIECES = (
    [chr(c) for c in range(0x20, 0x7F)] * 3
    + list(" \t\r\n\x00\x7f\x80\xa0\xe9\xff")
    + list("\u0100\u0141\u013d\u0161\u0661\u0662\u20ac\u2028\ufeff\ufffd\uffff")
    + ["\U0001f600", "\U00010000", "\U0010ffff", "\U0001d11e"]
    + ["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d", "\ude00"]  # lone, or pairs when adjacent
)
_B64_PIECES = list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_") * 3 + list(
    "=== \n*.\u0141\u013d\u00c1\U0001f600"
)
_HEX_PIECES = list("0123456789abcdefABCDEF") * 3 + list(" gG=\n\u0661\u0141\u00e9\U0001f600")


def _random_texts(rng, count):
    texts = []
    for _ in range(count):
        pieces = rng.choice((_PIECES, _B64_PIECES, _HEX_PIECES))
        texts.append("".join(rng.choice(pieces) for _ in range(rng.randrange(0, 24))))
    return texts


# Material for generated byte strings: whole, truncated and broken characters.
_BYTE_PIECES = [
    b"A",
    "\u00e9".encode(),
    "\u20ac".encode(),
    "\U0001f600".encode(),
    "\U0010ffff".encode(),
    b"\x80",
    b"\xbf",
    b"\xc0",
    b"\xc1\xbf",
    b"\xc2",
    b"\xe0",
    b"\xe0\x80",
    b"\xe0\xa0",
    b"\xed\xa0\x80",  # encoded surrogate
    b"\xef\xbf",
    b"\xf0",
    b"\xf0\x90",
    b"\xf0\x80\x80",
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xf5",
    b"\xf8\x88\x80\x80\x80",
    b"\xfe",
    b"\xff",
    b"\x00\xd8",  # utf16le high surrogate
    b"\x3d\xd8\x00\xde",  # utf16le pair
    b"\x00\xdc",
    b"\x00",
]


def _random_byte_strings(rng, count):
    out = []
    for _ in range(count):
        if rng.random() < 0.3:
            out.append(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 16))))
        else:
            out.append(b"".join(rng.choice(_BYTE_PIECES) for _ in range(rng.randrange(0, 8))))
    return out


def _random_split(rng, data):
    cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randrange(0, 5)))
    chunks = []
    start = 0
    for cut in cuts:
        chunks.append(data[start:cut])  # may be empty, on purpose
        start = cut
    chunks.append(data[start:])
    return chunks


def test_names_against_node(node):
    names = [name for name, _ in NAMES] + UNKNOWN + ["", "uTf-16Le", "bAsE64uRl", "Ucs-2", "LaTiN1"]
    answers = node.ask([{"op": "normalize", "enc": name} for name in names])
    for name, answer in zip(names, answers):
        if "name" in answer:
            assert normalize_encoding(name) == answer["name"], name
        else:
            with pytest.raises(NodeValueError) as info:
                normalize_encoding(name)
            assert (info.value.code, str(info.value)) == (answer["code"], answer["message"]), name


def test_encode_against_node(node):
    rng = random.Random(20240601)
    texts = [text for text, _, _ in ENCODE_TABLE] + ["", "\ud83d", "\ude00\ud83d", "\ud83d\ud83d\ude00"]
    texts += _random_texts(rng, 3000)
    _check_encode(node, texts)


def test_decode_every_split_against_node(node):
    # Every one- and two-cut split of short interesting byte strings.
    samples = [
        "\u20ac\U0001f600\u00e9A".encode(),
        b"\xe0\x80\x80\xf0\x90\x80A",
        b"\xed\xa0\x80\xc0\xaf\xf5\x80\xf4\x90\x80\x80",
        b"\xe2\x82\xe2\x82\xac\xf0\x9f\x98",
        b"\xff\xfe\x3d\xd8\x00\xde\x00\xd8\x41\x00\x00\xdc",
        b"\x3d\xd8\x3d\xd8\x00\xde\x00\xd8",
        bytes(range(0xF0, 0xF8)) + b"\x80\x80",
        b"abcdefg",
    ]
    cases = []
    for data in samples:
        n = len(data)
        for i in range(n + 1):
            cases.append([data[:i], data[i:]])
            for j in range(i, n + 1):
                cases.append([data[:i], data[i:j], data[j:]])
        cases.append([data[k : k + 1] for k in range(n)])  # a byte at a time
    _check_decode(node, cases)


def test_decode_random_splits_against_node(node):
    rng = random.Random(1234567)
    cases = [_random_split(rng, data) for data in _random_byte_strings(rng, 3000)]
    _check_decode(node, cases)


# Hypothesis, against the same node process.

_js_text = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]),
        st.sampled_from(_B64_PIECES + _HEX_PIECES),
    ),
    max_size=40,
)

_settings = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@_settings
@given(texts=st.lists(_js_text, min_size=1, max_size=10))
def test_encode_hypothesis(node, texts):
    _check_encode(node, texts)


@st.composite
def _chunked(draw):
    data = draw(
        st.one_of(
            st.binary(max_size=40),
            st.lists(st.sampled_from(_BYTE_PIECES), max_size=10).map(b"".join),
        )
    )
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    chunks = []
    start = 0
    for cut in cuts:
        chunks.append(data[start:cut])
        start = cut
    chunks.append(data[start:])
    return chunks


@_settings
@given(cases=st.lists(_chunked(), min_size=1, max_size=10))
def test_decode_hypothesis(node, cases):
    _check_decode(node, cases)
