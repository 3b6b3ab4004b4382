"""Ports of nodejs/node test/parallel test-tls-*.js, second half (after test-tls-legacy-deprecated.js).

The index stores them as test/parallel/tls/<name>.js.  Ported here: test-tls-multiple-cas-as-string.js,
test-tls-reuse-host-from-socket.js, test-tls-server-connection-server.js,
test-tls-socket-allow-half-open-option.js, test-tls-sni-servername.js, test-tls-on-empty-socket.js,
test-tls-net-socket-keepalive.js, test-tls-socket-close.js, test-tls-timeout-server-2.js,
test-tls-request-timeout.js, test-tls-wrap-event-emmiter.js, test-tls-peer-certificate.js,
test-tls-socket-default-options.js, test-tls-server-verify.js, test-tls-server-parent-constructor-options.js,
test-tls-wrap-econnreset-socket.js, test-tls-wrap-econnreset-pipe.js, test-tls-options-boolean-check.js,
test-tls-retain-handle-no-abort.js, test-tls-secure-context-usage-order.js, test-tls-peer-certificate-encoding.js,
test-tls-set-ciphers-error.js, test-tls-no-rsa-key.js, test-tls-net-connect-prefer-path.js,
test-tls-wrap-econnreset-localaddress.js.
The strict xfails are what the ports found.  Node's fixtures become trustme certificates (tests/tls_support.py);
what is not ported, and why, is in NOT_PORTED.md's TLS section.
"""

import pytest

import nodenet_gevent as net
from nodenet_gevent import tls
from conftest import event_flag, raises, scratch_dir
from tls_support import HANDSHAKE_FAILURE_ALERT, tls_connect, tls_listen

pytestmark = pytest.mark.timeout(30)


def port_of(server):
    return server.address()["port"]


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-multiple-cas-as-string.js


@pytest.mark.parametrize("joined", [False, True], ids=["list", "newline-joined"])
def test_multiple_cas_as_string(track, certs, must_call, joined):
    import trustme

    other_ca = trustme.CA().cert_pem.bytes().decode()
    ca = "%s\n%s" % (other_ca, certs.ca_pem) if joined else [other_ca, certs.ca_pem]
    server = tls_listen(track, {"ca": ca, "cert": certs.other_cert, "key": certs.other_key})
    server.addContext("other.example", {"ca": ca, "cert": certs.other_cert, "key": certs.other_key})
    socket = tls_connect(track, {"servername": "other.example", "host": "127.0.0.1", "port": port_of(server),
                                 "ca": ca}, must_call(lambda: socket.end()))
    socket.on("close", must_call(lambda *_: server.close()))
    net.once(server, "close", timeout=5)
    assert socket.authorized


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-reuse-host-from-socket.js


def test_reuse_host_from_socket(track, certs, must_call):
    server = tls_listen(track, certs.server_options())

    def on_connect():
        secure = tls_connect(track, {"socket": socket, "rejectUnauthorized": False},
                             must_call(lambda: (secure.destroy(), server.close())))

    socket = track.connect(port_of(server), "127.0.0.1", must_call(on_connect))
    net.once(server, "close", timeout=5)


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-server-connection-server.js


def test_server_connection_server(track, certs, must_call):
    server = tls_listen(track, certs.server_options(), lambda s: s.end("hello"))

    def on_connection(socket):
        assert socket.server is server
        server.close()

    server.on("connection", must_call(on_connection))
    client = tls_connect(track, {"port": port_of(server), "host": "127.0.0.1", "rejectUnauthorized": False},
                         lambda: client.end())
    net.once(server, "close", timeout=5)


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-socket-allow-half-open-option.js (not the stream.Duplex block:
# a TLSSocket wraps a net.Socket here)


def test_socket_allow_half_open_option_is_ignored_over_a_net_socket():
    # Node: over a net.Socket the wrapped socket's setting decides, the option is ignored.
    assert tls.TLSSocket(net.Socket(), {"allowHalfOpen": True}).allowHalfOpen is False
    assert tls.TLSSocket(net.Socket({"allowHalfOpen": True}), {}).allowHalfOpen is True


def test_socket_allow_half_open_option():
    assert tls.TLSSocket().allowHalfOpen is False
    # The option is honoured when the `socket` argument is not given.
    assert tls.TLSSocket(None, {"allowHalfOpen": True}).allowHalfOpen is True


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-sni-servername.js


@pytest.mark.parametrize("servername", ["c.another.com", "c.wrong.com"])
def test_sni_servername_is_known_on_tls_client_error(track, certs, must_call, servername):
    def sni_callback(name, callback):
        if name == "c.another.com":
            callback(None, {})
        else:
            callback(Exception("Invalid SNI context"), None)

    server = tls_listen(track, {"requestCert": True, "rejectUnauthorized": False, "SNICallback": sni_callback},
                        must_call.never("secureConnection"))
    seen = []
    server.on("tlsClientError", must_call(lambda err, socket: seen.append((str(err), socket.servername))))
    client = tls_connect(track, {"port": port_of(server), "host": "127.0.0.1", "servername": servername,
                                 "rejectUnauthorized": False}, must_call.never("secureConnect"))
    errors = []
    client.on("error", must_call(errors.append))
    client.on("close", must_call(lambda *_: server.close()))
    net.once(server, "close", timeout=5)
    (message, name), = seen
    assert name == servername
    if servername == "c.wrong.com":
        assert message == "Invalid SNI context"
    else:
        # Node's C++ layer refuses {} as "Invalid SNI context"; here a dict is a SecureContext's options
        # (as addContext() takes them), and one with no certificate fails the handshake in OpenSSL,
        # whose alert the client gets (as from any handshake OpenSSL fails).
        assert message == "error:SSL routines::no suitable signature algorithm"
        assert errors[0].code == HANDSHAKE_FAILURE_ALERT
        return
    assert "Client network socket disconnected before secure TLS connection was established" in str(errors[0])


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-on-empty-socket.js


def test_on_empty_socket(track, certs, must_call):
    server = tls_listen(track, certs.server_options(), lambda c: c.end("hello"))
    out = []

    def on_secure():
        s.on("data", lambda chunk: out.append(bytes(chunk)))
        s.on("end", must_call(lambda: (s.destroy(), server.close())))

    socket = net.Socket()
    track.sockets.append(socket)
    s = tls_connect(track, {"socket": socket, "rejectUnauthorized": False}, must_call(on_secure))
    socket.connect(port_of(server), "127.0.0.1")
    net.once(server, "close", timeout=5)
    assert b"".join(out) == b"hello"


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-net-socket-keepalive.js (TLS over an allowHalfOpen net.Socket connected
# after tls.connect(): it must not hang)


def test_net_socket_keepalive(track, certs, must_call):
    def on_secure(conn):
        conn.write("hello", must_call())
        conn.on("data", must_call())
        conn.on("end", must_call())
        conn.on("close", must_call())
        conn.end()

    server = tls_listen(track, {**certs.server_options(), "ca": [certs.ca_pem]}, must_call(on_secure))
    net_socket = net.Socket({"allowHalfOpen": True})
    track.sockets.append(net_socket)
    socket = tls_connect(track, {"socket": net_socket, "rejectUnauthorized": False})
    net_socket.connect({"port": port_of(server), "host": "127.0.0.1"})
    socket.on("secureConnect", must_call())
    socket.on("end", must_call())
    socket.on("data", must_call())
    socket.on("close", must_call(lambda *_: server.close()))
    socket.write("hello")
    socket.end()
    net.once(server, "close", timeout=5)


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-socket-close.js (a plain server hands its connections to a TLS server;
# destroying the plain socket destroys the TLS one on it.  Node's setImmediate-by-setImmediate
# timing of the two 'close' events is its event loop's: what is checked is their order)


@pytest.mark.xfail(strict=True, reason="the wrapped net.Socket is destroyed when the TLSSocket takes its descriptor "
                   "over (STARTTLS moves the connection here), so it closes before 'secureConnection' and cannot "
                   "close the TLS socket later, as Node's net socket under its TLSSocket does")
def test_socket_close(track, certs):
    tls_server = tls.createServer(certs.server_options())
    track.servers.append(tls_server)
    server_tls = []
    closes = []
    tls_server.on("secureConnection", lambda socket: (
        server_tls.append(socket), socket.on("close", lambda *_: closes.append("server tls"))))
    net_sockets = []

    def on_connection(socket):
        net_sockets.append(socket)
        tls_server.emit("connection", socket)

        def on_close(*_):
            closes.append("net")
            assert server_tls[0].destroyed

        socket.on("close", on_close)

    net_server = track.listen(on_connection)
    client = tls_connect(track, {"host": "localhost", "port": port_of(net_server), "rejectUnauthorized": False})
    client.on("close", lambda *_: closes.append("client"))
    net.once(tls_server, "secureConnection", timeout=1)

    def on_timeout():
        net_sockets[0].destroy()
        assert net_sockets[0].destroyed

    client.write("foo", "utf8", lambda *_: net_sockets[0].setTimeout(10, on_timeout))
    net.once(client, "close", timeout=5)
    net_server.close()
    for name, emitter in (("net", net_sockets[0]), ("server tls", server_tls[0])):
        if name not in closes:
            net.once(emitter, "close", timeout=5)
    assert sorted(closes) == ["client", "net", "server tls"]


def test_a_net_socket_emitted_as_connection_is_secured(track, certs):
    # Node's tls.Server listens to its own 'connection' (the documented way to hand it a socket).
    tls_server = tls.createServer(certs.server_options(), lambda s: s.pipe(s))
    track.servers.append(tls_server)
    secured = event_flag(tls_server, "secureConnection")
    net_server = track.listen(lambda sock: tls_server.emit("connection", sock))
    client = tls_connect(track, {"host": "localhost", "port": port_of(net_server), "ca": certs.ca_pem})
    got = []
    client.on("data", got.append)
    client.end(b"through a net.Server")
    net.once(client, "end", timeout=5)
    assert b"".join(got) == b"through a net.Server"
    assert secured.wait(5) and isinstance(secured.args[0], tls.TLSSocket) and client.authorized


def test_a_failed_handshake_of_an_emitted_socket_is_a_tls_client_error(track, certs):
    tls_server = tls.createServer(certs.server_options())
    track.servers.append(tls_server)
    failed = event_flag(tls_server, "tlsClientError")
    net_server = track.listen(lambda sock: tls_server.emit("connection", sock))
    raw = track.connect(port_of(net_server), "127.0.0.1")
    raw.end(b"GET / HTTP/1.0\r\n\r\n")  # not TLS
    assert failed.wait(5)
    error, sock = failed.args
    assert isinstance(sock, tls.TLSSocket) and getattr(error, "code", "").startswith("ERR_SSL_")


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-timeout-server-2.js


def test_timeout_server_2(track, certs, must_call):
    def on_secure(cleartext):
        s = cleartext.setTimeout(50, must_call(lambda: (cleartext.destroy(), server.close())))
        assert isinstance(s, tls.TLSSocket)

    server = tls_listen(track, certs.server_options(), must_call(on_secure))
    tls_connect(track, {"host": "127.0.0.1", "port": port_of(server), "rejectUnauthorized": False})
    net.once(server, "close", timeout=5)


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-request-timeout.js


def test_request_timeout(track, certs, must_call):
    def on_secure(socket):
        s = socket.setTimeout(100)
        assert isinstance(s, tls.TLSSocket)
        socket.on("timeout", must_call(lambda: (socket.end(), server.close())))

    server = tls_listen(track, certs.server_options(), must_call(on_secure))
    tls_connect(track, {"port": port_of(server), "host": "127.0.0.1", "rejectUnauthorized": False})
    net.once(server, "close", timeout=5)


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-wrap-event-emmiter.js (a TypeError, not a crash)


def test_wrap_event_emitter_is_a_type_error():
    import pyee

    with pytest.raises(TypeError) as info:
        tls.TLSSocket(pyee.EventEmitter())
    assert info.value.code == "ERR_INVALID_ARG_TYPE"


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-peer-certificate.js (in part: stdlib ssl gives neither the peer's chain
# nor its public key -- no bits/modulus/exponent/pubkey/asn1Curve/infoAccess, README; the values are
# computed from the trustme certificate instead of Node's fixtures' constants)


def test_peer_certificate(track, certs, must_call):
    import hashlib
    import ssl

    from cryptography import x509

    server = tls_listen(track, certs.server_options())
    socket = tls_connect(track, {"port": port_of(server), "host": "127.0.0.1", "rejectUnauthorized": False})
    net.once(socket, "secureConnect", timeout=5)
    peer = socket.getPeerCertificate()
    assert "issuerCertificate" not in peer
    peer = socket.getPeerCertificate(True)
    der = ssl.PEM_cert_to_DER_cert(certs.cert)
    assert peer["raw"] == der
    assert peer["ca"] is False
    serial = "%X" % x509.load_der_x509_certificate(der).serial_number
    assert peer["serialNumber"] == serial.zfill(len(serial) + len(serial) % 2)  # whole bytes, as OpenSSL's

    def colons(digest):
        return ":".join("%02X" % byte for byte in digest)

    assert peer["fingerprint"] == colons(hashlib.sha1(der).digest())
    assert peer["fingerprint256"] == colons(hashlib.sha256(der).digest())
    assert peer["fingerprint512"] == colons(hashlib.sha512(der).digest())


def test_peer_certificate_self_issued_is_its_own_issuer(track, certs):
    server = tls_listen(track, {"key": certs.self_signed_key, "cert": certs.self_signed_cert})
    socket = tls_connect(track, {"port": port_of(server), "host": "127.0.0.1", "rejectUnauthorized": False})
    net.once(socket, "secureConnect", timeout=5)
    peer = socket.getPeerCertificate(True)
    assert peer["ca"] is True
    assert peer["issuerCertificate"] is peer


def test_peer_certificate_no_local_certificate_is_an_empty_dict(track, certs):
    server = tls_listen(track, certs.server_options())
    socket = tls_connect(track, {"port": port_of(server), "host": "127.0.0.1", "rejectUnauthorized": False})
    net.once(socket, "secureConnect", timeout=5)
    assert socket.getCertificate() == {}


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-socket-default-options.js (in part: Node's bare TLSSocket never rejects
# and the test reads the verdict with the internal ssl.verifyError(); stdlib ssl cannot carry on past
# a failed verification (README), so here the verdict is whether 'secure' or 'error' comes)


@pytest.mark.parametrize("kind", ["none", "empty", "secureContext with ca", "ca", "secureContext without ca"])
def test_socket_default_options(track, certs, must_call, kind):
    client = {
        "none": None,
        "empty": {},
        "secureContext with ca": {"secureContext": tls.createSecureContext({"ca": certs.ca_pem})},
        "ca": {"ca": certs.ca_pem},
        # Context options such as ca are ignored when a secureContext is given.
        "secureContext without ca": {"secureContext": tls.createSecureContext(), "ca": certs.ca_pem},
    }[kind]
    verified = kind in ("secureContext with ca", "ca")
    server = tls_listen(track, certs.server_options())
    received = []
    if verified:
        def on_secure_connection(conn):
            conn.on("data", lambda data: received.append(bytes(data)))
            conn.on("end", must_call(lambda: server.close()))

        server.once("secureConnection", must_call(on_secure_connection))
    socket = tls.TLSSocket(None, client)
    track.sockets.append(socket)
    socket.connect(port_of(server), "127.0.0.1")
    socket.on("connect", must_call(lambda: socket.end("hello")))
    if verified:
        net.once(server, "close", timeout=5)
        assert b"".join(received) == b"hello"
    else:
        error = net.once(socket, "error", timeout=5)[0]
        assert error.code == "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"


def test_a_client_tls_socket_emits_secure(track, certs):
    # Node emits 'secure' on every TLSSocket (tls.connect() turns it into 'secureConnect').
    server = tls_listen(track, certs.server_options())
    socket = tls.TLSSocket(None, {"ca": certs.ca_pem})
    track.sockets.append(socket)
    order = []
    for event in ("secure", "secureConnect"):
        socket.on(event, lambda event=event: order.append((event, socket.authorized)))
    socket.connect(port_of(server), "127.0.0.1")
    net.once(socket, "secureConnect", timeout=5)
    assert order == [("secure", True), ("secureConnect", True)]


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-server-verify.js (in part: our tls client in place of `openssl s_client`;
# not the renegotiation case -- stdlib ssl cannot renegotiate -- nor the CRL one -- `crl` is refused)

_SERVER_VERIFY_CASES = {
    # title: (requestCert, rejectUnauthorized, CAs, {client: True authed / False accepted unauthed / None rejected})
    "no certificates asked": (False, False, ["ca1"], {"agent1": False, "agent2": False, "agent3": False,
                                                      "nocert": False}),
    # Node accepts agent2 and agent3 unauthed; stdlib ssl cannot go on past a client certificate that fails
    # verification (README, tls), so here they are rejected: what is checked is that rule.
    "authed and unauthed with CA1": (True, False, ["ca1"], {"agent1": True, "agent2": None, "agent3": None,
                                                            "nocert": False}),
    "only authed with CA1": (True, True, ["ca1"], {"agent1": True, "agent2": None, "agent3": None, "nocert": None}),
    "only authed with CA1 and CA2": (True, True, ["ca1", "ca2"], {"agent1": True, "agent2": None, "agent3": True,
                                                                  "nocert": None}),
}


@pytest.fixture(scope="module")
def agents(certs):
    """Node's client keys: agent1 signed by CA1 (certs.ca), agent2 self-signed, agent3 signed by CA2."""
    import trustme

    ca2 = trustme.CA()
    agent3 = ca2.issue_cert("agent3.example", common_name="agent3")
    return {
        "ca1": certs.ca_pem,
        "ca2": ca2.cert_pem.bytes().decode(),
        "agent1": {"key": certs.client_key, "cert": certs.client_cert},
        "agent2": {"key": certs.self_signed_key, "cert": certs.self_signed_cert},
        "agent3": {"key": agent3.private_key_pem.bytes().decode(), "cert": agent3.cert_chain_pems[0].bytes().decode()},
        "nocert": {},
    }


@pytest.mark.parametrize("title", list(_SERVER_VERIFY_CASES))
def test_server_verify(track, certs, agents, title):
    request_cert, reject_unauthorized, cas, clients = _SERVER_VERIFY_CASES[title]

    def on_secure(c):
        c.on("error", lambda error: None)  # the client may hang up first, as s_client is killed upstream
        c.write("\n_authed\n" if c.authorized else "\n_unauthed\n")

    server = tls_listen(track, {**certs.server_options(), "ca": [agents[name] for name in cas],
                                "requestCert": request_cert, "rejectUnauthorized": reject_unauthorized}, on_secure)
    outcome = {}
    for name in clients:
        client = tls_connect(track, {"port": port_of(server), "host": "127.0.0.1", "rejectUnauthorized": False,
                                     **agents[name]})
        received = []
        client.on("data", lambda chunk, received=received, client=client: (received.append(bytes(chunk)),
                                                                            client.end()))
        client.on("error", lambda error: None)  # a rejected client sees the server's alert or hang-up
        assert event_flag(client, "close").wait(5)
        text = b"".join(received)
        outcome[name] = True if b"_authed" in text else False if b"_unauthed" in text else None
    assert outcome == clients  # True: authed, False: accepted unauthed, None: rejected


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-server-parent-constructor-options.js


@pytest.mark.parametrize("half_open", [False, True])
def test_server_parent_constructor_options(track, certs, must_call, half_open):
    def on_secure(socket):
        assert socket.allowHalfOpen is half_open
        assert socket.isPaused() is half_open
        if half_open:
            socket.on("end", socket.end)
            socket.resume()

    options = {"allowHalfOpen": True, "pauseOnConnect": True} if half_open else {}
    server = tls_listen(track, certs.server_options(**options), must_call(on_secure))
    socket = tls_connect(track, {"port": port_of(server), "host": "127.0.0.1", "rejectUnauthorized": False},
                         must_call(lambda: socket.end()))
    socket.on("close", lambda *_: server.close())
    net.once(server, "close", timeout=5)


def test_server_parent_constructor_options_are_properties(certs):
    assert tls.createServer(certs.server_options()).allowHalfOpen is False
    server = tls.createServer(certs.server_options(allowHalfOpen=True, pauseOnConnect=True))
    assert server.allowHalfOpen is True
    assert server.pauseOnConnect is True


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-wrap-econnreset-socket.js and -wrap-econnreset-pipe.js (the pipe one
# without its child process: the socket file is in a scratch directory removed at exit)


def _econnreset(track, client, server):
    closed = []
    client.on("close", closed.append)
    (error,) = net.once(client, "error", timeout=5)
    server.close()
    if not closed:
        net.once(client, "close", timeout=5)
    assert error.code == "ECONNRESET"
    return error


def _over_a_given_socket(track):
    server = track.listen(lambda c: c.end())
    socket = net.Socket()
    track.sockets.append(socket)
    client = tls_connect(track, {"socket": socket})
    socket.connect(port_of(server), "127.0.0.1")
    return _econnreset(track, client, server)


def _over_a_pipe(track):
    import os

    path = os.path.join(scratch_dir(), "tls.sock")
    server = net.createServer(lambda c: c.end())
    track.servers.append(server)
    server.listen(path)
    net.once(server, "listening", timeout=5)
    return path, _econnreset(track, client=tls_connect(track, {"path": path}), server=server)


def test_wrap_econnreset_socket(track):
    _over_a_given_socket(track)


def test_wrap_econnreset_pipe(track):
    _over_a_pipe(track)


def test_wrap_econnreset_socket_error_has_no_address(track):
    error = _over_a_given_socket(track)
    for attribute in ("path", "host", "port", "localAddress"):
        assert getattr(error, attribute, None) is None


def test_wrap_econnreset_pipe_error_has_the_path(track):
    path, error = _over_a_pipe(track)
    assert getattr(error, "path", None) == path
    for attribute in ("host", "port", "localAddress"):
        assert getattr(error, attribute, None) is None


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-options-boolean-check.js (Python's types for Node's: bytes, bytearray and
# memoryview are Buffer, ArrayBuffer and DataView; None is Node's null/undefined.  False and 0, which
# Node takes as "not given", are refused here as any non-PEM value is: our rule, NOT_PORTED.md)


def _key_cert_pairs(certs):
    key, cert, key2, cert2 = certs.key, certs.cert, certs.other_key, certs.other_cert
    kb, cb = key.encode(), cert.encode()
    return [
        (kb, cb), (key, cert), (None, None), (bytearray(kb), bytearray(cb)), (memoryview(kb), memoryview(cb)),
        ([kb, key2.encode()], [cb, cert2.encode()]), ([key, key2], [cert, cert2]),
    ]  # (a key without its certificate, or the reverse, raises at once here: our rule, NOT_PORTED.md)


def test_options_boolean_check_good_key_and_cert(certs):
    for key, cert in _key_cert_pairs(certs):
        tls.createServer({"key": key, "cert": cert})


def _type_message(name, shown):
    return ('The "options.%s" property must be of type string or an instance of Buffer, TypedArray, or DataView. '
            "Received %s" % (name, shown))


def test_options_boolean_check_bad_key_cert_and_ca(certs):
    kb, cb, key2, cert2 = certs.key.encode(), certs.cert.encode(), certs.other_key, certs.other_cert.encode()
    bad_keys = [(True, cb), (True, certs.cert), (True, bytearray(cb)), (True, memoryview(cb)), (True, None),
                ([kb, True], [cb, cert2]), ([True, key2], [certs.cert, certs.other_cert]), ([True, False], [cb, cert2]),
                (True, [cb, cert2])]
    for key, cert in bad_keys:
        raises(TypeError, "ERR_INVALID_ARG_TYPE",
               lambda key=key, cert=cert: tls.createServer({"key": key, "cert": cert}),
               _type_message("key", "type boolean (True)"))
    bad_certs = [(kb, True), (certs.key, True), (bytearray(kb), True), (memoryview(kb), True), (None, True),
                 ([kb, key2.encode()], [True, cert2]), ([certs.key, key2], [certs.cert, True]),
                 ([certs.key, key2], True)]
    for key, cert in bad_certs:
        raises(TypeError, "ERR_INVALID_ARG_TYPE",
               lambda key=key, cert=cert: tls.createServer({"key": key, "cert": cert}),
               _type_message("cert", "type boolean (True)"))
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: tls.createServer({"key": kb, "cert": 1}),
           _type_message("cert", "type number (1)"))
    for ca, shown in [(True, "type boolean (True)"), ({}, "type dict ({})"), (1, "type number (1)"),
                      ([certs.ca_pem, True], "type boolean (True)")]:
        raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda ca=ca: tls.createServer({"key": kb, "cert": cb, "ca": ca}),
               _type_message("ca", shown))


def test_options_boolean_check_good_ca(certs, agents):
    kb, cb, ca, ca2 = certs.key.encode(), certs.cert.encode(), certs.ca_pem, agents["ca2"]
    for value in [ca.encode(), [ca.encode(), ca2.encode()], ca, [ca, ca2], bytearray(ca.encode()),
                  memoryview(ca.encode()), None]:
        tls.createServer({"key": kb, "cert": cb, "ca": value})
    tls.createSecureContext({"key": None, "cert": None, "ca": None})


def test_options_boolean_check_key_objects(certs):
    # (with their certificates: a key without its certificate raises at once here, our rule)
    tls.createServer({"key": [{"pem": certs.key.encode()}], "cert": certs.cert})
    tls.createServer({"key": [{"pem": certs.key.encode()}, {"pem": certs.other_key.encode()}],
                      "cert": [certs.cert, certs.other_cert]})


@pytest.mark.parametrize("falsy", ["", b"", False, 0, []])
def test_options_boolean_check_empty_strings_are_not_given(falsy):
    # Node: only the truth of key/cert/ca counts; a falsy one is not given.
    context = tls.createSecureContext({"key": falsy, "cert": falsy, "ca": falsy})
    assert context.context.verify_mode.name == "CERT_REQUIRED"  # a client context: no key, the default roots


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-retain-handle-no-abort.js (util.inspect(c.ssl) becomes repr() of the socket;
# Node's bare TLSSocket never verifies the server, ours does unless told not to: see socket-default-options)


def test_retain_handle_no_abort(track, certs, must_call):
    received = []

    def on_secure(s):
        s.on("data", lambda data: received.append(bytes(data)))
        s.on("end", must_call(lambda: (server.close(), s.destroy())))

    server = tls_listen(track, certs.server_options(), must_call(on_secure))
    c = tls.TLSSocket(None, {"rejectUnauthorized": False})
    track.sockets.append(c)
    c.connect(port_of(server), "127.0.0.1", must_call(lambda: c.end("hello world")))
    net.once(server, "close", timeout=5)
    assert b"".join(received) == b"hello world"
    assert repr(c)


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-secure-context-usage-order.js (the most recently added matching context is
# chosen.  Node accepts the 'a' client unauthorized under the context whose CA did not sign its
# certificate; stdlib ssl fails that handshake instead (README, tls): our rule, checked here)


def test_secure_context_usage_order(track, certs, agents, must_call):
    authorized = []
    server = tls_listen(track, certs.server_options(requestCert=True, rejectUnauthorized=False),
                        lambda c: authorized.append((c.servername, c.authorized)))
    client_errors = []
    server.on("tlsClientError", lambda error, socket: client_errors.append(socket.servername))
    bad = {"key": certs.other_key, "cert": certs.other_cert, "ca": [agents["ca2"]]}
    good = {"key": certs.other_key, "cert": certs.other_cert, "ca": [certs.ca_pem]}
    server.addContext("*.example.com", bad)
    options = {"port": port_of(server), "host": "127.0.0.1", "key": certs.client_key, "cert": certs.client_cert,
               "ca": [certs.ca_pem], "rejectUnauthorized": False}

    def connect(servername):
        client = tls_connect(track, {**options, "servername": servername})
        client.on("secureConnect", lambda: client.end())
        client.on("error", lambda error: None)  # the 'a' client: its certificate is refused
        net.once(client, "close", timeout=5)

    connect("a.example.com")
    server.addContext("*.example.com", good)
    connect("b.example.com")
    connect("b.example.com")  # (the list of contexts is not reversed in place by each look-up)
    assert client_errors == ["a.example.com"]
    assert authorized == [("b.example.com", True), ("b.example.com", True)]


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-peer-certificate-encoding.js (trustme makes the UTF-8 common name that
# Node's agent5 fixture has)


def test_peer_certificate_encoding(track, certs, must_call):
    leaf = certs.ca.issue_cert("localhost", common_name="Ádám Lippai")
    options = {"key": leaf.private_key_pem.bytes().decode(), "cert": leaf.cert_chain_pems[0].bytes().decode()}
    server = tls_listen(track, options, lambda cleartext: (cleartext.resume(), cleartext.end("World")))

    def on_secure():
        assert socket.getPeerCertificate()["subject"]["CN"] == "Ádám Lippai"
        server.close()

    socket = tls_connect(track, {"port": port_of(server), "host": "127.0.0.1", "rejectUnauthorized": False},
                         must_call(on_secure))
    socket.end("Hello")
    socket.resume()  # (Node's test does not wait for the server's 'close'; here both sides read to the end)
    net.once(server, "close", timeout=5)


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-set-ciphers-error.js


@pytest.mark.parametrize("ciphers", ["aes256-sha", "FOOBARBAZ", "TLS_not_a_cipher"])
def test_set_ciphers_error(certs, ciphers):
    with pytest.raises(Exception, match=r"(?i)no[_ ]cipher[_ ]match") as info:
        tls.createServer(certs.server_options(ciphers=ciphers), lambda c: pytest.fail("no connection expected"))
    assert info.value.code == "ERR_SSL_NO_CIPHER_MATCH"


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-no-rsa-key.js (trustme's keys are EC ones; its subject has no C=US, so
# the subject checked is trustme's organisation)


def test_no_rsa_key(track, certs, must_call):
    assert "BEGIN EC PRIVATE KEY" in certs.key
    server = tls_listen(track, certs.server_options(), lambda conn: conn.end("ok"))
    received = []

    def on_secure():
        c.on("end", must_call(lambda: (c.end(), server.close())))
        c.on("data", lambda data: received.append(bytes(data)))
        assert c.getPeerCertificate()["subject"]["O"] == "trustme v1.2.1"

    c = tls_connect(track, port_of(server), "127.0.0.1", {"rejectUnauthorized": False}, must_call(on_secure))
    net.once(server, "close", timeout=5)
    assert b"".join(received) == b"ok"


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-net-connect-prefer-path.js (net and tls both ignore host and port when a
# path is given)


@pytest.mark.parametrize("lib", ["net", "tls"])
def test_net_connect_prefer_path(track, certs, must_call, lib):
    import os

    module = net if lib == "net" else tls

    def make_server(path=None):
        def handler(socket):
            address = server.address()
            socket.write("%s:%s" % (lib, address["port"] if isinstance(address, dict) else address))
            socket.end()

        server = module.createServer(certs.server_options(), handler) if lib == "tls" else net.createServer(handler)
        track.servers.append(server)
        server.listen(path) if path else server.listen(0, "127.0.0.1")
        net.once(server, "listening", timeout=5)
        return server

    tcp_server = make_server()
    unix_server = make_server(os.path.join(scratch_dir(), "prefer.sock"))
    received = []

    def on_connect():
        client.on("data", must_call(lambda d: received.append(bytes(d))))

    options = {"path": unix_server.address(), "port": port_of(tcp_server), "host": "localhost"}
    if lib == "tls":
        options["rejectUnauthorized"] = False  # (net.connect() refuses an option it does not know)
    client = module.connect(options, must_call(on_connect))
    track.sockets.append(client)
    net.once(client, "end", timeout=5)
    assert b"".join(received).decode() == "%s:%s" % (lib, unix_server.address())


# ---------------------------------------------------------------------------
# Node: test/parallel/test-tls-wrap-econnreset-localaddress.js


def _reset_with_local_address(track):
    server = track.listen(lambda c: c.end())
    port = port_of(server)
    client = tls_connect(track, {"port": port, "family": 4, "localAddress": "127.0.0.1"})
    return port, _econnreset(track, client, server)


def test_wrap_econnreset_localaddress(track):
    port, error = _reset_with_local_address(track)
    assert getattr(error, "path", None) is None
    assert error.port == port


def test_wrap_econnreset_localaddress_error_has_the_local_address(track):
    _, error = _reset_with_local_address(track)
    assert getattr(error, "localAddress", None) == "127.0.0.1"
    assert getattr(error, "host", None) is None
