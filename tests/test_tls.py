"""nodenet_gevent.tls over loopback: our server and our client, certificates from trustme.

Handshake and events, data both ways, half-close, pause and back-pressure,
the certificate checks with Node's codes, handshakeTimeout, 'tlsClientError',
ALPN, SNI, client certificates, STARTTLS and the options checked at once.
"""

import hashlib
import os

import gevent
import pytest

import nodenet_gevent as net
from nodenet_gevent import tls
from conftest import event_flag, raises, wait_until
from tls_support import collect, first_error, tls_connect, tls_listen

pytestmark = pytest.mark.timeout(30)


def echo(sock):
    sock.pipe(sock)


def test_handshake_events_and_echo(track, certs, must_call):
    order = []

    def on_secure(c):
        order.append("secureConnection")
        assert c.encrypted is True and isinstance(c, net.Socket) and isinstance(c, tls.TLSSocket)
        assert c.authorized is False  # no client certificate was asked for
        c.pipe(c)

    server = tls_listen(track, certs.server_options(), on_secure)
    server.on("connection", lambda c: order.append("connection"))
    client = tls_connect(track, server.address()["port"], "127.0.0.1", certs.client_options())
    client.on("connect", must_call(lambda: order.append("connect")))
    client.write(b"sent before the handshake ended; ")
    net.once(client, "secureConnect", timeout=5)
    assert client.authorized is True and client.authorizationError is None
    assert client.getProtocol() == "TLSv1.3"
    cipher = client.getCipher()
    assert cipher["version"] == "TLSv1.3" and cipher["name"] == cipher["standardName"]
    payload = os.urandom(3 * 1024 * 1024)
    client.end(payload)
    received = collect(client)
    early = b"sent before the handshake ended; "
    assert received[: len(early)] == early
    assert hashlib.sha256(received[len(early) :]).digest() == hashlib.sha256(payload).digest()
    net.once(client, "close", timeout=5)
    assert order[:2] == ["connect", "connection"] or order[:2] == ["connection", "connect"]
    assert "secureConnection" in order


def test_peer_certificate_has_nodes_shape(track, certs):
    server = tls_listen(track, certs.server_options(), echo)
    client = tls_connect(track, {"port": server.address()["port"], "host": "localhost", "ca": certs.ca_pem})
    assert client.getPeerCertificate() is None  # before the handshake
    net.once(client, "secureConnect", timeout=5)
    peer = client.getPeerCertificate()
    assert peer["subjectaltname"] == "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"
    assert peer["subject"]["O"].startswith("trustme") and peer["issuer"]["OU"].startswith("Testing CA")
    assert peer["ca"] is False
    assert peer["valid_from"].endswith("GMT") and len(peer["valid_to"].split()) == 5
    import ssl

    der = ssl.PEM_cert_to_DER_cert(certs.cert)
    assert peer["raw"] == der
    assert peer["fingerprint256"] == ":".join("%02X" % b for b in hashlib.sha256(der).digest())
    assert len(peer["fingerprint"].split(":")) == 20 and len(peer["fingerprint512"].split(":")) == 64
    assert int(peer["serialNumber"], 16) > 0
    assert client.getCertificate() == {}  # a client with no certificate of its own (Node's {})
    client.end()


def test_get_certificate_is_the_one_presented(track, certs):
    """stdlib ssl does not give our own certificate back: it is read from the context's cert option,
    the one SNI chose included, and equals what the peer received."""
    other = certs.ca.issue_cert("other.example")
    other_options = {"key": other.private_key_pem.bytes(), "cert": b"".join(b.bytes() for b in other.cert_chain_pems)}
    own = {}

    def on_secure(c):
        own[c.servername or "default"] = c.getCertificate()
        c.end()

    server = tls_listen(track, certs.server_options(), on_secure)
    server.addContext("other.example", other_options)
    for servername in (None, "other.example"):
        options = {"port": server.address()["port"], "host": "127.0.0.1", "ca": certs.ca_pem}
        if servername:
            options.update(servername=servername)
        client = tls_connect(track, options)
        client.resume()
        net.once(client, "secureConnect", timeout=5)
        peer = client.getPeerCertificate()
        net.once(client, "close", timeout=5)
        mine = own[servername or "default"]
        assert mine["fingerprint256"] == peer["fingerprint256"] and mine["subjectaltname"] == peer["subjectaltname"]
    assert own["other.example"]["subjectaltname"] == "DNS:other.example"
    assert client.getCertificate() is None  # closed: Node's null


def test_half_close_both_ways(track, certs):
    """allowHalfOpen: the client's close_notify + FIN ends the server's read side only."""
    seen = []

    def on_secure(c):
        def on_end():
            seen.append("server end")
            c.end(b"reply after your end")

        c.on("data", lambda data: seen.append(data))
        c.on("end", on_end)

    server = tls_listen(track, certs.server_options(allowHalfOpen=True), on_secure)
    client = tls_connect(track, server.address()["port"], "127.0.0.1", certs.client_options(allowHalfOpen=True))
    net.once(client, "secureConnect", timeout=5)
    client.end(b"question")
    assert collect(client) == b"reply after your end"
    assert seen == [b"question", "server end"]
    net.once(client, "close", timeout=5)


def test_pause_and_back_pressure(track, certs):
    """A paused TLS server stops reading; the client's write() returns False, 'drain' follows resume()."""
    accepted = []
    server = tls_listen(track, certs.server_options(), lambda c: (c.pause(), accepted.append(c)))
    client = tls_connect(track, server.address()["port"], "127.0.0.1", certs.client_options())
    net.once(client, "secureConnect", timeout=5)
    chunk = b"z" * 65536
    writes = 0
    while client.write(chunk):
        writes += 1
        assert writes < 2000, "write() never reported back-pressure"
        gevent.sleep(0)
    gevent.sleep(0.05)
    got = []
    accepted[0].on("data", got.append)
    accepted[0].resume()
    net.once(client, "drain", timeout=10)
    client.end()
    net.once(accepted[0], "end", timeout=10)
    assert sum(map(len, got)) == (writes + 1) * len(chunk)


@pytest.mark.parametrize(
    "case, code, message",
    [
        ("self_signed", "DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"),
        ("expired", "CERT_HAS_EXPIRED", "certificate has expired"),
        ("no_ca", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "unable to get local issuer certificate"),
        (
            "other_name",
            "ERR_TLS_CERT_ALTNAME_INVALID",
            "Hostname/IP does not match certificate's altnames: Host: localhost. is not in the cert's altnames: "
            "DNS:other.example",
        ),
    ],
)
def test_verification_failures_have_nodes_codes(track, certs, case, code, message):
    key, cert = {
        "self_signed": (certs.self_signed_key, certs.self_signed_cert),
        "expired": (certs.expired_key, certs.expired_cert),
        "no_ca": (certs.key, certs.cert),
        "other_name": (certs.other_key, certs.other_cert),
    }[case]
    server = tls_listen(track, {"key": key, "cert": cert}, echo)
    client_errors = []
    server.on("tlsClientError", lambda error, sock: client_errors.append(error))
    options = {"port": server.address()["port"], "host": "localhost"}
    if case not in ("no_ca", "self_signed"):
        options["ca"] = certs.ca_pem
    client = tls_connect(track, options)
    client.on("secureConnect", lambda: pytest.fail("secureConnect despite a bad certificate"))
    closed = event_flag(client, "close")
    error = first_error(client)
    assert error.code == code and str(error) == message
    assert closed.wait(5) and closed.args == (True,)
    # The server goes on: a good client still gets through.
    if case == "other_name":
        assert error.host == "localhost" and error.cert["subjectaltname"] == "DNS:other.example"
    good = tls_connect(track, {"port": server.address()["port"], "host": "localhost", "rejectUnauthorized": False})
    net.once(good, "secureConnect", timeout=5)
    assert good.authorized is False
    good.end()


def test_reject_unauthorized_false_reports_the_host_mismatch(track, certs):
    server = tls_listen(track, {"key": certs.other_key, "cert": certs.other_cert}, echo)
    client = tls_connect(track, server.address()["port"], "127.0.0.1", {"rejectUnauthorized": False})
    net.once(client, "secureConnect", timeout=5)
    assert client.authorized is False and client.authorizationError == "ERR_TLS_CERT_ALTNAME_INVALID"
    client.end(b"still works")
    assert collect(client) == b"still works"


def test_check_server_identity_option_decides(track, certs, must_call):
    server = tls_listen(track, {"key": certs.other_key, "cert": certs.other_cert}, echo)

    def accept_other(host, cert):
        assert host == "localhost" and cert["subjectaltname"] == "DNS:other.example"
        return None

    client = tls_connect(
        track, {"port": server.address()["port"], "ca": certs.ca_pem, "checkServerIdentity": must_call(accept_other)}
    )
    net.once(client, "secureConnect", timeout=5)
    assert client.authorized is True
    client.end()


def test_handshake_timeout_is_a_tls_client_error(track, certs):
    server = tls_listen(track, certs.server_options(handshakeTimeout=150), echo)
    silent = track.connect(server.address()["port"], "127.0.0.1")
    error, sock = net.once(server, "tlsClientError", timeout=5)
    assert error.code == "ERR_TLS_HANDSHAKE_TIMEOUT" and str(error) == "TLS handshake timeout"
    assert isinstance(sock, tls.TLSSocket)
    net.once(silent, "end", timeout=5)


def test_peer_gone_mid_handshake_is_econnreset(track, certs):
    plain = track.listen(lambda c: c.destroy())
    client = tls_connect(track, plain.address()["port"], "127.0.0.1")
    error = first_error(client)
    assert error.code == "ECONNRESET"
    assert str(error) == "Client network socket disconnected before secure TLS connection was established"
    server = tls_listen(track, certs.server_options(), echo)
    quitter = track.connect(server.address()["port"], "127.0.0.1", lambda: quitter.end())
    error, _ = net.once(server, "tlsClientError", timeout=5)
    assert error.code == "ECONNRESET" and str(error) == "socket hang up"


def test_alpn_is_agreed(track, certs):
    server = tls_listen(track, certs.server_options(ALPNProtocols=["h2", "http/1.1"]),
                        lambda c: c.end(c.alpnProtocol.encode()))
    client = tls_connect(track, server.address()["port"], "127.0.0.1",
                         certs.client_options(ALPNProtocols=["http/1.1", "h2"]))
    net.once(client, "secureConnect", timeout=5)
    assert client.alpnProtocol == "h2"  # the server's preference
    assert collect(client) == b"h2"
    plain = tls_connect(track, server.address()["port"], "127.0.0.1", certs.client_options())
    net.once(plain, "secureConnect", timeout=5)
    assert plain.alpnProtocol is False
    plain.end()


def test_sni_add_context_and_sni_callback(track, certs):
    server = tls_listen(track, certs.server_options(), lambda c: c.end(str(c.servername).encode()))
    server.addContext("*.example", {"key": certs.other_key, "cert": certs.other_cert})
    client = tls_connect(track, {"port": server.address()["port"], "host": "127.0.0.1", "servername": "other.example",
                                 "ca": certs.ca_pem})
    net.once(client, "secureConnect", timeout=5)
    assert client.servername == "other.example"
    assert client.getPeerCertificate()["subjectaltname"] == "DNS:other.example"
    assert collect(client) == b"other.example"
    # No servername: no SNI is sent (Node 20), the default context serves, checked against the host.
    bare = tls_connect(track, server.address()["port"], "127.0.0.1", certs.client_options())
    net.once(bare, "secureConnect", timeout=5)
    assert bare.servername is False and collect(bare) == b"False"

    asked = []

    def sni(name, callback):
        asked.append(name)
        gevent.spawn_later(0.01, callback, None, tls.createSecureContext({"key": certs.other_key,
                                                                          "cert": certs.other_cert}))

    late = tls_listen(track, certs.server_options(SNICallback=sni), echo)
    client = tls_connect(track, {"port": late.address()["port"], "servername": "other.example", "ca": certs.ca_pem})
    net.once(client, "secureConnect", timeout=5)
    assert asked == ["other.example"]
    assert client.getPeerCertificate()["subjectaltname"] == "DNS:other.example"
    client.end()


def test_client_certificates(track, certs):
    strict = tls_listen(track, certs.server_options(requestCert=True, ca=certs.ca_pem),
                        lambda c: c.end(("%s %s" % (c.authorized, c.getPeerCertificate()["subject"]["CN"])).encode()))
    client = tls_connect(track, server_port(strict), "127.0.0.1",
                         certs.client_options(key=certs.client_key, cert=certs.client_cert))
    net.once(client, "secureConnect", timeout=5)
    assert collect(client) == b"True client"
    refused = tls_connect(track, server_port(strict), "127.0.0.1", certs.client_options())
    told = []
    refused.on("error", told.append)
    closed = event_flag(refused, "close")
    error, _ = net.once(strict, "tlsClientError", timeout=5)
    assert error.code == "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE"
    assert closed.wait(5)
    # The server's alert reaches the client (TLS 1.3: after its own handshake ended), as in Node.
    assert [e.code for e in told] == ["ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED"]

    lenient = tls_listen(track, certs.server_options(requestCert=True, rejectUnauthorized=False),
                         lambda c: c.end(("%s %s" % (c.authorized, c.authorizationError)).encode()))
    anonymous = tls_connect(track, server_port(lenient), "127.0.0.1", certs.client_options())
    assert collect(anonymous) == b"False UNABLE_TO_GET_ISSUER_CERT"


def server_port(server):
    return server.address()["port"]


def test_starttls_upgrades_an_open_socket(track, certs):
    """A plain exchange, then both sides wrap the same connection: tls.TLSSocket(socket) and connect({socket})."""
    secured = []

    def on_connection(plain):
        def on_line(data):
            assert data == b"STARTTLS\n"
            plain.pause()
            plain.removeListener("data", on_line)
            plain.write(b"GO\n")
            secure = tls.TLSSocket(plain, {"isServer": True, "key": certs.key, "cert": certs.cert})
            secured.append(secure)
            secure.on("secure", lambda: secure.pipe(secure))

        plain.on("data", on_line)

    server = track.listen(on_connection)
    plain = track.connect(server_port(server), "127.0.0.1")
    plain.write(b"STARTTLS\n")
    assert net.once(plain, "data", timeout=5)[0] == b"GO\n"
    plain.pause()
    client = tls.connect({"socket": plain, "ca": certs.ca_pem, "host": "localhost"})
    track.sockets.append(client)
    net.once(client, "secureConnect", timeout=5)
    assert client.authorized is True
    client.end(b"secret")
    assert collect(client) == b"secret"
    assert secured and secured[0].encrypted


def test_bad_options_raise_at_once(certs):
    raises(Exception, "ERR_OSSL_PEM_NO_START_LINE", lambda: tls.createServer({"key": certs.key, "cert": "nope"}))
    raises(Exception, "ERR_OSSL_UNSUPPORTED", lambda: tls.createServer({"key": "not a key", "cert": certs.cert}))
    mismatch = raises(Exception, "ERR_OSSL_X509_KEY_VALUES_MISMATCH",
                      lambda: tls.createServer({"key": certs.other_key, "cert": certs.cert}))
    assert "key values mismatch" in str(mismatch)
    raises(TypeError, "ERR_TLS_INVALID_PROTOCOL_VERSION", lambda: tls.createSecureContext({"minVersion": "TLSv9"}),
           '"TLSv9" is not a valid minimum TLS protocol version')
    raises(TypeError, "ERR_INVALID_ARG_VALUE", lambda: tls.createSecureContext({"pfx": b"x"}))
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: tls.createSecureContext({"ca": 42}))
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: tls.connect({"port": 1, "checkServerIdentity": 3}))


def test_snake_case_aliases(track, certs):
    server = tls.create_server(certs.server_options(), echo)
    track.servers.append(server)
    server.listen(0, "127.0.0.1")
    net.once(server, "listening", timeout=5)
    client = tls.connect(server_port(server), "127.0.0.1", {"ca": certs.ca_pem, "reject_unauthorized": True})
    track.sockets.append(client)
    net.once(client, "secureConnect", timeout=5)
    assert client.get_protocol() == client.getProtocol() and client.get_cipher() == client.getCipher()
    assert tls.check_server_identity is tls.checkServerIdentity
    client.end()


def test_session_resumption(track, certs):
    server = tls_listen(track, certs.server_options(), echo)
    first = tls_connect(track, server_port(server), "127.0.0.1", certs.client_options())
    net.once(first, "secureConnect", timeout=5)
    first.end(b"x")  # TLS 1.3 tickets come after the handshake: read until the end
    collect(first)
    session = first.getSession()
    assert session is not None and first.isSessionReused() is False
    second = tls_connect(track, server_port(server), "127.0.0.1", certs.client_options(session=session))
    net.once(second, "secureConnect", timeout=5)
    assert second.isSessionReused() is True
    second.end()
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: tls.connect({"port": 1, "session": b"nope"}))


def test_tickets_reach_a_client_the_server_never_answers(track, certs):
    """The server holds its TLS 1.3 tickets for its first answer; with none, they still go."""
    server = tls_listen(track, certs.server_options(), lambda c: c.on("data", lambda data: None))
    client = tls_connect(track, server_port(server), "127.0.0.1", certs.client_options())
    net.once(client, "secureConnect", timeout=5)
    client.write(b"no answer to this")

    def ticket():
        session = client.getSession()
        return session if session is not None and session.ssl_session.has_ticket else None

    wait_until(ticket, message="the session tickets")
    again = tls_connect(track, server_port(server), "127.0.0.1", certs.client_options(session=ticket()))
    net.once(again, "secureConnect", timeout=5)
    assert again.isSessionReused() is True
    client.destroy()
    again.destroy()


def test_many_records_in_one_read_come_whole_and_in_order(track, certs):
    """Each write is a TLS record of its own: the reader decrypts all that came in one recv."""
    server = tls_listen(track, certs.server_options(), echo)
    client = tls_connect(track, server_port(server), "127.0.0.1", certs.client_options())
    net.once(client, "secureConnect", timeout=5)
    chunks = [b"%05d;" % i for i in range(2000)]
    for chunk in chunks:
        client.write(chunk)
    client.end()
    assert collect(client) == b"".join(chunks)


def test_net_socket_features_work_over_tls(track, certs):
    """setTimeout, setEncoding and readable-mode iteration are net.Socket's, unchanged."""
    timeouts = []

    def on_secure(c):
        c.setTimeout(100, lambda: (timeouts.append(True), c.end("bye ünïcode")))

    server = tls_listen(track, certs.server_options(), on_secure)
    client = tls_connect(track, server_port(server), "127.0.0.1", certs.client_options())
    client.setEncoding("utf8")
    net.once(client, "secureConnect", timeout=5)
    text = "".join(chunk for chunk in client)
    assert text == "bye ünïcode" and timeouts == [True]


def test_unsupported_options_are_refused_by_name(certs):
    for name, value in (("requestOCSP", True), ("enableTrace", True), ("minDHSize", 1024)):
        error = raises(TypeError, "ERR_INVALID_ARG_VALUE", lambda n=name, v=value: tls.connect({"port": 1, n: v}))
        assert name in str(error)
    for name in ("sigalgs", "crl", "sessionIdContext"):
        options = certs.server_options(**{name: "x"})
        error = raises(TypeError, "ERR_INVALID_ARG_VALUE", lambda o=options: tls.createServer(o))
        assert "stdlib ssl" in str(error)


def test_end_before_the_handshake_waits_for_it(track, certs):
    """end(data) at once: the data and close_notify go after the handshake, the FIN after them."""
    got = []
    server = tls_listen(track, certs.server_options(), lambda c: c.on("data", got.append))
    client = tls_connect(track, server_port(server), "127.0.0.1", certs.client_options())
    client.end(b"said before the handshake")
    client.resume()
    net.once(client, "close", timeout=5)
    assert b"".join(got) == b"said before the handshake"


def test_a_server_side_tls_socket_with_its_own_sni_callback_switches_context(track, certs):
    other = tls.createSecureContext({"key": certs.other_key, "cert": certs.other_cert})

    def on_connection(plain):
        secure = tls.TLSSocket(plain, {"isServer": True, "key": certs.key, "cert": certs.cert,
                                       "SNICallback": lambda name, cb: cb(None, other)})
        track.sockets.append(secure)
        secure.on("secure", lambda: secure.end(str(secure.servername).encode()))

    server = track.listen(on_connection)
    client = tls_connect(track, {"port": server_port(server), "host": "127.0.0.1", "servername": "other.example",
                                 "ca": certs.ca_pem})
    net.once(client, "secureConnect", timeout=5)
    assert client.getPeerCertificate()["subjectaltname"] == "DNS:other.example"
    assert collect(client) == b"other.example"
