"""A server that shuts down cleanly on SIGTERM: what a deploy (systemd, Kubernetes) sends.

On SIGTERM it stops accepting, ends every open connection (each client gets its
FIN after what was written to it), waits up to ``STOP_TIMEOUT`` seconds for them to
close, cuts the rest, and exits -- with ``server.stop(timeout)``, gevent's name and
unit.  Meanwhile it is a line echo server: each line comes back upper-cased.

    python examples/graceful_shutdown.py      # prints: listening on 8124
    nc localhost 8124                         # type lines; then, elsewhere:
    kill -TERM <pid>                          # prints: stopping: 1 open ... / stopped: 0 cut

``PORT`` (8124; ``0`` picks a free port) and ``STOP_TIMEOUT`` (seconds, 5) come from
the environment.  It prints ``listening on <port>``, and on SIGTERM
``stopping: <n> open`` then ``stopped: <n> cut``.
"""

import os
import signal

import gevent

import nodenet_gevent as net

PORT = int(os.environ.get("PORT", 8124))
STOP_TIMEOUT = float(os.environ.get("STOP_TIMEOUT", 5))


def on_connection(c):
    for chunk in c:  # the blocking style, in this connection's own greenlet
        c.write(chunk.upper())
    c.end()


server = net.createServer(on_connection)


def shut_down():
    print("stopping: %d open" % len(server.open_connections), flush=True)
    cut = server.stop(STOP_TIMEOUT)
    print("stopped: %d cut" % cut, flush=True)


# gevent runs the handler in a greenlet of its own; stop() blocks only that greenlet.
gevent.signal_handler(signal.SIGTERM, lambda: gevent.spawn(shut_down))
server.listen(PORT, lambda: print("listening on %d" % server.address()["port"], flush=True))
net.run()
