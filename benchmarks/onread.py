"""``onread`` against ``'data'``: server CPU per GiB received, in one run.

    python benchmarks/onread.py              # 3 rounds of 1 GiB per variant
    python benchmarks/onread.py --mib 256 --rounds 1

Each variant is a sink server in a subprocess of its own, pinned to core 0 (when
``taskset`` exists); this process, on core 1, opens one connection per round and
sends the bytes as fast as the server takes them.  The server counts what it
receives -- with ``c.on('data', ...)`` (a new ``bytes`` per read) or with the
``onread`` option (``recv_into`` one reused 64 KiB buffer, no event) -- and, at
EOF, prints its own CPU time.  Reported: MB/s and server CPU seconds per GiB
(median of the rounds), and the ratio onread / data.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SERVER = r'''
import os, resource, sys
sys.path.insert(0, %(root)r)
import gevent.server
import nodenet_gevent as net

variant = sys.argv[1]
buffer = bytearray(65536)

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

def serve(sock, count, start):
    if variant == "data":
        def on_data(chunk):
            count[0] += len(chunk)
        sock.on("data", on_data)
    net.once(sock, "end")
    print("%%d %%.6f" %% (count[0], cpu() - start), flush=True)
    sock.end()

def handle(raw, address):
    # onread is a Socket option: both variants adopt the accepted descriptor the same way.
    start = cpu()
    options = {"fd": os.dup(raw.fileno())}
    count = [0]
    if variant == "onread":
        def callback(nread, buf):
            count[0] += nread
        options["onread"] = {"buffer": buffer, "callback": callback}
    raw.close()
    serve(net.Socket(options), count, start)

server = gevent.server.StreamServer(("127.0.0.1", 0), handle)
server.start()
print("ready %%d" %% server.address[1], flush=True)
server.serve_forever()
'''


def pinned(command, cpu):
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu)] + command
    return command


def start(variant, python):
    process = subprocess.Popen(pinned([python, "-c", SERVER % {"root": ROOT}, variant], 0),
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().split()
    assert line and line[0] == "ready", line
    return process, int(line[1])


def one_round(process, port, nbytes):
    block = os.urandom(1 << 20)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.monotonic()
        sent = 0
        while sent < nbytes:
            sock.sendall(block)
            sent += len(block)
        sock.shutdown(socket.SHUT_WR)
        count, cpu = process.stdout.readline().split()
        elapsed = time.monotonic() - started
        sock.recv(1)
    assert int(count) == nbytes, (count, nbytes)
    return nbytes / elapsed / 1e6, float(cpu) * (1 << 30) / nbytes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="MiB per round (default 1024)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python", default=sys.executable)
    opts = parser.parse_args(argv)
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})
    results = {}
    for variant in ("data", "onread"):
        process, port = start(variant, opts.python)
        try:
            rounds = [one_round(process, port, opts.mib << 20) for _ in range(opts.rounds)]
        finally:
            process.kill()
            process.wait()
        results[variant] = (statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds))
        print("%-7s %8.0f MB/s   %.3f s server CPU per GiB" % ((variant,) + results[variant]))
    print("onread / data: %.2fx the throughput, %.2fx the CPU per GiB" % (
        results["onread"][0] / results["data"][0], results["onread"][1] / results["data"][1]))


if __name__ == "__main__":
    main()
