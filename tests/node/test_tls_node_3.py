"""Ports of nodejs/node test/parallel test-tls-*.js, the last eight (issue 13).

The index stores them as test/parallel/tls/<name>.js (and by their own path).  Ported here:
test-tls-min-max-version.js, test-tls-multi-key.js, test-tls-onread-static-buffer.js,
test-tls-passphrase.js, test-tls-reduced-SECLEVEL-in-cipher.js, test-tls-set-ciphers.js,
test-tls-sni-option.js, test-tls-sni-server-client.js; and test-tls-no-sslv23.js, which secureProtocol
(supported now) makes portable.
Node's fixture keys become trustme certificates, or keys `openssl` makes at test time (an encrypted
RSA key, a 512-bit one); where Node 20 and the upstream file disagree, `node` was asked and Node 20
decides.  The strict xfails are what stdlib ssl cannot do; NOT_PORTED.md's TLS section says what
is left out and why.
"""

import os
import shutil
import ssl
import subprocess
import tempfile

import gevent
import gevent.event
import pytest

import nodenet_gevent as net
from nodenet_gevent import tls
from conftest import event_flag, raises
from test_modern_support import RotatingBuffers
from tls_support import HANDSHAKE_FAILURE_ALERT, tls_connect, tls_listen

pytestmark = pytest.mark.timeout(30)


def port_of(server):
    return server.address()["port"]


def _pem(leaf):
    return {"key": leaf.private_key_pem.bytes().decode(), "cert": "".join(p.bytes().decode()
                                                                        for p in leaf.cert_chain_pems)}


def _openssl(*args):
    if shutil.which("openssl") is None:
        pytest.skip("no openssl")
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=20)


@pytest.fixture(scope="module")
def keys(certs):
    """Node's fixture keys, made here: agent1/4/6 signed by CA1 (certs.ca), agent3 by CA2, agent6
    through an intermediate CA3 (its chain), agent2 self-signed; RSA ones for what needs RSA."""
    import trustme

    ca2 = trustme.CA()
    ca3 = certs.ca.create_child_ca()
    ca5 = trustme.CA()
    rsa_ca = trustme.CA(key_type=trustme.KeyType.RSA)
    return {
        "ca1": certs.ca_pem,
        "ca2": ca2.cert_pem.bytes().decode(),
        "ca5": ca5.cert_pem.bytes().decode(),
        "rsa_ca": rsa_ca.cert_pem.bytes().decode(),
        "agent1": _pem(certs.ca.issue_cert("agent1", common_name="agent1")),
        "agent2": {"key": certs.self_signed_key, "cert": certs.self_signed_cert},
        "agent3": _pem(ca2.issue_cert("agent3", common_name="agent3")),
        "agent4": _pem(ca2.issue_cert("agent4", common_name="agent4")),
        "agent6": _pem(ca3.issue_cert("agent6", common_name="agent6")),  # leaf + CA3
        "rsa1": _pem(certs.ca.issue_cert("agent1", common_name="agent1", key_type=trustme.KeyType.RSA)),
        "rsa10": _pem(ca2.create_child_ca(key_type=trustme.KeyType.RSA).issue_cert(
            "agent10.example.com", common_name="agent10.example.com", key_type=trustme.KeyType.RSA)),
        "ec10": _pem(ca5.issue_cert("agent10.example.com", common_name="agent10.example.com")),
        "rsa6": _pem(rsa_ca.issue_cert("localhost", common_name="agent6", key_type=trustme.KeyType.RSA)),
    }


@pytest.fixture(scope="module")
def openssl_keys():
    """test-tls-passphrase.js's rsa_private.pem, its encrypted form (passphrase 'password') and the
    self-signed rsa_cert.crt; test-tls-reduced-SECLEVEL-in-cipher.js's too-small agent11 key."""
    where = tempfile.mkdtemp(prefix="nodenet-tls3-")
    try:
        path = os.path.join
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path(where, "raw.pem"),
                 "-out", path(where, "cert.pem"), "-subj", "/CN=localhost", "-days", "2")
        _openssl("pkey", "-in", path(where, "raw.pem"), "-aes256", "-passout", "pass:password",
                 "-out", path(where, "pass.pem"))
        for name, bits in (("small", 512), ("rsa1024", 1024)):
            _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:%d" % bits,
                     "-out", path(where, name + ".pem"))
            _openssl("req", "-x509", "-key", path(where, name + ".pem"), "-out", path(where, name + "-cert.pem"),
                     "-subj", "/CN=agent11", "-days", "2")
        result = {}
        for name in ("raw", "cert", "pass", "small", "small-cert", "rsa1024", "rsa1024-cert"):
            with open(path(where, name + ".pem"), "rb") as f:
                result[name] = f.read()
        return result
    finally:
        shutil.rmtree(where, ignore_errors=True)


def _pair(track, client_options, server_options):
    """Node's test/fixtures/tls-connect.js: a server and a client; what each ended with.

    Returns {'client': (conn or None, error), 'server': (conn or None, error)} once both are done.
    """
    outcome = {"client": [None, None], "server": [None, None]}
    server_done = gevent.event.Event()

    def on_secure(conn):
        outcome["server"][0] = conn
        server_done.set()

    def on_client_error(error, socket):
        outcome["server"][1] = error
        server_done.set()

    server = tls_listen(track, server_options, on_secure)
    server.on("tlsClientError", on_client_error)
    client = tls_connect(track, {"port": port_of(server), "host": "127.0.0.1", **client_options})
    client_done = gevent.event.Event()
    client.on("secureConnect", lambda: (outcome["client"].__setitem__(0, client), client_done.set()))
    client.on("error", lambda error: (outcome["client"].__setitem__(1, error), client_done.set()))
    assert client_done.wait(5) and server_done.wait(5)
    return outcome


def _protocols(outcome):
    (client, client_error), (server, server_error) = outcome["client"], outcome["server"]
    if client_error is not None or server_error is not None:
        return getattr(client_error, "code", client_error), getattr(server_error, "code", server_error)
    return client.getProtocol(), server.getProtocol()


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-min-max-version.js (its TLS 1.2/1.3 rows, as Node 20 answers them: the
# upstream file's defaults predate TLS 1.3, and OpenSSL 3 refuses TLS 1.0/1.1 at its default security
# level -- Node 20 too, `node` says; so the TLSv1/TLSv1_1 rows are left out)

U = None
_VERSION_ROWS = [
    # (client min, client max, client secureProtocol, server min, server max, server secureProtocol, expected)
    (U, U, U, U, U, U, "TLSv1.3"),
    (U, "TLSv1.2", U, U, U, U, "TLSv1.2"),
    (U, U, U, U, "TLSv1.2", U, "TLSv1.2"),
    ("TLSv1.2", "TLSv1.2", U, "TLSv1.2", "TLSv1.3", U, "TLSv1.2"),
    ("TLSv1.3", U, U, "TLSv1.3", U, U, "TLSv1.3"),
    ("TLSv1.3", U, U, U, "TLSv1.2", U, ("ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", "ERR_SSL_UNSUPPORTED_PROTOCOL")),
    (U, "TLSv1.2", U, "TLSv1.3", U, U, ("ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", "ERR_SSL_UNSUPPORTED_PROTOCOL")),
    # secureProtocol: TLS_method is any version, SSLv23_method the default range, TLSv1_2_method 1.2 only.
    (U, U, "TLSv1_2_method", U, U, "TLS_method", "TLSv1.2"),
    (U, U, "TLS_method", U, U, "TLSv1_2_method", "TLSv1.2"),
    (U, U, "TLSv1_2_method", U, U, "SSLv23_method", "TLSv1.2"),
    (U, U, "TLSv1_2_method", U, U, "TLSv1_2_method", "TLSv1.2"),
    (U, U, "SSLv23_method", U, U, U, "TLSv1.3"),
    (U, U, U, "TLSv1.3", U, "SSLv23_method", "ERR_TLS_PROTOCOL_VERSION_CONFLICT"),
]


def _version_options(minimum, maximum, method):
    return {key: value for key, value in (("minVersion", minimum), ("maxVersion", maximum),
                                          ("secureProtocol", method)) if value is not None}


@pytest.mark.parametrize("row", _VERSION_ROWS, ids=lambda row: "-".join(str(v) for v in row[:6]))
def test_min_max_version(track, keys, row):
    cmin, cmax, cprot, smin, smax, sprot, expected = row
    client = {"ca": [keys["ca1"]], "checkServerIdentity": lambda name, cert: None,
              **_version_options(cmin, cmax, cprot)}
    server = {**keys["agent6"], **_version_options(smin, smax, sprot)}
    if expected == "ERR_TLS_PROTOCOL_VERSION_CONFLICT":
        raises(TypeError, expected, lambda: tls.createServer(server))
        return
    got = _protocols(_pair(track, client, server))
    assert got == (expected if isinstance(expected, tuple) else (expected, expected))


@pytest.mark.parametrize("options, code, message", [
    ({"secureProtocol": "SSLv2_method"}, "ERR_TLS_INVALID_PROTOCOL_METHOD", "SSLv2 methods disabled"),
    ({"secureProtocol": "SSLv3_method"}, "ERR_TLS_INVALID_PROTOCOL_METHOD", "SSLv3 methods disabled"),
    ({"secureProtocol": "hokey-pokey"}, "ERR_TLS_INVALID_PROTOCOL_METHOD", "Unknown method: hokey-pokey"),
    ({"secureProtocol": "TLS1_2_method", "maxVersion": "TLSv1.2"}, "ERR_TLS_PROTOCOL_VERSION_CONFLICT",
     'TLS protocol version "TLSv1.2" conflicts with secureProtocol "TLS1_2_method"'),
    ({"secureProtocol": "TLS1_2_method", "minVersion": "TLSv1.2"}, "ERR_TLS_PROTOCOL_VERSION_CONFLICT",
     'TLS protocol version "TLSv1.2" conflicts with secureProtocol "TLS1_2_method"'),
])
@pytest.mark.parametrize("side", ["client", "server"])
def test_min_max_version_bad_methods_raise_at_once(track, keys, options, code, message, side):
    if side == "server":
        raises(TypeError, code, lambda: tls.createServer({**keys["agent6"], **options}), message)
    else:
        raises(TypeError, code, lambda: tls.connect({"port": 9, "host": "127.0.0.1", **options}), message)


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-no-sslv23.js (the secureProtocol names, each also as _client_method and
# _server_method.  Which side those name is not checked here: Node's wrong-side method fails the
# handshake with ERR_SSL_CALLED_A_FUNCTION_YOU_SHOULD_NOT_CALL, `node` says -- NOT_PORTED.md)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize("suffix", ["_method", "_client_method", "_server_method"])
def test_no_sslv23(suffix):
    raises(TypeError, "ERR_TLS_INVALID_PROTOCOL_METHOD",
           lambda: tls.createSecureContext({"secureProtocol": "blargh"}), "Unknown method: blargh")
    for disabled in ("SSLv2", "SSLv3"):
        raises(TypeError, "ERR_TLS_INVALID_PROTOCOL_METHOD",
               lambda disabled=disabled: tls.createSecureContext({"secureProtocol": disabled + suffix}),
               "%s methods disabled" % disabled)
    # SSLv23 is OpenSSL's "any known protocol" (SSLv2 and SSLv3 off): the default range here, as Node's.
    expected = {"SSLv23": ("TLSv1_2", "TLSv1_3"), "TLSv1": ("TLSv1", "TLSv1"), "TLSv1_1": ("TLSv1_1", "TLSv1_1"),
                "TLSv1_2": ("TLSv1_2", "TLSv1_2")}
    for name, (low, high) in expected.items():
        context = tls.createSecureContext({"secureProtocol": name + suffix}).context
        assert (context.minimum_version.name, context.maximum_version.name) == (low, high)


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-multi-key.js (an RSA and an ECDSA key on one server, each with its own
# certificate whatever the order of the lists.  Not the pfx cases: pfx is refused.  maxVersion
# 'TLSv1.2' is the client's: Node 20 keeps TLS 1.3 on with TLS 1.2 ciphers (`node` says), where
# the certificate is chosen by signature algorithm, not by cipher.  No asn1Curve/exponent here
# (README): the key type is read from the certificate itself)


def _key_type(peer):
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = x509.load_der_x509_certificate(peer["raw"]).public_key()
    return "rsa" if isinstance(key, rsa.RSAPublicKey) else "ec" if isinstance(key, ec.EllipticCurvePublicKey) else "?"


_MULTI_KEY_CASES = {
    # key order (ec, rsa); cert order; the RSA and EC names; client CAs
    "keys ec,rsa certs rsa,ec": (["ec10", "rsa1"], ["rsa1", "ec10"], "agent1", "agent10.example.com", ["ca5", "ca1"]),
    "keys ec,rsa certs ec,rsa": (["ec10", "rsa1"], ["ec10", "rsa1"], "agent1", "agent10.example.com", ["ca5", "ca1"]),
    "mixed, with intermediate CAs": (["ec10", "rsa10"], ["rsa10", "ec10"], "agent10.example.com",
                                     "agent10.example.com", ["ca2", "ca5"]),
}


@pytest.mark.parametrize("case", list(_MULTI_KEY_CASES))
def test_multi_key(track, keys, must_call, case):
    key_names, cert_names, rsa_cn, ecc_cn, cas = _MULTI_KEY_CASES[case]
    server = tls_listen(track, {"key": [keys[name]["key"] for name in key_names],
                                "cert": [keys[name]["cert"] for name in cert_names]}, lambda conn: conn.end("ok"))
    seen = []
    for cipher, expected_cn, kind, standard in (
            ("ECDHE-ECDSA-AES256-GCM-SHA384", ecc_cn, "ec", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
            ("ECDHE-RSA-AES256-GCM-SHA384", rsa_cn, "rsa", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")):
        def check_identity(name, cert, expected_cn=expected_cn):
            seen.append(cert["subject"]["CN"])
            assert cert["subject"]["CN"] == expected_cn

        client = tls_connect(track, port_of(server), "127.0.0.1", {
            "ciphers": cipher, "maxVersion": "TLSv1.2", "rejectUnauthorized": True,
            "ca": [keys[name] for name in cas], "checkServerIdentity": check_identity}, must_call())
        net.once(client, "secureConnect", timeout=5)
        assert client.getCipher() == {"name": cipher, "standardName": standard, "version": "TLSv1.2"}
        peer = client.getPeerCertificate()
        assert peer["subject"]["CN"] == expected_cn
        assert _key_type(peer) == kind
        client.end()
    assert seen == [ecc_cn, rsa_cn]


def test_multi_key_a_key_no_certificate_fits_raises_at_once(keys):
    # (our rule: one chain per key, paired by public key; a key without its certificate is OpenSSL's error)
    raises(Exception, "ERR_OSSL_X509_KEY_VALUES_MISMATCH", lambda: tls.createServer({
        "key": [keys["ec10"]["key"], keys["rsa1"]["key"]], "cert": [keys["rsa1"]["cert"], keys["agent3"]["cert"]]}))


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-onread-static-buffer.js (Node's Buffer is a bytearray here and its
# Uint8Array a memoryview of one; the 100 ms before resume() is 20 ms: what counts is that nothing
# is read while paused)

SMALL = b"hello world"
LARGE = (b"hello world" * 6000)[:64 * 1024]


def _onread_server(track, must_call, certs, message):
    server = None

    def on_secure(socket):
        server.close()
        socket.end(message)

    server = tls_listen(track, {"key": certs.self_signed_key, "cert": certs.self_signed_cert}, must_call(on_secure))
    return server


def _onread_client(track, must_call, server, onread):
    client = tls_connect(track, {"port": port_of(server), "host": "127.0.0.1", "rejectUnauthorized": False,
                                 "onread": onread})
    client.on("data", must_call.never("'data' with onread"))
    return client


@pytest.mark.parametrize("kind", ["Buffer", "Uint8Array"])
def test_onread_static_buffer(track, must_call, certs, kind):
    server = _onread_server(track, must_call, certs, SMALL)
    sock_buf = bytearray(8) if kind == "Buffer" else memoryview(bytearray(8))
    pieces = []

    def callback(nread, buf):
        assert buf is sock_buf
        pieces.append(bytes(buf[:nread]))

    client = _onread_client(track, must_call, server, {"buffer": sock_buf, "callback": callback})
    net.once(client, "end", timeout=10)
    assert sum(map(len, pieces)) == len(SMALL)
    assert b"".join(pieces) == SMALL


@pytest.mark.parametrize("kind", ["Buffer", "Uint8Array"])
def test_onread_buffer_function(track, must_call, certs, kind):
    # 11 bytes in 2-byte buffers: 6 reads and the EOF's, 7 buffers asked for (as Node's).
    server = _onread_server(track, must_call, certs, SMALL)
    buffers = RotatingBuffers(kind)
    client = _onread_client(track, must_call, server, buffers.onread())
    net.once(client, "end", timeout=10)
    assert b"".join(buffers.pieces) == SMALL
    assert buffers.usage == 7


@pytest.mark.parametrize("how", ["explicit", "implicit"])
def test_onread_pause(track, must_call, certs, how):
    # "Test explicit socket pause" (client.pause()) and "implicit" (the callback returns False), once.
    server = _onread_server(track, must_call, certs, LARGE)
    sock_buf = bytearray(64)
    pieces = []
    state = {"scheduled": False, "paused": False}
    client = None

    def unpause():
        state["paused"] = False
        client.resume()

    def callback(nread, buf):
        assert buf is sock_buf
        assert not state["paused"], "read while paused"
        pieces.append(bytes(buf[:nread]))
        if not state["scheduled"]:
            state["scheduled"] = state["paused"] = True
            gevent.spawn_later(0.02, unpause)
            if how == "explicit":
                client.pause()
                return None
            return False
        return True

    client = _onread_client(track, must_call, server, {"buffer": sock_buf, "callback": callback})
    net.once(client, "end", timeout=10)
    assert sum(map(len, pieces)) == len(LARGE)
    assert b"".join(pieces) == LARGE


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-passphrase.js (an encrypted key as Buffer, string, in a list, and as
# {pem, passphrase} objects.  A missing passphrase is "bad decrypt" in Node 20, as a wrong one --
# `node` says; the upstream file's "processing error" is another OpenSSL build's)


def _passphrase_clients(k):
    raw, enc, cert = k["raw"], k["pass"], k["cert"]
    s = bytes.decode
    yield from [
        # Buffer
        {"key": enc, "passphrase": "password", "cert": cert},
        {"key": raw, "cert": cert},
        {"key": raw, "passphrase": "ignored", "cert": cert},
        # Buffer[]
        {"key": [enc], "passphrase": "password", "cert": [cert]},
        {"key": [raw], "cert": [cert]},
        {"key": [raw], "passphrase": "ignored", "cert": [cert]},
        # string
        {"key": s(enc), "passphrase": "password", "cert": s(cert)},
        {"key": s(raw), "cert": s(cert)},
        {"key": s(raw), "passphrase": "ignored", "cert": s(cert)},
        # string[]
        {"key": [s(enc)], "passphrase": "password", "cert": [s(cert)]},
        {"key": [s(raw)], "cert": [s(cert)]},
        {"key": [s(raw)], "passphrase": "ignored", "cert": [s(cert)]},
        # Object[]
        {"key": [{"pem": enc, "passphrase": "password"}], "cert": cert},
        {"key": [{"pem": enc, "passphrase": "password"}], "passphrase": "ignored", "cert": cert},
        {"key": [{"pem": enc}], "passphrase": "password", "cert": cert},
        {"key": [{"pem": s(enc), "passphrase": "password"}], "cert": cert},
        {"key": [{"pem": raw, "passphrase": "ignored"}], "cert": cert},
        {"key": [{"pem": s(raw), "passphrase": "ignored"}], "cert": cert},
        {"key": [{"pem": raw}], "passphrase": "ignored", "cert": cert},
        {"key": [{"pem": s(raw)}], "passphrase": "ignored", "cert": cert},
        {"key": [{"pem": raw}], "cert": cert},
        {"key": [{"pem": s(raw)}], "cert": cert},
    ]


def test_passphrase(track, openssl_keys, must_call):
    k = openssl_keys
    authorized = []
    server = tls_listen(track, {"key": k["pass"], "passphrase": "password", "cert": k["cert"], "ca": [k["cert"]],
                                "requestCert": True, "rejectUnauthorized": True},
                        lambda socket: authorized.append(socket.authorized))
    clients = list(_passphrase_clients(k))
    for options in clients:
        client = tls_connect(track, {"port": port_of(server), "host": "127.0.0.1", "rejectUnauthorized": False,
                                     **options}, must_call())
        net.once(client, "secureConnect", timeout=5)
        client.end()
        client.resume()
        assert event_flag(client, "close").wait(5)
    assert authorized == [True] * len(clients)  # each client's certificate, from its decrypted key, was verified


@pytest.mark.parametrize("form", ["missing", "missing in a list", "missing in an object", "invalid",
                                  "invalid in a list", "invalid with an object", "invalid in an object"])
def test_passphrase_wrong_or_missing_raises_at_once(openssl_keys, form):
    enc, cert = openssl_keys["pass"], openssl_keys["cert"]
    options = {
        "missing": {"key": enc},
        "missing in a list": {"key": [enc]},
        "missing in an object": {"key": [{"pem": enc}]},
        "invalid": {"key": enc, "passphrase": "invalid"},
        "invalid in a list": {"key": [enc], "passphrase": "invalid"},
        "invalid with an object": {"key": [{"pem": enc}], "passphrase": "invalid"},
        "invalid in an object": {"key": [{"pem": enc, "passphrase": "invalid"}], "passphrase": "password"},
    }[form]
    # (never OpenSSL's prompt for the passphrase on the terminal: a missing one is a wrong one)
    raises(Exception, "ERR_OSSL_BAD_DECRYPT",
           lambda: tls.connect({"port": 9, "host": "127.0.0.1", "cert": cert, "rejectUnauthorized": False, **options}),
           "error:1C800064:Provider routines::bad decrypt")


def test_passphrase_key_objects_bad_types(openssl_keys):
    enc, cert = openssl_keys["pass"], openssl_keys["cert"]
    for key, name, shown in [
            ([{"pem": 5}], "key", "type number (5)"),
            ([{"passphrase": "password"}], "key", "type dict ({'passphrase': 'password'})"),
            ({"pem": enc, "passphrase": "password"}, "key", "type dict ("),
            ([{"pem": enc, "passphrase": 5}], "passphrase", "type number (5)")]:
        error = raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda key=key: tls.createSecureContext({"key": key,
                                                                                                   "cert": cert}))
        assert ('"options.%s" property must be' % name) in str(error) and ("Received " + shown) in str(error)


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-reduced-SECLEVEL-in-cipher.js (agent11's small key is a 512-bit one made
# by openssl here)


def test_reduced_seclevel_in_cipher(openssl_keys, must_call):
    options = {"key": openssl_keys["small"], "cert": openssl_keys["small-cert"], "ciphers": "DEFAULT"}
    error = raises(Exception, "ERR_SSL_EE_KEY_TOO_SMALL", lambda: tls.createServer(options, must_call.never()))
    assert "key too small" in str(error).lower()
    # The ciphers (and their @SECLEVEL) are set before the key and certificate are loaded.
    assert tls.createServer({**options, "ciphers": "DEFAULT:@SECLEVEL=0"}, must_call.never())


def test_reduced_seclevel_default_ciphers_refuse_a_small_key(openssl_keys):
    raises(Exception, "ERR_SSL_EE_KEY_TOO_SMALL",
           lambda: tls.createServer({"key": openssl_keys["small"], "cert": openssl_keys["small-cert"]}))


@pytest.mark.xfail(strict=True, reason="OpenSSL's security level is Python's 2 here (RSA keys of 2048 bits and more), "
                   "Node 20's 1 (1024 bits do), `node` says: left as it is, a choice for the lead; "
                   "ciphers 'DEFAULT:@SECLEVEL=1' gives Node's")
def test_reduced_seclevel_a_1024_bit_key_is_taken_by_default(openssl_keys):
    tls.createServer({"key": openssl_keys["rsa1024"], "cert": openssl_keys["rsa1024-cert"]})


def test_reduced_seclevel_1_takes_a_1024_bit_key(openssl_keys):
    assert tls.createServer({"key": openssl_keys["rsa1024"], "cert": openssl_keys["rsa1024-cert"],
                             "ciphers": "DEFAULT:@SECLEVEL=1"})


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-set-ciphers.js (an RSA certificate, as agent6's: AES256-SHA needs one.
# stdlib ssl cannot choose TLS 1.3's suites: a ciphers option that would is refused at once
# (ERR_INVALID_ARG_VALUE), so those rows are strict xfails)

_NO_TLS13_CHOICE = pytest.mark.xfail(strict=True, raises=TypeError,
                                     reason="stdlib ssl cannot choose TLS 1.3 cipher suites: refused at once")


def _max_version(ciphers, options):
    if options and "maxVersion" in options:
        return options["maxVersion"]
    if isinstance(ciphers, str) and ciphers and "TLS_" not in ciphers:
        return "TLSv1.2"
    return "TLSv1.3"


_CIPHER_ROWS = [
    # (client ciphers, server ciphers, cipher, client error, server error, options)
    pytest.param(U, "AES256-SHA", "AES256-SHA", U, U, U, id="shared: server AES256-SHA"),
    pytest.param("AES256-SHA", U, "AES256-SHA", U, U, U, id="shared: client AES256-SHA"),
    pytest.param(U, "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", U, U, U, id="shared: server TLS 1.3 suite",
                 marks=_NO_TLS13_CHOICE),
    pytest.param("TLS_AES_256_GCM_SHA384", U, "TLS_AES_256_GCM_SHA384", U, U, U, id="shared: client TLS 1.3 suite",
                 marks=_NO_TLS13_CHOICE),
    pytest.param("TLS_AES_256_GCM_SHA384:!TLS_CHACHA20_POLY1305_SHA256", U, "TLS_AES_256_GCM_SHA384", U, U, U,
                 id="shared: client TLS 1.3 suite, another excluded", marks=_NO_TLS13_CHOICE),
    pytest.param("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", U, "alert", "ERR_SSL_NO_SHARED_CIPHER", U,
                 id="none shared: TLS 1.3", marks=_NO_TLS13_CHOICE),
    pytest.param("AES256-SHA", "AES256-SHA256", U, "alert", "ERR_SSL_NO_SHARED_CIPHER", U,
                 id="none shared: TLS 1.2"),
    pytest.param("AES256-SHA:TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256:AES256-SHA256", U, "alert",
                 "ERR_SSL_NO_SHARED_CIPHER", U, id="none shared: both", marks=_NO_TLS13_CHOICE),
    pytest.param("AES256-SHA:TLS_AES_256_GCM_SHA384", U, "TLS_AES_256_GCM_SHA384", U, U, U,
                 id="order ignored, TLS 1.3 first: client", marks=_NO_TLS13_CHOICE),
    pytest.param(U, "AES256-SHA:TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", U, U, U,
                 id="order ignored, TLS 1.3 first: server", marks=_NO_TLS13_CHOICE),
    pytest.param("AES256-SHA", U, "TLS_AES_256_GCM_SHA384", U, U, {"maxVersion": "TLSv1.3"},
                 id="TLS 1.2 ciphers leave TLS 1.3 on: client"),
    pytest.param(U, "AES256-SHA", "TLS_AES_256_GCM_SHA384", U, U, {"maxVersion": "TLSv1.3"},
                 id="TLS 1.2 ciphers leave TLS 1.3 on: server"),
    pytest.param("TLS_AES_128_CCM_8_SHA256", U, U, "alert", "ERR_SSL_NO_SHARED_CIPHER", U,
                 id="CCM_8 not on by default", marks=_NO_TLS13_CHOICE),
    pytest.param("TLS_AES_128_CCM_8_SHA256", "TLS_AES_128_CCM_8_SHA256", "TLS_AES_128_CCM_8_SHA256", U, U, U,
                 id="CCM_8 on both sides", marks=_NO_TLS13_CHOICE),
    pytest.param(9, "AES256-SHA", U, "ERR_INVALID_ARG_TYPE", U, U, id="client ciphers 9"),
    pytest.param("AES256-SHA", 9, U, U, "ERR_INVALID_ARG_TYPE", U, id="server ciphers 9"),
    pytest.param(":", "AES256-SHA", U, "ERR_INVALID_ARG_VALUE", U, U, id="client ciphers ':'"),
    pytest.param("AES256-SHA", ":", U, U, "ERR_INVALID_ARG_VALUE", U, id="server ciphers ':'"),
    pytest.param("TLS_AES_256_GCM_SHA384", "", "TLS_AES_256_GCM_SHA384", U, U, U, id="'' server, TLS 1.3 client",
                 marks=_NO_TLS13_CHOICE),
    pytest.param("", "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", U, U, U, id="'' client, TLS 1.3 server",
                 marks=_NO_TLS13_CHOICE),
    # ('' is the default list, Node's, which has AES256-SHA: rows of ours for what the two above check)
    pytest.param("AES256-SHA", "", "AES256-SHA", U, U, {"maxVersion": "TLSv1.2"}, id="'' server is the default"),
    pytest.param("", "AES256-SHA", "AES256-SHA", U, U, {"maxVersion": "TLSv1.2"}, id="'' client is the default"),
    pytest.param(None, "AES256-SHA", "AES256-SHA", U, U, U, id="None client"),
    pytest.param("AES256-SHA", None, "AES256-SHA", U, U, U, id="None server"),
]


@pytest.mark.parametrize("cciphers, sciphers, cipher, cerr, serr, options", _CIPHER_ROWS)
def test_set_ciphers(track, keys, cciphers, sciphers, cipher, cerr, serr, options):
    client = {"checkServerIdentity": lambda name, cert: None, "ca": [keys["rsa_ca"]],
              "ciphers": cciphers, "maxVersion": _max_version(cciphers, options)}
    server = {**keys["rsa6"], "ciphers": sciphers, "maxVersion": _max_version(sciphers, options)}
    if cerr in ("ERR_INVALID_ARG_TYPE", "ERR_INVALID_ARG_VALUE") or serr in ("ERR_INVALID_ARG_TYPE",
                                                                              "ERR_INVALID_ARG_VALUE"):
        code = cerr or serr
        if serr:
            raises(TypeError, code, lambda: tls.createServer(server))
        else:
            raises(TypeError, code, lambda: tls.connect({"port": 9, "host": "127.0.0.1", **client}))
        return
    outcome = _pair(track, client, server)
    (client_conn, client_error), (server_conn, server_error) = outcome["client"], outcome["server"]
    if cipher is None:
        assert getattr(client_error, "code", None) == (HANDSHAKE_FAILURE_ALERT if cerr == "alert" else cerr)
        assert getattr(server_error, "code", None) == serr
        return
    assert client_error is None and server_error is None
    assert client_conn.getCipher()["name"] == server_conn.getCipher()["name"] == cipher
    reply = "So long and thanks for all the fish."
    server_conn.write(reply)
    (data,) = net.once(client_conn, "data", timeout=5)
    assert bytes(data).decode() == reply


def test_set_ciphers_aes256_sha_as_node_names_it(track, keys):
    # getCipher() of the first row, as Node 20 gives it (`node` says): the IANA name of an RSA/CBC suite.
    outcome = _pair(track, {"rejectUnauthorized": False},
                    {**keys["rsa6"], "ciphers": "AES256-SHA", "maxVersion": "TLSv1.2"})
    assert outcome["client"][0].getCipher() == {"name": "AES256-SHA", "standardName": "TLS_RSA_WITH_AES_256_CBC_SHA",
                                                "version": "SSLv3"}


def test_set_ciphers_the_default_list_is_nodes(track, keys):
    assert tls.DEFAULT_CIPHERS.startswith("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:")
    outcome = _pair(track, {"rejectUnauthorized": False, "maxVersion": "TLSv1.2"}, keys["rsa6"])
    # Node's list puts ECDHE-RSA-AES128-GCM-SHA256 first among TLS 1.2's (Python's would choose AES256)
    assert outcome["server"][0].getCipher()["name"] == "ECDHE-RSA-AES128-GCM-SHA256"


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-sni-option.js (SNICallback answering after a delay.  stdlib ssl cannot go
# on past a client certificate that fails verification (README, tls): Node's server accepts those
# clients unauthorized, here the handshake fails -- strict xfails)

_SNI_UNVERIFIED = pytest.mark.xfail(strict=True, reason="with requestCert and rejectUnauthorized false a client "
                                    "certificate that fails verification fails the handshake here; Node accepts it "
                                    "unauthorized")


def _sni_contexts(keys):
    return {
        "a.example.com": {**keys["agent1"], "ca": [keys["ca2"]]},
        "b.example.com": keys["agent3"],
        "c.another.com": "empty",
    }


_SNI_OPTION_ROWS = [
    # (client key, its CA, servername, client result, server result, client error, server error)
    pytest.param("agent1", "ca1", "a.example.com", True, ("a.example.com", False), U, U, marks=_SNI_UNVERIFIED,
                 id="a.example.com, a client of another CA"),
    pytest.param("agent4", "ca1", "a.example.com", True, ("a.example.com", True), U, U,
                 id="a.example.com, a client of its CA"),
    pytest.param("agent2", "ca2", "b.example.com", True, ("b.example.com", False), U, U, marks=_SNI_UNVERIFIED,
                 id="b.example.com, a self-signed client"),
    pytest.param("agent3", "ca1", "c.wrong.com", False, ("c.wrong.com", False), U, U, marks=pytest.mark.xfail(
        strict=True, reason="the client certificate fails the handshake (as above); and with rejectUnauthorized "
        "false the server's chain is not verified here (README), so its authorizationError is the host name's"),
        id="c.wrong.com, the default context"),
    pytest.param("agent3", "ca1", "c.another.com", False, U,
                 "Client network socket disconnected before secure TLS connection was established",
                 "Invalid SNI context", marks=pytest.mark.xfail(
                     strict=True, reason="a dict from SNICallback is a context's options here (as addContext() "
                     "takes them), not Node's 'Invalid SNI context': {} has no certificate, so OpenSSL fails the "
                     "handshake and its alert reaches the client"), id="c.another.com, {} from SNICallback"),
]


@pytest.mark.parametrize("client_key, client_ca, servername, client_result, server_result, client_error, "
                         "server_error", _SNI_OPTION_ROWS)
def test_sni_option(track, keys, must_call, client_key, client_ca, servername, client_result, server_result,
                    client_error, server_error):
    contexts = _sni_contexts(keys)

    def sni_callback(name, callback):
        context = contexts.get(name)

        def answer():  # later, as Node's setTimeout: the handshake waits for it
            if context == "empty":
                callback(None, {})
            elif context is not None:
                callback(None, tls.createSecureContext(context))
            else:
                callback(None, None)

        gevent.spawn_later(0.02, answer)

    results, server_errors = [], []
    server_done = gevent.event.Event()
    server = tls_listen(track, {**keys["agent2"], "requestCert": True, "rejectUnauthorized": False,
                                "SNICallback": sni_callback},
                        lambda c: (results.append((c.servername, c.authorized)), server_done.set()))
    server.on("tlsClientError", lambda err, sock: (server_errors.append(str(err)), server_done.set()))
    verdicts, errors = [], []

    def on_secure():
        verdicts.append(client.authorizationError == "ERR_TLS_CERT_ALTNAME_INVALID")
        client.end()

    client = tls_connect(track, {**keys[client_key], "ca": [keys[client_ca]], "servername": servername,
                                 "port": port_of(server), "host": "127.0.0.1", "rejectUnauthorized": False}, on_secure)
    client.on("error", lambda error: errors.append(str(error)))
    client.resume()
    assert event_flag(client, "close").wait(5)
    assert server_done.wait(5)
    if server_result:
        assert (results, server_errors) == ([server_result], [])
        assert (verdicts, errors) == ([client_result], [])
    else:
        assert (results, server_errors) == ([], [server_error])
        assert (verdicts, errors) == ([], [client_error])


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-sni-server-client.js (addContext: a name, a wildcard, and a chain with an
# intermediate CA; the clients do not reject.  The addContext() argument checks are Node 20's, as `node`
# answers: no name is ERR_TLS_REQUIRED_SERVER_NAME and an IP address is taken -- the upstream file's
# ERR_MISSING_ARGS and IP refusal are a later Node's)

_SNI_SERVER_CLIENT_ROWS = {
    # servername: (client CA, client result, the certificate served)
    "a.example.com": ("ca1", True, "agent1"),
    "b.test.com": ("ca2", True, "agent3"),
    "a.b.test.com": ("ca2", False, "default"),
    "c.wrong.com": ("ca1", False, "default"),
    "chain.example.com": ("ca1", True, "agent6"),
}
_UNVERIFIED_SERVER = pytest.mark.xfail(strict=True, reason="with rejectUnauthorized false the server's chain is not "
                                       "verified here (stdlib ssl verifies only by failing the handshake, README): "
                                       "the self-signed default's authorizationError is the host name's, not "
                                       "DEPTH_ZERO_SELF_SIGNED_CERT")


def _sni_server(track, keys, certs):
    def on_secure(c):
        served.append((c.servername, c.authorized))

    served = []
    server = tls_listen(track, keys["agent2"], on_secure)
    server.addContext("a.example.com", keys["agent1"])
    server.addContext("*.test.com", keys["agent3"])
    server.addContext("chain.example.com", keys["agent6"])
    server.on("tlsClientError", lambda *args: pytest.fail("tlsClientError %r" % (args,)))
    return server, served


def _sni_connect(track, server, options):
    client = tls_connect(track, {**options, "port": port_of(server), "host": "127.0.0.1"})
    net.once(client, "secureConnect", timeout=5)
    return client


@pytest.mark.parametrize("servername", list(_SNI_SERVER_CLIENT_ROWS))
def test_sni_server_client_serves_the_context(track, keys, certs, servername):
    ca, _, served_cn = _SNI_SERVER_CLIENT_ROWS[servername]
    server, served = _sni_server(track, keys, certs)
    client = _sni_connect(track, server, {"ca": [keys[ca]], "servername": servername, "rejectUnauthorized": False})
    peer = client.getPeerCertificate()
    expected = certs.self_signed_cert if served_cn == "default" else keys[served_cn]["cert"]
    leaf = expected.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"  # (agent6: + CA3)
    assert peer["raw"] == ssl.PEM_cert_to_DER_cert(leaf)
    client.end()
    net.once(client, "close", timeout=5)
    if not served:
        net.once(server, "secureConnection", timeout=5)
    assert served == [(servername, False)]


@pytest.mark.parametrize("servername", [
    pytest.param(name, marks=_UNVERIFIED_SERVER) if not result else name
    for name, (_, result, _) in _SNI_SERVER_CLIENT_ROWS.items()])
def test_sni_server_client_authorization_error(track, keys, certs, servername):
    ca, client_result, _ = _SNI_SERVER_CLIENT_ROWS[servername]
    server, _ = _sni_server(track, keys, certs)
    client = _sni_connect(track, server, {"ca": [keys[ca]], "servername": servername, "rejectUnauthorized": False})
    result = client.authorizationError == "ERR_TLS_CERT_ALTNAME_INVALID"
    client.end()
    assert result is client_result


def test_sni_server_client_the_chain_is_sent(track, keys, certs):
    # (ours: what the upstream chain.example.com row is for -- with the intermediate CA sent, a client
    # trusting only CA1 verifies agent6)
    server, _ = _sni_server(track, keys, certs)
    client = _sni_connect(track, server, {"ca": [keys["ca1"]], "servername": "chain.example.com",
                                          "checkServerIdentity": lambda name, cert: None})
    assert client.authorized is True
    client.end()


def test_sni_server_client_add_context_arguments(keys):
    server = tls.createServer(keys["agent2"], lambda c: None)
    raises(Exception, "ERR_TLS_REQUIRED_SERVER_NAME", lambda: server.addContext(),
           '"servername" is required parameter for Server.addContext')
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: server.addContext(7),
           'The "servername" argument must be of type string. Received type number (7)')
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: server.addContext("a.com", 5),
           'The "options" argument must be of type object. Received type number (5)')
    server.addContext("::", keys["agent1"])  # Node 20 takes an IP address
