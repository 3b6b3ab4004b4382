"""``server.listen(callback)`` with no port, from Node's ``server.address()`` docs.

The OS picks a free port; the server prints it and says goodbye to every client::

    python examples/random_port.py     # opened server on {"address":"::","family":"IPv6","port":40123}
    nc localhost 40123                 # goodbye

``console.log("%j", address)`` is ``json.dumps`` with Node's compact separators.
"""

import json

import nodenet_gevent as net


def on_connection(socket):
    socket.end("goodbye\n")


server = net.createServer(on_connection)


def on_listening():  # grab a random port.
    address = server.address()
    print("opened server on %s" % json.dumps(address, separators=(",", ":")), flush=True)


server.listen(on_listening)

net.run()
