#!/usr/bin/env python
"""User-space instructions per round trip of an echo server, under callgrind: a deterministic cost measure.

    python benchmarks/instructions.py ours_pipe            # or ours_data, gevent_raw, or a server script
    python benchmarks/instructions.py ours_pipe -c 1 --top 20
    python benchmarks/instructions.py --tls ours_tls       # TLS: servers/ours_tls.py, loadgen built with OpenSSL

Rates and CPU times on a shared 2-core machine move by 10-30% between runs;
the instructions a server executes per ping-pong round trip hardly move (a
few hundred in ~17,000 between runs, from how many connections each loop
iteration finds ready).  The server runs under ``valgrind --tool=callgrind``
(so about 50 times slower); ``loadgen --mode pingpong`` warms it up, the
counters are zeroed, ``loadgen`` runs again, and callgrind dumps: the dump's
total divided by the round trips loadgen counted.  Kernel time (the system
calls themselves) is not in it; everything in user space is -- Python, gevent,
greenlet, libev, libc.  ``--top N`` lists the functions with the most
instructions of their own (self cost), per round trip.

Needs ``valgrind`` (``apt-get install -y valgrind``).
"""

import argparse
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVERS = os.path.join(HERE, "servers")
sys.path.insert(0, HERE)

import run as _run  # noqa: E402  (for build_loadgen)
import tls_rows  # noqa: E402  (for the TLS load generator and certificate)


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_costs(dump):
    """Instructions of each function's own (not its callees'), from a callgrind out file."""
    names, objects, owner = {}, {}, {}
    costs = collections.Counter()
    current = None
    after_calls = False

    def resolve(text, table):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?", text)
        if not m:
            return text
        if m.group(2):
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1), "?")

    obj = None
    with open(dump) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("ob="):
                obj = resolve(line[3:], objects)
            elif line.startswith("fn="):
                current = resolve(line[3:], names)
                owner[current] = obj
            elif line.startswith("cfn="):
                resolve(line[4:], names)
            elif line.startswith("cob="):
                resolve(line[4:], objects)
            elif line.startswith("calls="):
                after_calls = True  # the next cost line is the call's inclusive cost: not ours
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_calls:
                    after_calls = False
                elif current is not None:
                    parts = line.split()
                    if len(parts) >= 2:
                        costs[current] += int(parts[1])
    return costs, owner


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server", help="ours_pipe, ours_data, gevent_raw (servers/NAME.py), or a server script")
    parser.add_argument("-c", "--connections", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=8, help="measured seconds (under callgrind)")
    parser.add_argument("--top", type=int, default=0, help="list the N functions with the most self cost")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--tls", action="store_true", help="TLS: the server takes --key/--cert; loadgen speaks TLS")
    opts = parser.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        sys.exit("valgrind is not installed (apt-get install -y valgrind)")
    script = opts.server if os.path.exists(opts.server) else os.path.join(SERVERS, opts.server + ".py")
    extra = []
    if opts.tls:
        loadgen = tls_rows.build_loadgen_tls("gcc", _run.BUILD_DIR)
        certificate = tls_rows.make_certificate(_run.BUILD_DIR)
        if loadgen is None or certificate is None:
            sys.exit("no TLS load generator or no openssl")
        extra = ["--key", certificate[0], "--cert", certificate[1]]
    else:
        loadgen = _run.build_loadgen("gcc")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="instructions-")
    out_file = os.path.join(workdir, "callgrind.out")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file, "--dump-line=no",
         opts.python, script, str(port), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=os.path.dirname(script), text=True,
    )
    try:
        if server.stdout.readline().strip() != "ready":
            sys.exit("the server did not start")

        def pingpong(seconds):
            line = subprocess.run(
                [loadgen, "--mode", "pingpong", "--port", str(port), "-c", str(opts.connections),
                 "-t", str(seconds), "-w", "0"], check=True, capture_output=True, text=True,
            ).stdout
            return json.loads(line.strip().splitlines()[-1])

        pingpong(2)  # warm up: connections made, code paths specialised
        subprocess.run(["callgrind_control", "-z", str(server.pid)], check=True, capture_output=True)
        result = pingpong(opts.seconds)
        subprocess.run(["callgrind_control", "-d", str(server.pid)], check=True, capture_output=True)
        deadline = time.monotonic() + 30
        while not glob.glob(out_file + ".*") and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait()
    dumps = sorted(glob.glob(out_file + ".*"))
    if not dumps or result.get("errors"):
        sys.exit("no dump, or loadgen errors: %r" % (result,))
    costs, owner = self_costs(dumps[0])
    trips = result["ops"]
    total = sum(costs.values())
    print("%s: %d connections, %d round trips under callgrind; %.0f instructions per round trip"
          % (os.path.basename(script), opts.connections, trips, total / trips))
    for name, cost in costs.most_common(opts.top):
        where = os.path.basename(owner.get(name) or "?")
        print("  %7.0f  %s  [%s]" % (cost / trips, name[-70:], where))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
