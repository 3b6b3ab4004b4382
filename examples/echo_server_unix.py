"""The echo server on a Unix domain socket (``server.listen('/tmp/echo.sock', ...)``).

Run it, then talk to it from another terminal::

    python examples/echo_server_unix.py      # prints: server bound
    nc -U /tmp/echo.sock

Another path can be given as the first argument
(``python examples/echo_server_unix.py /tmp/other.sock``).  Ctrl-C closes the
server, which removes the socket file; if a killed run left the file behind,
``listen`` fails with EADDRINUSE (as in Node): delete the file and start again.
"""

import sys

import nodenet_gevent as net

PATH = sys.argv[1] if len(sys.argv) > 1 else "/tmp/echo.sock"


def on_connection(c):  # 'connection' listener
    print("client connected", flush=True)
    c.on("end", lambda: print("client disconnected", flush=True))
    c.write("hello\r\n")
    c.pipe(c)


server = net.createServer(on_connection)
server.listen(PATH, lambda: print("server bound", flush=True))  # 'listening' listener

try:
    net.run()
except KeyboardInterrupt:
    server.close()  # removes the socket file
