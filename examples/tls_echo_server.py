"""A TLS echo server: Node's ``tls.createServer`` docs example, ported.

Run it, then talk to it from another terminal::

    python examples/tls_echo_server.py                  # prints: server bound
    openssl s_client -connect localhost:8000 -quiet     # type lines: they come back

Without arguments it makes a throwaway certificate for localhost (with
``trustme`` if installed, else the ``openssl`` command) and prints where the
CA file is, so a client can verify it::

    openssl s_client -connect localhost:8000 -CAfile <printed path> -verify_return_error

Give your own with ``python examples/tls_echo_server.py key.pem cert.pem``.
The port is 8000 unless ``PORT`` is set.  Each client is greeted with
``welcome!`` and told whether its certificate was authorized; stop with Ctrl-C.
"""

import os
import subprocess
import sys
import tempfile

import nodenet_gevent as net
from nodenet_gevent import tls

PORT = int(os.environ.get("PORT", 8000))


def throwaway_certificate():
    """(key PEM, cert PEM, CA file path) for localhost, made now."""
    directory = tempfile.mkdtemp(prefix="tls-echo-")
    try:
        import trustme
    except ImportError:
        key, cert = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
             "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, capture_output=True,
        )
        with open(key) as k, open(cert) as c:
            return k.read(), c.read(), cert  # self-signed: the certificate is its own CA
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1", "::1")
    ca_path = os.path.join(directory, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    return leaf.private_key_pem.bytes().decode(), leaf.cert_chain_pems[0].bytes().decode(), ca_path


if len(sys.argv) == 3:
    with open(sys.argv[1]) as k, open(sys.argv[2]) as c:
        key, cert = k.read(), c.read()
else:
    key, cert, ca_file = throwaway_certificate()
    print("CA file: %s" % ca_file, flush=True)


def on_secure_connection(socket):  # 'secureConnection' listener
    print("server connected", "authorized" if socket.authorized else "unauthorized", flush=True)
    socket.on("end", lambda: print("client disconnected", flush=True))
    socket.write("welcome!\n")
    socket.setEncoding("utf8")
    socket.pipe(socket)


server = tls.createServer({"key": key, "cert": cert}, on_secure_connection)
server.on("tlsClientError", lambda error, socket: print("tlsClientError", error.code, flush=True))
server.listen(PORT, lambda: print("server bound", flush=True))

net.run()
