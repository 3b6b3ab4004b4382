#!/usr/bin/env python
"""Where an idle connection's memory goes: the parts one by one, then a whole server.

    python benchmarks/memory.py parts            # bare greenlets, gevent sockets, Socket objects
    python benchmarks/memory.py server -c 10000  # our echo server (c.pipe(c)) holding loadgen's idle connections
    python benchmarks/memory.py greenlets        # the time side: a new greenlet per wake-up against a switch

Every figure is per item: the growth of this process's RSS (``/proc``)
divided by the count, and what ``tracemalloc`` saw allocated by Python's
allocators (objects, and greenlet's saved stacks, which greenlet copies into
``PyMem`` memory), with the top allocation sites.  RSS includes what no
Python allocator sees (libev/libuv watcher memory, malloc overhead), not the
kernel's socket buffers.
"""

import argparse
import gc
import os
import socket
import subprocess
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Probe:
    """RSS and tracemalloc before/after, per item."""

    def __init__(self, label, count, trace=True):
        self.label, self.count, self.trace = label, count, trace

    def __enter__(self):
        gc.collect()
        if self.trace:
            tracemalloc.start(1)
            self.before_snapshot = tracemalloc.take_snapshot()
        self.rss = rss_kib()
        return self

    def done(self, top=0):
        gc.collect()
        rss = rss_kib() - self.rss
        line = "%-58s RSS %6.2f KiB" % (self.label, rss / self.count)
        sites = []
        if self.trace:
            snapshot = tracemalloc.take_snapshot()
            stats = snapshot.compare_to(self.before_snapshot, "lineno")
            traced = sum(stat.size_diff for stat in stats)
            line += "   traced %6.2f KiB" % (traced / 1024 / self.count)
            sites = [s for s in stats if s.size_diff > 0][:top]
        print(line, flush=True)
        for stat in sites:
            frame = stat.traceback[0]
            print("      %7.0f B  %s:%d" % (stat.size_diff / self.count, _short(frame.filename), frame.lineno))
        return rss / self.count

    def __exit__(self, *exc):
        if self.trace:
            tracemalloc.stop()


def _short(path):
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    if "nodenet_gevent/" in path:
        return "nodenet_gevent/" + path.rsplit("nodenet_gevent/", 1)[1]
    return path


PARTS = ("parked1", "parked6", "unstarted", "socketpair", "gsocket", "watcher", "event", "socketobj")


def parts(count):
    """Each part in a fresh interpreter, so that memory freed by one is not reused by the next."""
    import gevent
    import greenlet

    print("%d of each (Python %s, gevent %s, greenlet %s)\n" % (
        count, sys.version.split()[0], gevent.__version__, greenlet.__version__), flush=True)
    for name in PARTS:
        subprocess.run([sys.executable, __file__, "part", name, "-c", str(count)], check=True)


def part(name, count):
    import gevent
    import greenlet
    from gevent import socket as gsocket
    from gevent.event import Event
    from gevent.hub import get_hub
    from servers._common import raise_nofile

    raise_nofile()
    hub = get_hub()
    event = Event()

    def deep(n):  # parked a few frames down, as a reader is (_run_reader, _read_loop, wait...)
        if n:
            return deep(n - 1)
        event.wait()

    def wrap(pairs):
        return [gsocket.socket(fileno=a.detach()) for a, _ in pairs]

    gevent.sleep(0)
    if name in ("parked1", "parked6"):
        target = event.wait if name == "parked1" else (lambda: deep(5))
        with Probe("greenlet parked on one Event (%s)" % ("1 frame" if name == "parked1" else "6 frames"),
                   count) as probe:
            keep = []
            for _ in range(count):
                g = greenlet.greenlet(target, hub)
                hub.loop.run_callback(g.switch)
                keep.append(g)
            gevent.sleep(0.1)
            probe.done(top=3)
    elif name == "unstarted":
        with Probe("greenlet not started (run = a bound method)", count) as probe:
            keep = [greenlet.greenlet(event.wait, hub) for _ in range(count)]
            probe.done(top=2)
    elif name == "socketpair":
        with Probe("socket.socketpair() (two stdlib socket objects)", count) as probe:
            pairs = [socket.socketpair() for _ in range(count)]
            probe.done(top=2)
    elif name in ("gsocket", "watcher"):
        pairs = [socket.socketpair() for _ in range(count)]
        if name == "gsocket":
            with Probe("gevent socket wrapper and its 2 watchers (one side)", count) as probe:
                wrapped = wrap(pairs)
                probe.done(top=4)
        else:
            wrapped = wrap(pairs)
            with Probe("...its read watcher started, no greenlet waiting", count) as probe:
                for sock in wrapped:
                    sock._read_event.start(_never)
                probe.done(top=2)
    elif name == "event":
        with Probe("gevent Event() (the park event, made on first pause)", count) as probe:
            keep = [Event() for _ in range(count)]
            probe.done(top=2)
    elif name == "socketobj":
        import nodenet_gevent as net
        from nodenet_gevent.state import FIELDS

        pairs = [socket.socketpair() for _ in range(count)]
        wrapped = wrap(pairs)
        with Probe("net.Socket as accepted, with c.pipe(c) (no greenlet)", count) as probe:
            keep = []
            for sock in wrapped:
                c = net.Socket.__new__(net.Socket)
                c._events = {}
                c._lock = None
                for field in FIELDS:
                    if not hasattr(c, field):
                        setattr(c, field, None)
                c._handle, c._state, c._hwm, c._flowing, c._queued = sock, "open", 16384, None, 0
                c.pipe(c)
                keep.append(c)
            probe.done(top=6)
        print("      (sys.getsizeof(Socket) = %d B, has __dict__: %s)" % (
            sys.getsizeof(keep[0]), hasattr(keep[0], "__dict__")))


def greenlet_costs(count=100000):
    """Why a dormant reader's wake-up takes a pooled greenlet rather than a new one (dormant.py)."""
    import greenlet

    main = greenlet.getcurrent()

    def body():
        return None

    started = time.perf_counter()
    for _ in range(count):
        greenlet.greenlet(body).switch()
    fresh = (time.perf_counter() - started) / count

    def loop():
        while True:
            main.switch()

    parked = greenlet.greenlet(loop)
    started = time.perf_counter()
    for _ in range(count):
        parked.switch()
    switch = (time.perf_counter() - started) / count
    print("a new greenlet, run and finished: %.2f us; a switch into a parked one and back: %.2f us" % (
        fresh * 1e6, switch * 1e6))


def _never():
    raise AssertionError("no data was sent")


def server(count, kind, loadgen):
    import gevent
    from servers._common import raise_nofile

    import nodenet_gevent as net

    raise_nofile()
    gc.collect()
    trace = not os.environ.get("NO_TRACE")
    if trace:
        tracemalloc.start(1)
        base_snapshot = tracemalloc.take_snapshot()
    handler = (lambda c: c.pipe(c)) if kind == "pipe" else (lambda c: c.on("data", c.write))
    srv = net.createServer(handler)
    listening = gevent.event.Event()
    srv.listen(0, "127.0.0.1", listening.set)
    listening.wait()
    gevent.sleep(0.1)
    base = rss_kib()
    port = srv.address()["port"]
    proc = gevent.subprocess.Popen(
        [loadgen, "--mode", "idle", "--port", str(port), "-c", str(count), "-t", "60", "--inflight", "256"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = proc.stdout.readline()
    gevent.sleep(0.5)
    gc.collect()
    held = rss_kib() - base
    print("server %s, %d idle connections (%s): RSS %.2f KiB/conn" % (kind, count, line.decode().strip(), held / count))
    if trace:
        snapshot = tracemalloc.take_snapshot()
        stats = snapshot.compare_to(base_snapshot, "lineno")
        traced = sum(stat.size_diff for stat in stats)
        print("  traced by tracemalloc: %.2f KiB/conn; top sites:" % (traced / 1024 / count))
        for stat in [s for s in stats if s.size_diff > 0][:14]:
            frame = stat.traceback[0]
            print("      %7.0f B  %s:%d" % (stat.size_diff / count, _short(frame.filename), frame.lineno))
    out, _ = proc.communicate(b"go\n")
    print("  loadgen after 'go':", out.decode().strip().splitlines()[-1:])
    srv.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["parts", "part", "server", "greenlets"])
    parser.add_argument("name", nargs="?")
    parser.add_argument("-c", "--count", type=int, default=None)
    parser.add_argument("--kind", choices=["pipe", "data"], default="pipe")
    opts = parser.parse_args()
    if opts.what == "parts":
        parts(opts.count or 8000)
    elif opts.what == "greenlets":
        greenlet_costs()
    elif opts.what == "part":
        part(opts.name, opts.count or 8000)
    else:
        import run as _run

        loadgen = _run.build_loadgen(os.environ.get("CC", "gcc"))
        server(opts.count or 10000, opts.kind, loadgen)


if __name__ == "__main__":
    import gevent.event  # noqa: F401
    import gevent.subprocess  # noqa: F401

    main()
