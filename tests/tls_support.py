"""Certificates made at test time (trustme), and helpers for the TLS tests.

One CA signs: a server certificate for localhost/127.0.0.1/::1, one for
another name, an expired one and a client certificate; the self-signed one is
a second CA's own certificate, served as a leaf.  Everything is PEM text, also
written to files for the tools (``node``, ``openssl``) that read paths.
"""

import datetime
import os
import ssl
import tempfile

import gevent
import pytest

import nodenet_gevent as net
from nodenet_gevent import tls


class Certs:
    def __init__(self):
        import trustme

        self.ca = trustme.CA()
        self.ca_pem = self.ca.cert_pem.bytes().decode()
        server = self.ca.issue_cert("localhost", "127.0.0.1", "::1")
        self.key = server.private_key_pem.bytes().decode()
        self.cert = server.cert_chain_pems[0].bytes().decode()
        other = self.ca.issue_cert("other.example")
        self.other_key = other.private_key_pem.bytes().decode()
        self.other_cert = other.cert_chain_pems[0].bytes().decode()
        past = datetime.datetime(2020, 1, 1)
        expired = self.ca.issue_cert("localhost", "127.0.0.1", not_before=past, not_after=past.replace(month=2))
        self.expired_key = expired.private_key_pem.bytes().decode()
        self.expired_cert = expired.cert_chain_pems[0].bytes().decode()
        client = self.ca.issue_cert("client.example", common_name="client")
        self.client_key = client.private_key_pem.bytes().decode()
        self.client_cert = client.cert_chain_pems[0].bytes().decode()
        # Self-signed: a CA's own certificate and key (no SAN: Node's DEPTH_ZERO case).
        lone = trustme.CA()
        self.self_signed_key = lone.private_key_pem.bytes().decode()
        self.self_signed_cert = lone.cert_pem.bytes().decode()
        self.dir = tempfile.mkdtemp(prefix="nodenet-tls-")
        for name in ("ca_pem", "key", "cert", "client_key", "client_cert", "self_signed_key", "self_signed_cert",
                     "other_key", "other_cert", "expired_key", "expired_cert"):
            with open(self.path(name), "w") as f:
                f.write(getattr(self, name))

    def path(self, name):
        return os.path.join(self.dir, name + ".pem")

    def server_options(self, **extra):
        return {"key": self.key, "cert": self.cert, **extra}

    def client_options(self, **extra):
        return {"ca": self.ca_pem, **extra}


# OpenSSL 3.2 renamed the handshake_failure alert's reason ("sslv3 alert" -> "ssl/tls alert"), as Node's tests know.
HANDSHAKE_FAILURE_ALERT = ("ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE" if ssl.OPENSSL_VERSION_INFO >= (3, 2)
                           else "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE")


def tls_listen(track, options, listener=None, host="127.0.0.1"):
    """A listening tls.Server kept by *track* (closed after the test); waits for 'listening'."""
    server = tls.createServer(options, listener) if listener else tls.createServer(options)
    track.servers.append(server)
    server.on("connection", track.sockets.append)
    server.listen(0, host)
    net.once(server, "listening", timeout=5)
    return server


def tls_connect(track, *args, **kwargs):
    sock = tls.connect(*args, **kwargs)
    track.sockets.append(sock)
    return sock


def collect(sock, timeout=10):
    """Everything *sock* delivers until 'end', as bytes."""
    chunks = []
    sock.on("data", chunks.append)
    net.once(sock, "end", timeout=timeout)
    return b"".join(chunks)


def first_error(emitter, event="error", timeout=5):
    return net.once(emitter, event, timeout=timeout)[0]


__all__ = ["Certs", "HANDSHAKE_FAILURE_ALERT", "tls_listen", "tls_connect", "collect", "first_error", "gevent",
           "pytest"]
