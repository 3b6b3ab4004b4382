#!/usr/bin/env python
"""Hold 100,000 connections: ``examples/cluster.py`` workers, several load generators.

    python benchmarks/hold.py                          # 100,000 connections, 8 workers, 6 load generators
    python benchmarks/hold.py -c 20000 --workers 2 --clients 2
    python benchmarks/run.py --only hold_100k          # the same, reported in results.md

One process may hold at most ``ulimit -n`` descriptors (20,000 here), so the
connections are spread twice: over pre-forked workers (``cluster.py
--reuse-port``: the kernel hashes connections evenly over the workers'
sockets) and over load generators, each binding its connections to its own
source address in 127.0.0.0/8 (``loadgen --source 127.0.0.K``), so that no
source address runs out of ephemeral ports.  Every load generator opens its
share, pings each connection once, and says it holds them; then the workers'
memory is read from ``/proc`` (RSS, and PSS: pages shared by the forked
workers counted once), every held connection must echo again, the load
generators close them all, and every worker must be back to the descriptors it
had before (nothing left behind).  Prints one JSON line.
"""

import argparse
import json
import os
import selectors
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLUSTER = os.path.join(ROOT, "examples", "cluster.py")


def _status_kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _memory(pids):
    return {"rss_kib": sum(_status_kib(p, "VmRSS") for p in pids), "pss_kib": sum(_pss_kib(p) for p in pids)}


def _read_lines(processes, want, deadline):
    """The first *want* lines of each process's stdout (a dict: process -> lines), until *deadline*."""
    selector = selectors.DefaultSelector()
    buffers = {}
    for process in processes:
        selector.register(process.stdout, selectors.EVENT_READ, process)
        buffers[process] = b""
    pending = set(processes)
    while pending and time.monotonic() < deadline:
        for key, _ in selector.select(1.0):
            process = key.data
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                selector.unregister(process.stdout)
                pending.discard(process)
                continue
            buffers[process] += chunk
            if buffers[process].count(b"\n") >= want:
                selector.unregister(process.stdout)
                pending.discard(process)
    selector.close()
    return {p: buffers[p].decode().splitlines() for p in processes}


def hold(loadgen, connections=100000, workers=8, clients=6, python=sys.executable, port=0, timeout=120):
    """Run the scenario; returns a dict of figures (``ok`` says whether everything held and echoed)."""
    import socket

    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    result = {"connections": connections, "workers": workers, "clients": clients}
    master = subprocess.Popen([python, CLUSTER, "--workers", str(workers), "--port", str(port), "--reuse-port",
                               "--quiet", "--grace", "10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    loadgens = []
    try:
        ready = _read_lines([master], 1, time.monotonic() + 60)[master]
        if not ready or not ready[0].startswith("ready"):
            raise RuntimeError("cluster.py did not start: %r %r" % (ready, master.stderr.read1(4096)))
        pids = [master.pid] + _children(master.pid)
        worker_pids = pids[1:]
        time.sleep(0.5)
        base = _memory(pids)
        base_fds = {p: _fds(p) for p in worker_pids}
        shares = [connections // clients + (1 if k < connections % clients else 0) for k in range(clients)]
        started = time.monotonic()
        for k, share in enumerate(shares):
            loadgens.append(subprocess.Popen(
                [loadgen, "--mode", "idle", "--host", "127.0.0.1", "--port", str(port), "-c", str(share),
                 "-t", str(timeout), "--inflight", "256", "--connect-timeout", "60", "--source", "127.0.%d.%d" % (
                     1 + k // 250, 2 + k % 250)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        holding = _read_lines(loadgens, 1, time.monotonic() + 90)
        result["setup_s"] = round(time.monotonic() - started, 2)
        held = 0
        for process in loadgens:
            lines = holding[process]
            info = json.loads(lines[0]) if lines and lines[0].startswith("{") else {}
            held += info.get("held", 0)
        result["held"] = held
        time.sleep(1.0)  # the workers finish what the last connections started
        during = _memory(pids)
        per_worker = [_fds(p) - base_fds[p] for p in worker_pids]
        result.update(
            rss_base_kib=base["rss_kib"], rss_held_kib=during["rss_kib"],
            pss_base_kib=base["pss_kib"], pss_held_kib=during["pss_kib"],
            rss_total_mib=round(during["rss_kib"] / 1024, 1), pss_total_mib=round(during["pss_kib"] / 1024, 1),
            kib_per_conn_rss=round((during["rss_kib"] - base["rss_kib"]) / max(held, 1), 2),
            kib_per_conn_pss=round((during["pss_kib"] - base["pss_kib"]) / max(held, 1), 2),
            per_worker_connections=per_worker,
        )
        # Every held connection echoes again, then the load generators close them all.
        errors = 0
        echoed = 0
        for process in loadgens:
            out, err = process.communicate(b"go\n", timeout=120)
            lines = [line for line in out.decode().splitlines() if line.startswith("{")]
            final = json.loads(lines[-1]) if lines else {}
            errors += final.get("errors", 1) + (process.returncode != 0)
            echoed += final.get("held", 0)  # alive and echoing after the hold (loadgen checks each)
            if final.get("error"):
                result.setdefault("loadgen_errors", []).append(final["error"])
        result["errors"] = errors
        result["echoed_after_hold"] = echoed
        # Nothing left behind: every worker back to the descriptors it had.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(_fds(p) > base_fds[p] for p in worker_pids):
            time.sleep(0.2)
        result["left_behind"] = sum(max(0, _fds(p) - base_fds[p]) for p in worker_pids)
        result["ok"] = bool(held == connections and errors == 0 and result["left_behind"] == 0
                            and echoed == connections)
        return result
    finally:
        for process in loadgens:
            if process.poll() is None:
                process.kill()
                process.wait()
        if master.poll() is None:
            master.send_signal(signal.SIGTERM)
            try:
                master.wait(20)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--connections", type=int, default=100000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--clients", type=int, default=6, help="load generator processes")
    parser.add_argument("--python", default=sys.executable, help="interpreter for cluster.py")
    opts = parser.parse_args()
    sys.path.insert(0, HERE)
    import run as _run

    loadgen = _run.build_loadgen(os.environ.get("CC", "gcc"))
    result = hold(loadgen, opts.connections, opts.workers, opts.clients, opts.python)
    print(json.dumps(result))
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
