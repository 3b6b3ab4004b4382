"""The ``EADDRINUSE`` retry example from Node's ``server.listen`` docs.

If the port is taken, the server says ``Address in use, retrying...`` and tries
again every second until the port is free, then prints ``server bound`` and
serves as the echo server does.  Try it with something already on the port::

    python examples/echo_server.py &             # takes 8124
    python examples/eaddrinuse_retry.py          # Address in use, retrying...
    kill %1                                      # ... server bound
    nc localhost 8124

``PORT`` overrides 8124.  JavaScript's
``setTimeout(fn, 1000)`` becomes ``gevent.spawn_later(1, fn)`` (seconds);
``gevent.sleep(1)`` inside the handler would do as well, since every handler
runs in a greenlet of its own.
"""

import os

import gevent

import nodenet_gevent as net

PORT = int(os.environ.get("PORT", 8124))
HOST = "127.0.0.1"


def on_connection(c):
    print("client connected", flush=True)
    c.on("end", lambda: print("client disconnected", flush=True))
    c.write("hello\r\n")
    c.pipe(c)


server = net.createServer(on_connection)


def on_error(e):
    if e.code == "EADDRINUSE":
        print("Address in use, retrying...", flush=True)

        def retry():
            server.close()
            server.listen(PORT, HOST)

        gevent.spawn_later(1, retry)  # setTimeout(function () {...}, 1000)


server.on("error", on_error)
server.listen(PORT, HOST, lambda: print("server bound", flush=True))

net.run()
