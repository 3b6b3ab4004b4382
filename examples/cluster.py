"""Node's ``cluster`` model: pre-forked workers sharing one listening socket.

One gevent process uses one core.  To use more, do what Node's ``cluster`` does:
a master binds the listening socket, forks N workers, and every worker accepts
on that same socket (the kernel hands each new connection to one of them)::

    python examples/cluster.py                    # one worker per core, port 8124
    python examples/cluster.py --workers 2 --port 9000
    python examples/cluster.py --reuse-port       # each worker binds its own socket
    nc localhost 8124                             # an echo server, served by some worker

The master:

* binds with ``net.createServer().listen(port, host)`` (so it gets Node's
  address handling and errors, ``EADDRINUSE`` included), keeps a duplicate of
  the bound descriptor as the *handle* and closes its own ``Server``: the
  master never accepts;
* forks the workers with ``os.fork()``; each worker calls
  ``gevent.reinit()`` (needed after a plain ``os.fork()``), then
  ``net.createServer(handler).listen(handle)`` -- ``listen`` takes a
  ``Server``, anything with ``fileno()``, or ``{'fd': n}`` -- and runs;
* prints ``ready`` once every worker is listening, waits for its children,
  forwards SIGTERM/SIGINT to them (they stop accepting, finish their open
  connections and exit; the master kills what is left after ``--grace``
  seconds), restarts a worker that died abnormally, and exits with status 0
  after a clean shutdown.

With ``--reuse-port`` each worker binds its own socket with
``listen({'port': p, 'host': h, 'reusePort': True})`` (``SO_REUSEPORT``): the
kernel spreads connections evenly by hashing them over the sockets, instead of
letting whichever worker is idle first take the next connection.
"""

import argparse
import errno
import os
import select
import signal
import sys
import time

import gevent

import nodenet_gevent as net


def on_connection(c):
    """The worker's connection handler: an echo server."""
    c.on("error", lambda error: None)  # a client that resets is not our problem
    c.pipe(c)


# ---------------------------------------------------------------------------
# worker


def run_worker(listen_args, ready_fd, handler=on_connection):
    """Body of a forked worker; never returns."""
    status = 1
    try:
        # The master's Python-level handlers were inherited: take them back.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        gevent.reinit()  # a plain os.fork() needs this; gevent.fork() would do it itself
        server = net.createServer(handler)

        def listening():
            os.write(ready_fd, b"%d\n" % os.getpid())
            os.close(ready_fd)

        def stop():
            server.close()  # stop accepting; open connections finish, then run() returns

        gevent.signal_handler(signal.SIGTERM, stop)
        gevent.signal_handler(signal.SIGINT, stop)
        server.on("error", lambda error: (print("worker %d: %s" % (os.getpid(), error), file=sys.stderr), stop()))
        server.listen(*listen_args, listening)
        net.run()
        status = 0
    except BaseException:  # report and leave: never fall back into the master's code
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


# ---------------------------------------------------------------------------
# master


class Master:
    def __init__(self, workers, port, host, reuse_port, grace, respawn, quiet):
        self.count = workers
        self.host = host
        self.grace = grace
        self.respawn = respawn
        self.quiet = quiet
        self.children = {}  # pid -> started at (monotonic)
        self.stopping = False
        self.stop_deadline = None
        self.ready_r, self.ready_w = os.pipe()
        if reuse_port:
            # Each worker binds its own SO_REUSEPORT socket.  Bind one here only
            # to fail early (EADDRINUSE) and to learn the port when 0 was asked.
            probe = net.createServer().listen({"port": port, "host": host, "reusePort": True})
            self.port = _bound_port(probe)
            probe.close()
            self.listen_args = ({"port": self.port, "host": host, "reusePort": True},)
            self.handle = None
        else:
            server = net.createServer().listen(port, host)
            self.port = _bound_port(server)
            # The handle the workers inherit; the master's Server stops here
            # (before it ever ran its acceptor), so the master never accepts.
            self.handle = {"fd": os.dup(server.fileno())}
            server.close()
            self.listen_args = (self.handle,)

    def log(self, message):
        if not self.quiet:
            print("master %d: %s" % (os.getpid(), message), file=sys.stderr, flush=True)

    def fork(self):
        pid = os.fork()
        if pid == 0:
            os.close(self.ready_r)
            run_worker(self.listen_args, self.ready_w)  # never returns
        self.children[pid] = time.monotonic()
        return pid

    def on_signal(self, signum, frame):
        if not self.stopping:
            self.stopping = True
            self.stop_deadline = time.monotonic() + self.grace
            self.log("%s: stopping %d worker(s)" % (signal.Signals(signum).name, len(self.children)))
        for pid in list(self.children):
            _kill(pid, signal.SIGTERM)

    def run(self):
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        for _ in range(self.count):
            self.fork()
        self.wait_ready()
        if not self.stopping:
            print("ready: %d worker(s) on %s:%d (%s)" % (
                self.count, self.host, self.port, "reusePort" if self.handle is None else "shared handle"), flush=True)
        while self.children:
            self.reap()
        if self.handle is not None:
            os.close(self.handle["fd"])
        self.log("all workers gone")
        return 0

    def wait_ready(self):
        """Block until every worker said it is listening (or died trying)."""
        waiting = self.count
        buffer = b""
        deadline = time.monotonic() + 30
        while waiting > 0 and self.children and not self.stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit("master: workers did not start within 30 s")
            try:
                readable, _, _ = select.select([self.ready_r], [], [], min(left, 0.2))
            except InterruptedError:
                continue
            if readable:
                buffer += os.read(self.ready_r, 4096)
                waiting = self.count - buffer.count(b"\n")
            self.reap(block=False)

    def reap(self, block=True):
        """Collect exited workers; restart the ones that died while we were serving."""
        if self.stopping and time.monotonic() >= self.stop_deadline:
            for pid in list(self.children):
                _kill(pid, signal.SIGKILL)
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            self.children.clear()
            return
        if pid == 0:
            if block:
                time.sleep(0.1)  # signal handlers run meanwhile; reaping is not urgent
            return
        started = self.children.pop(pid, None)
        if started is None:
            return
        code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status
        if self.stopping:
            self.log("worker %d exited (%s)" % (pid, code))
            return
        self.log("worker %d died (%s)" % (pid, code))
        if self.respawn and time.monotonic() - started > 1.0:
            self.log("worker %d started" % self.fork())
        elif not self.children:
            raise SystemExit("master: the last worker died")


def _kill(pid, signum):
    try:
        os.kill(pid, signum)
    except OSError as error:
        if error.errno != errno.ESRCH:
            raise


def _bound_port(server):
    address = server.address()
    if address is None:  # listen() failed: its 'error' comes on the next tick
        net.once(server, "listening", timeout=5)  # raises that error
    return server.address()["port"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", "-w", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--port", "-p", type=int, default=int(os.environ.get("PORT", 8124)))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--reuse-port", action="store_true", help="each worker binds with SO_REUSEPORT")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds workers get to finish on SIGTERM")
    parser.add_argument("--no-respawn", dest="respawn", action="store_false")
    parser.add_argument("--quiet", "-q", action="store_true")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        master = Master(args.workers, args.port, args.host, args.reuse_port, args.grace, args.respawn, args.quiet)
    except OSError as error:
        print("master: %s" % (error,), file=sys.stderr)
        return 1
    return master.run()


if __name__ == "__main__":
    sys.exit(main())
