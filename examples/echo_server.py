"""The echo server from Node's ``net.createServer`` docs, ported line by line.

Run it, then talk to it from another terminal::

    python examples/echo_server.py           # prints: server bound
    telnet localhost 8124                    # or: nc localhost 8124

It greets each client with ``hello``, echoes every line back, and prints
``client connected`` / ``client disconnected``.  Stop it with Ctrl-C.
The port is 8124 unless ``PORT`` is set (``PORT=9000 python examples/echo_server.py``),
as a Node script would read ``process.env.PORT || 8124``.
"""

import os

import nodenet_gevent as net

PORT = int(os.environ.get("PORT", 8124))


def on_connection(c):  # 'connection' listener
    print("client connected", flush=True)
    c.on("end", lambda: print("client disconnected", flush=True))
    c.write("hello\r\n")
    c.pipe(c)


server = net.createServer(on_connection)
server.listen(PORT, lambda: print("server bound", flush=True))  # 'listening' listener

net.run()  # Node runs its event loop after the script; here we say so
