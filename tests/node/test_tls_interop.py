"""TLS interop with real peers: Node's ``tls`` both ways, and ``openssl s_client``/``s_server``.

Node peers are small scripts (``node_peer_support.py``) that
report JSON lines.  Covered: an echo checked by SHA-256 both ways (a few MiB;
64 MiB with NODENET_LONG=1), half-close, ALPN agreed, client certificates,
each certificate failure: a Node client and ours see the same code from
the same server, and a failed handshake's alert seen alike from our server and Node's.
"""

import hashlib
import json
import os
import shutil

import gevent
import gevent.subprocess
import pytest

import nodenet_gevent as net
from conftest import wait_until
from node_peer_support import NODE, node_peers, stop_process
from tls_support import collect, tls_connect, tls_listen

OPENSSL = shutil.which("openssl")
MIB = 1024 * 1024
ECHO_SIZE = (64 if os.environ.get("NODENET_LONG") else 4) * MIB

pytestmark = [pytest.mark.timeout(60), pytest.mark.skipif(NODE is None, reason="node is not installed")]


@pytest.fixture
def node_peer(tmp_path):
    """``node_peer(source, *args)`` starts a Node script; every one is killed when the test ends."""
    yield from node_peers(tmp_path)


NODE_CLIENT = r"""
const tls = require('tls'), fs = require('fs'), crypto = require('crypto');
const [port, size, opts] = [+process.argv[2], +process.argv[3], JSON.parse(process.argv[4])];
for (const k of ['ca', 'key', 'cert']) if (opts[k]) opts[k] = fs.readFileSync(opts[k]);
const out = {};
const c = tls.connect({port, host: '127.0.0.1', ...opts}, () => {
  out.authorized = c.authorized; out.alpn = c.alpnProtocol; out.protocol = c.getProtocol();
  const payload = crypto.randomBytes(size);
  out.sent = crypto.createHash('sha256').update(payload).digest('hex');
  c.end(payload);
});
const h = crypto.createHash('sha256'); let n = 0;
c.on('data', d => { h.update(d); n += d.length; });
c.on('end', () => { out.received = h.digest('hex'); out.n = n; });
c.on('error', e => { out.error = e.code; out.message = e.message; });
c.on('close', () => console.log(JSON.stringify(out)));
"""

NODE_SERVER = r"""
const tls = require('tls'), fs = require('fs');
const opts = JSON.parse(process.argv[2]);
for (const k of ['ca', 'key', 'cert']) if (opts[k]) opts[k] = fs.readFileSync(opts[k]);
const s = tls.createServer(opts, c => {
  const info = {authorized: c.authorized, alpn: c.alpnProtocol,
                peerCN: (c.getPeerCertificate().subject || {}).CN || null};
  c.on('end', () => { console.log(JSON.stringify(info)); });
  c.pipe(c);
});
s.on('tlsClientError', e => console.log(JSON.stringify({tlsClientError: e.code})));
s.listen(0, '127.0.0.1', () => console.log(JSON.stringify({port: s.address().port})));
"""


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def test_node_client_against_our_server(track, certs, node_peer):
    server = tls_listen(track, certs.server_options(ALPNProtocols=["h2", "http/1.1"], allowHalfOpen=True,
                                                    requestCert=True, ca=certs.ca_pem),
                        lambda c: c.pipe(c))
    seen = []
    server.on("secureConnection", lambda c: seen.append((c.authorized, c.getPeerCertificate()["subject"]["CN"])))
    options = {"ca": certs.path("ca_pem"), "servername": "localhost", "ALPNProtocols": ["http/1.1", "h2"],
               "key": certs.path("client_key"), "cert": certs.path("client_cert")}
    peer = node_peer(NODE_CLIENT, server.address()["port"], ECHO_SIZE, json.dumps(options))
    result = peer.message(timeout=50)
    assert "error" not in result, result
    assert result["authorized"] is True and result["alpn"] == "h2" and result["protocol"] == "TLSv1.3"
    assert result["n"] == ECHO_SIZE and result["received"] == result["sent"]
    assert seen == [(True, "client")]


def test_our_client_against_a_node_server(track, certs, node_peer):
    options = {"key": certs.path("key"), "cert": certs.path("cert"), "ALPNProtocols": ["h2", "http/1.1"],
               "requestCert": True, "ca": certs.path("ca_pem"), "allowHalfOpen": True}
    peer = node_peer(NODE_SERVER, json.dumps(options))
    port = peer.message()["port"]
    client = tls_connect(track, port, "127.0.0.1", certs.client_options(
        ALPNProtocols=["http/1.1", "h2"], key=certs.client_key, cert=certs.client_cert, allowHalfOpen=True))
    net.once(client, "secureConnect", timeout=10)
    assert client.authorized is True and client.alpnProtocol == "h2"
    payload = os.urandom(ECHO_SIZE)
    client.end(payload)  # half-close: the echo still comes back after our end
    assert sha256(collect(client, timeout=50)) == sha256(payload)
    assert peer.message() == {"authorized": True, "alpn": "h2", "peerCN": "client"}


CASES = {
    "self_signed": ("self_signed_key", "self_signed_cert", None),
    "expired": ("expired_key", "expired_cert", "ca_pem"),
    "other_name": ("other_key", "other_cert", "ca_pem"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_certificate_failures_are_seen_alike(track, certs, node_peer, case):
    """The same bad server certificate: Node's client and ours fail with the same code."""
    key, cert, ca = CASES[case]
    server = tls_listen(track, {"key": getattr(certs, key), "cert": getattr(certs, cert)}, lambda c: c.pipe(c))
    server_saw = []
    server.on("tlsClientError", lambda error, socket: server_saw.append(error.code))
    options = {"servername": "localhost"}
    if ca:
        options["ca"] = certs.path(ca)
    node_result = node_peer(NODE_CLIENT, server.address()["port"], 1, json.dumps(options)).message()
    wait_until(lambda: not server.open_connections, message="the server done with Node's client")
    saw_node, server_saw[:] = list(server_saw), []
    ours = tls_connect(track, {"port": server.address()["port"], "host": "127.0.0.1", "servername": "localhost",
                               **({"ca": certs.ca_pem} if ca else {})})
    error = net.once(ours, "error", timeout=5)[0]
    assert (error.code, str(error)) == (node_result["error"], node_result["message"])
    wait_until(lambda: not server.open_connections, message="the server done with our client")
    if case != "other_name":
        # A chain failure ends the handshake: the server sees either client go the same way.  (A
        # host name failure comes after it: what the server sees then depends on who is faster.)
        assert server_saw == saw_node == ["ECONNRESET"]
    # And a Node server with that certificate fails our client the same way.
    peer = node_peer(NODE_SERVER, json.dumps({"key": certs.path(key), "cert": certs.path(cert)}))
    port = peer.message()["port"]
    again = tls_connect(track, {"port": port, "host": "127.0.0.1", "servername": "localhost",
                                **({"ca": certs.ca_pem} if ca else {})})
    assert net.once(again, "error", timeout=5)[0].code == node_result["error"]


HANDSHAKE_FAILURES = {
    # case: (server options, client options); the client is told why by the server's alert
    "no shared cipher": ({"ciphers": "ECDHE-ECDSA-AES128-GCM-SHA256", "maxVersion": "TLSv1.2"},
                         {"ciphers": "ECDHE-ECDSA-AES256-GCM-SHA384", "maxVersion": "TLSv1.2"}),
    "no client certificate": ({"requestCert": True}, {}),
}


@pytest.mark.parametrize("case", sorted(HANDSHAKE_FAILURES))
def test_handshake_failures_are_told_alike(track, certs, node_peer, case):
    """A handshake the server's OpenSSL fails: its alert reaches the client, from our server as from Node's."""
    server_options, client_options = HANDSHAKE_FAILURES[case]
    ca = certs.ca_pem if server_options.get("requestCert") else None
    server = tls_listen(track, certs.server_options(**server_options, **({"ca": ca} if ca else {})),
                        lambda c: c.pipe(c))
    server_saw = []
    server.on("tlsClientError", lambda error, socket: server_saw.append(error.code))
    options = {"ca": certs.path("ca_pem"), "servername": "localhost", **client_options}
    node_result = node_peer(NODE_CLIENT, server.address()["port"], 1, json.dumps(options)).message()
    assert node_result["error"].startswith("ERR_SSL_") and "ALERT" in node_result["error"], node_result
    ours = tls_connect(track, {"port": server.address()["port"], "host": "127.0.0.1", "servername": "localhost",
                               "ca": certs.ca_pem, **client_options})
    assert net.once(ours, "error", timeout=5)[0].code == node_result["error"]
    # And a Node server with those options tells our client the same.
    node_options = {"key": certs.path("key"), "cert": certs.path("cert"), **server_options}
    if ca:
        node_options["ca"] = certs.path("ca_pem")
    peer = node_peer(NODE_SERVER, json.dumps(node_options))
    port = peer.message()["port"]
    again = tls_connect(track, {"port": port, "host": "127.0.0.1", "servername": "localhost", "ca": certs.ca_pem,
                                **client_options})
    assert net.once(again, "error", timeout=5)[0].code == node_result["error"]
    wait_until(lambda: len(server_saw) == 2, message="the server failed both handshakes")
    assert len(set(server_saw)) == 1 and server_saw[0].startswith("ERR_SSL_")


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_openssl_s_client_and_s_server(track, certs, tmp_path):
    server = tls_listen(track, certs.server_options(), lambda c: c.pipe(c))
    proc = gevent.subprocess.Popen(
        [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % server.address()["port"], "-CAfile", certs.path("ca_pem"),
         "-verify_return_error", "-quiet", "-no_ign_eof", "-verify_hostname", "localhost"],
        stdin=gevent.subprocess.PIPE, stdout=gevent.subprocess.PIPE, stderr=gevent.subprocess.PIPE)
    try:
        with gevent.Timeout(20):
            proc.stdin.write(b"hello from s_client\n")
            proc.stdin.flush()
            assert proc.stdout.readline() == b"hello from s_client\n"
            proc.stdin.close()
            assert proc.wait() == 0
    finally:
        stop_process(proc)

    proc = gevent.subprocess.Popen(
        [OPENSSL, "s_server", "-accept", "0", "-key", certs.path("key"), "-cert", certs.path("cert"), "-rev",
         "-naccept", "1"],
        stdin=gevent.subprocess.PIPE, stdout=gevent.subprocess.PIPE, stderr=gevent.subprocess.PIPE)
    try:
        with gevent.Timeout(20):
            port = None
            while port is None:
                line = proc.stdout.readline()
                assert line, proc.stderr.read()
                if line.startswith(b"ACCEPT"):
                    port = int(line.rsplit(b":", 1)[1])
            client = tls_connect(track, port, "127.0.0.1", certs.client_options())
            net.once(client, "secureConnect", timeout=10)
            assert client.authorized is True
            client.write(b"abc\n")
            data = b""
            while b"cba" not in data:
                data += net.once(client, "data", timeout=10)[0]
            client.end()
    finally:
        stop_process(proc)
