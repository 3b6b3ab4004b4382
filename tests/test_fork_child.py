"""A subprocess started while connections move data: its forked child runs none of our greenlets.

Tests start real peers as subprocesses (``gevent.subprocess``, which forks).  Between
the fork and the ``exec`` the child is a copy of this process -- the same sockets,
the same epoll instance.  If anything in the child yields to the hub then, the hub
runs copies of this process's greenlets there: readers ``recv`` (bytes the parent
then never sees), writers send again, and libev calls ``epoll_ctl`` on the epoll
instance the two processes share, rewriting the parent's registrations (a reader
of the parent waits for readability that is never reported again: a lost wake-up).

gevent 24.10.1 on Python 3.13, monkey-patched, does yield there: its
``after_fork_in_child`` hook marks every other green "thread" (any greenlet that
called ``threading.current_thread()``, as ``logging`` does for every record: a
pooled reader that reported an error stays one) done with
``_ThreadHandle._set_done()``, which sleeps 1 ms -- before gevent's own
``reinit()``.  Later gevents pass ``enter_hub=False`` there; conftest.py does the
same for the gevents that cannot.  This is what stalled a stream of
``test_peer_process_killed_mid_transfer_our_server_side`` once in CI.
"""

import os
import subprocess
import sys
import threading

import gevent
import gevent.subprocess
import pytest

from conftest import wait_until

pytestmark = pytest.mark.timeout(60)


def test_a_subprocess_started_mid_transfer_runs_none_of_our_greenlets_before_exec(track, tmp_path):
    parent = os.getpid()
    marks = str(tmp_path / "strangers")
    fd = os.open(marks, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def mark(what):
        if os.getpid() != parent:  # in a forked child that has not exec'd yet
            os.write(fd, b"%d %s\n" % (os.getpid(), what))

    def on_connection(c):
        threading.current_thread()  # as logging.LogRecord does: this pooled reader is a green "thread" now

        def on_data(chunk):
            mark(b"server-data")
            c.write(chunk)

        c.on("data", on_data)

    server = track.listen(on_connection)
    client = track.connect(server.address()["port"], "127.0.0.1")
    echoed = []
    client.on("data", lambda chunk: (mark(b"client-data"), echoed.append(len(chunk))))
    stop = []

    def feed():
        while not stop:
            client.write(b"x" * 16384)
            gevent.sleep(0)

    def tick():  # runnable at every fork: the plainest witness of a child running our greenlets
        while not stop:
            mark(b"tick")
            gevent.sleep(0)

    workers = [gevent.spawn(feed), gevent.spawn(tick)]
    try:
        wait_until(lambda: sum(echoed) > 1024 * 1024, timeout=10, message="the echo under way")
        for _ in range(5):
            child = gevent.subprocess.Popen([sys.executable, "-c", "pass"], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            assert child.wait(10) == 0
        before = sum(echoed)
        wait_until(lambda: sum(echoed) > before + 1024 * 1024, timeout=10, message="the echo still flowing")
    finally:
        stop.append(True)
        gevent.joinall(workers, timeout=5)
        os.close(fd)
    with open(marks, "rb") as f:
        strangers = f.read().decode()
    assert strangers == "", "forked children ran this process's greenlets before exec:\n" + strangers
