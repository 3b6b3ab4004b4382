#!/usr/bin/env python
"""Python function calls per connection of an echo server under churn: a deterministic cost measure.

    python benchmarks/calls.py ours_pipe      # or ours_data, gevent_raw; --top 30 lists the busiest functions

Wall-clock benchmarks on a shared machine are noisy; the number of Python
calls (``sys.setprofile`` 'call' events, plus C functions called from Python)
the server makes per connection is not.  The server runs in this process; the
load generator (``loadgen --mode churn``, built by run.py) runs for a few
seconds, and the counts are divided by the connections the server accepted.
Compiled code (the gevent hub and loop, greenlet) is invisible to the hook, on
both sides of the comparison alike.
"""

import argparse
import collections
import gc
import os
import sys
import tempfile

import gevent
import gevent.subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import run as _run  # noqa: E402  (for build_loadgen)


def ours(kind):
    import nodenet_gevent as net

    state = {"conns": 0}

    def on_connection(c):
        state["conns"] += 1
        if kind == "pipe":
            c.pipe(c)
        else:
            c.on("data", c.write)

    server = net.createServer(on_connection)
    server.listen(0, "127.0.0.1")
    return server.address()["port"], state


def raw():
    from gevent.server import StreamServer

    state = {"conns": 0}

    def handle(sock, address):
        state["conns"] += 1
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

    server = StreamServer(("127.0.0.1", 0), handle, backlog=511)
    server.start()
    return server.server_port, state


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server", choices=["ours_pipe", "ours_data", "gevent_raw"])
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("-c", "--connections", type=int, default=50, help="in flight (default 50)")
    parser.add_argument("--top", type=int, default=0, help="list the N most called functions")
    opts = parser.parse_args()
    import nodenet_gevent

    print("nodenet_gevent from", os.path.dirname(nodenet_gevent.__file__), file=sys.stderr)
    if opts.server == "gevent_raw":
        port, state = raw()
    else:
        port, state = ours(opts.server[5:])
    loadgen = _run.build_loadgen("gcc")
    gevent.sleep(0.1)  # 'listening' and the acceptor start
    counts = collections.Counter()
    c_counts = collections.Counter()

    def profile(frame, event, arg):
        if event == "call":
            code = frame.f_code
            counts[(os.path.basename(code.co_filename), code.co_firstlineno, code.co_name)] += 1
        elif event == "c_call":
            c_counts[getattr(arg, "__qualname__", None) or getattr(arg, "__name__", repr(arg))] += 1

    out_file = tempfile.TemporaryFile()
    proc = gevent.subprocess.Popen(
        [loadgen, "--mode", "churn", "--host", "127.0.0.1", "--port", str(port), "-c", str(opts.connections),
         "-t", str(opts.seconds), "-w", "0"],
        stdout=out_file,
    )
    gc_stats = {"runs": [0, 0, 0], "collected": 0}

    def on_gc(phase, info):
        if phase == "stop":
            gc_stats["runs"][info["generation"]] += 1
            gc_stats["collected"] += info["collected"]

    gevent.sleep(0)
    gc.callbacks.append(on_gc)
    sys.setprofile(profile)
    try:
        proc.wait()  # a child watcher: no Python work of its own while waiting
    finally:
        sys.setprofile(None)
        gc.callbacks.remove(on_gc)
    out_file.seek(0)
    out = out_file.read()
    conns = state["conns"]
    result = _run._parse_json_line(out.decode())
    total = sum(counts.values())
    print("%s: %d connections (loadgen errors %s); per connection: %.1f Python calls, %.1f C calls"
          % (opts.server, conns, result.get("errors"), total / conns, sum(c_counts.values()) / conns))
    print("  cyclic garbage: %.1f objects per connection (collections per 1000 connections: "
          "gen0 %.0f, gen1 %.1f, gen2 %.2f)" % ((gc_stats["collected"] / conns,)
                                                 + tuple(1000.0 * n / conns for n in gc_stats["runs"])))
    for (filename, line, name), n in counts.most_common(opts.top):
        print("  %7.2f  %s:%d %s" % (n / conns, filename, line, name))
    if opts.top:
        print("  C functions:")
    for name, n in c_counts.most_common(opts.top):
        print("  %7.2f  %s" % (n / conns, name))


if __name__ == "__main__":
    main()
