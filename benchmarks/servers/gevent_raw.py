"""Echo server: hand-written gevent, ``StreamServer`` with a ``recv``/``sendall`` loop."""

from _common import parse_args, raise_nofile, ready

from gevent.server import StreamServer


def handle(sock, address):
    recv, sendall = sock.recv, sock.sendall
    try:
        while True:
            data = recv(65536)
            if not data:
                break
            sendall(data)
    except OSError:
        pass
    finally:
        sock.close()


args = parse_args(__doc__)
raise_nofile()
server = StreamServer((args.host, args.port), handle, backlog=511)
server.start()
ready()
server.serve_forever()
