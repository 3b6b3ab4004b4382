"""The client for the echo server, from Node's ``net.connect`` docs.

Start ``examples/echo_server.py`` (or ``echo_server_unix.py``) first, then::

    python examples/echo_client.py                        # {port: 8124}
    python examples/echo_client.py --path /tmp/echo.sock  # {path: '/tmp/echo.sock'}

It prints ``connected to server!``, what the server sends (``hello``, then the
echoed ``world!``) and ``disconnected from server``, then exits: ``net.run()``
returns once the connection has closed.  ``PORT`` overrides 8124.
"""

import os
import sys

import nodenet_gevent as net

PORT = int(os.environ.get("PORT", 8124))

if sys.argv[1:2] == ["--path"]:
    options = {"path": sys.argv[2]}
else:
    options = {"port": PORT}


def on_connect():  # 'connect' listener
    print("connected to server!", flush=True)
    client.write("world!\r\n")


client = net.connect(options, on_connect)


def on_data(data):
    print(data.decode(), flush=True)  # data.toString()
    client.end()


client.on("data", on_data)
client.on("end", lambda: print("disconnected from server", flush=True))

net.run()
