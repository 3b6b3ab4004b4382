"""Cutting idle and slow-loris clients: ``setTimeout`` plus a deadline per request.

A line-based service: each client sends requests, one a line, and gets ``you said:
<line>`` back.  Three defences, each a few lines of Node-style code:

* **idle timeout** -- ``c.setTimeout(IDLE_TIMEOUT_MS)``: a client that sends nothing
  for that long gets ``'timeout'``, and we destroy the connection.  (``'timeout'``
  closes nothing by itself, as in Node: cutting is the handler's job.)
* **request deadline** -- a slow-loris client trickles one byte now and then, so it is
  never idle; each line must therefore be *complete* within ``REQUEST_TIMEOUT_MS``
  of the connection (for the first line) or of our previous answer.
* **line limit** -- a line longer than ``MAX_LINE`` bytes is refused, so a client
  cannot make us buffer without bound; and ``maxConnections`` caps how many
  connections a flood can hold at once.

Run it and try it::

    python examples/idle_timeout.py              # prints: listening on 8124
    nc localhost 8124                            # type a line: you said: ...; then wait

Settings come from the environment: ``PORT`` (8124; ``0`` picks a free port),
``IDLE_TIMEOUT_MS`` (10000), ``REQUEST_TIMEOUT_MS`` (30000), ``MAX_LINE`` (8192
bytes), ``MAX_CONNECTIONS`` (1000).  Each cut is logged on stdout.
"""

import os

import gevent

import nodenet_gevent as net

PORT = int(os.environ.get("PORT", 8124))
IDLE_TIMEOUT_MS = int(os.environ.get("IDLE_TIMEOUT_MS", 10000))
REQUEST_TIMEOUT_MS = int(os.environ.get("REQUEST_TIMEOUT_MS", 30000))
MAX_LINE = int(os.environ.get("MAX_LINE", 8192))
MAX_CONNECTIONS = int(os.environ.get("MAX_CONNECTIONS", 1000))


def log(message):
    print(message, flush=True)


def on_connection(c):
    peer = "%s:%s" % (c.remoteAddress, c.remotePort)
    pending = []  # the bytes of the line being received
    deadline = []  # the greenlet that cuts a request taking too long

    def cut(reason):
        if not c.destroyed:
            log("cut %s: %s" % (peer, reason))
            c.destroy()

    def start_deadline():
        deadline.append(
            gevent.spawn_later(REQUEST_TIMEOUT_MS / 1000.0, cut, "no complete line within %d ms" % REQUEST_TIMEOUT_MS)
        )

    def stop_deadline():
        while deadline:
            deadline.pop().kill(block=False)

    def on_data(data):
        while data:
            head, newline, data = data.partition(b"\n")
            pending.append(head)
            if not newline:
                if sum(map(len, pending)) > MAX_LINE:
                    cut("line longer than %d bytes" % MAX_LINE)
                return
            line = b"".join(pending)
            del pending[:]
            c.write(b"you said: " + line + b"\n")
            stop_deadline()  # the next request gets a fresh deadline
            start_deadline()

    c.setTimeout(IDLE_TIMEOUT_MS)
    c.on("timeout", lambda: cut("idle for %d ms" % IDLE_TIMEOUT_MS))
    c.on("data", on_data)
    c.on("close", lambda had_error: stop_deadline())
    c.on("error", lambda error: None)  # a peer that resets is no news here; 'close' follows
    start_deadline()


server = net.createServer(on_connection)
server.maxConnections = MAX_CONNECTIONS
server.listen(PORT, lambda: log("listening on %d" % server.address()["port"]))

net.run()
