"""net.finished() and net.pipeline() over real sockets (TCP on 127.0.0.1 and Unix).

What each test checks is what Node 20 does with real ``net`` sockets (the ``node -e``
scripts behind them are summed up in the test names and comments).  Every callback
must run once, in a greenlet (never the hub) and, where Node defers it, never inside
the call that caused it.
"""

import hashlib
import os
import socket as stdlib_socket
import struct

import gevent
import gevent.event
import gevent.queue
import gevent.socket as gsocket
import pytest

import nodenet_gevent as net
from nodenet_gevent.emitter import EventEmitter
from conftest import event_flag, read_all, recorded_greenlet_errors, refused_port

pytestmark = pytest.mark.timeout(20)

PREMATURE = "ERR_STREAM_PREMATURE_CLOSE"



class Callback:
    """A finished()/pipeline() callback that records its calls and where they ran."""

    def __init__(self, name="callback"):
        self.name = name
        self.calls = []
        self.returned = False  # set by the test once the call that registered it returned
        self.done = gevent.event.Event()

    def __call__(self, error):
        self.calls.append({"error": error, "hub": gevent.getcurrent() is gevent.get_hub(),
                           "after_return": self.returned})
        self.done.set()

    def wait(self, timeout=5):
        """The first call's error, once it came; checks the rules every call must follow."""
        assert self.done.wait(timeout), "%s not called within %s s" % (self.name, timeout)
        call = self.calls[0]
        assert not call["hub"], "%s ran in the hub" % self.name
        return call["error"]

    def check_once(self):
        assert len(self.calls) == 1, "%s called %d times: %r" % (self.name, len(self.calls), self.calls)


class Events(list):
    """The events a socket emits, in order, as (name, *args); ``wait(name)`` for one."""

    def __init__(self, sock, events=("end", "finish", "error", "close")):
        super().__init__()
        self.flags = {name: gevent.event.Event() for name in events}
        for name in events:
            sock.on(name, lambda *args, _name=name: self._record(_name, args))

    def _record(self, name, args):
        self.append((name,) + args)
        self.flags[name].set()

    def wait(self, name, timeout=5):
        assert self.flags[name].wait(timeout), "no %r within %s s; saw %r" % (name, timeout, names(self))

    def args(self, name):
        return [entry[1:] for entry in self if entry[0] == name]


def record_events(sock):
    return Events(sock)


def names(seen):
    return [entry[0] for entry in seen]


def connected_pair(track, server_options=None, client_options=None, unix=False):
    """(client, server_side): a connected pair of our sockets, the server side untouched."""
    accepted = gevent.queue.Queue()
    if unix:
        server, path = track.listen_unix(accepted.put, **(server_options or {}))
        client = track.connect({"path": path, **(client_options or {})})
    else:
        server = track.listen(accepted.put, **(server_options or {}))
        client = track.connect({"port": server.address()["port"], "host": "127.0.0.1", **(client_options or {})})
    net.once(client, "connect", timeout=5)
    return client, accepted.get(timeout=5)


def reset(sock):
    """Close raw gevent socket *sock* with a RST (SO_LINGER 0)."""
    sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# ---------------------------------------------------------------------------
# finished(): the end of a stream


@pytest.mark.parametrize("first", ["end", "finish"])
def test_finished_waits_for_end_and_finish_then_calls_back_before_close(track, first):
    # node: cb once both 'end' and 'finish' came, whichever is last, with the
    # socket not yet destroyed; 'close' follows.
    half_open = {"allowHalfOpen": True}
    client, server_side = connected_pair(track, **({"client_options": half_open} if first == "end" else
                                                   {"server_options": half_open}))
    seen = record_events(client)
    done = Callback()
    cleanup = net.finished(client, lambda err: (done(err), setattr(done, "state", (names(seen), client.destroyed))))
    assert callable(cleanup)
    client.resume()
    server_side.resume()
    if first == "end":
        server_side.end(b"bye")
    else:
        client.end(b"bye")
    seen.wait(first)
    assert not done.done.is_set(), "called back after %r alone" % first
    if first == "end":
        client.end()
    else:
        server_side.end()
    assert done.wait() is None
    events, destroyed = done.state
    assert sorted(events) == ["end", "finish"] and not destroyed
    seen.wait("close")
    done.check_once()


def test_finished_on_unix_socket(track):
    client, server_side = connected_pair(track, unix=True)
    done = Callback()
    net.finished(server_side, done)
    server_side.resume()
    client.end(b"x")
    assert read_all(client) == b""
    assert done.wait() is None
    done.check_once()


def test_finished_readable_false_waits_for_finish_only(track):
    # node: {readable: false} calls back at 'finish' while the readable side is open.
    client, server_side = connected_pair(track, server_options={"allowHalfOpen": True})
    server_side.resume()
    done = Callback()
    net.finished(client, {"readable": False}, done)
    client.end(b"only our side")
    assert done.wait() is None
    assert client.readable and not client.destroyed
    done.check_once()


def test_finished_writable_false_waits_for_end_only(track):
    # node: {writable: false} calls back at 'end' while we may still write.
    client, server_side = connected_pair(track, client_options={"allowHalfOpen": True})
    done = Callback()
    net.finished(client, callback=done, writable=False)  # options and callback as keywords
    client.resume()
    server_side.end()
    assert done.wait() is None
    assert client.writable and not client.destroyed
    done.check_once()
    client.end()


def test_finished_error_is_the_error_event_before_close(track):
    # node: cb(err) at 'error' (the same object), before 'close'.
    client, _ = connected_pair(track)
    seen = record_events(client)
    done = Callback()
    net.finished(client, lambda err: (done(err), setattr(done, "seen", names(seen))))
    boom = RuntimeError("boom")
    client.destroy(boom)
    assert done.wait() is boom
    assert done.seen == ["error"]
    seen.wait("close")
    done.check_once()


def test_finished_peer_reset_is_econnreset(track):
    listener = gsocket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        client = track.connect(listener.getsockname()[1], "127.0.0.1")
        client.on("error", lambda err: None)
        connected = event_flag(client, "connect")
        done = Callback()
        net.finished(client, done)
        peer, _ = listener.accept()
        assert connected.wait(5)
        reset(peer)
        error = done.wait()
        assert isinstance(error, ConnectionResetError) and error.code == "ECONNRESET"
        assert client.destroyed
        done.check_once()
    finally:
        listener.close()


def test_finished_premature_close(track):
    # node: destroy() with no error before 'end'/'finish': ERR_STREAM_PREMATURE_CLOSE, 'Premature close'.
    client, _ = connected_pair(track)
    done = Callback()
    net.finished(client, done)
    client.destroy()
    error = done.wait()
    assert isinstance(error, net.NodeError)
    assert (error.code, str(error)) == (PREMATURE, "Premature close")
    done.check_once()


def test_finished_error_false_reports_at_close_and_leaves_error_to_others(track):
    # node: {error: false} adds no 'error' listener; the callback comes at 'close'
    # with the stream's error (stream.errored).
    client, _ = connected_pair(track)
    errors = []
    client.on("error", errors.append)
    done = Callback()
    net.finished(client, {"error": False}, lambda err: (done(err), setattr(done, "closed", client.destroyed)))
    assert client.listener_count("error") == 1
    boom = RuntimeError("boom")
    client.destroy(boom)
    error = done.wait()
    assert errors == [boom]
    assert error is boom  # the Socket's 'errored'
    done.check_once()


def test_finished_cleanup_removes_listeners_and_callback_never_runs(track, must_call):
    client, server_side = connected_pair(track)
    before = {event: client.listener_count(event) for event in ("end", "finish", "error", "close")}
    cleanup = net.finished(client, must_call.never("finished callback"))
    assert {event: client.listener_count(event) for event in before} == {e: n + 1 for e, n in before.items()}
    cleanup()
    assert {event: client.listener_count(event) for event in before} == before
    cleanup()  # twice is harmless
    client.resume()
    client.end()
    server_side.end()
    net.once(client, "close", timeout=5)


def test_finished_cleanup_in_the_same_tick_cancels_a_scheduled_callback(track, must_call):
    # node (test-stream-finished.js, testClosed): destroyed, then finished() and
    # its cleanup in the same tick: never called.
    client, _ = connected_pair(track)
    client.destroy()
    net.finished(client, must_call.never("finished callback"))()
    net.once(client, "close", timeout=5)
    later = Callback()
    net.finished(client, later)  # scheduled after the first one's: it has run by now
    later.wait()


def test_finished_on_destroyed_socket_calls_back_on_a_later_tick(track):
    # node: finished() right after destroy() / destroy(err): premature close / err,
    # on the next tick.
    client, _ = connected_pair(track)
    client.destroy()
    done = Callback()
    net.finished(client, done)
    done.returned = True
    assert done.wait().code == PREMATURE
    assert done.calls[0]["after_return"]

    other, _ = connected_pair(track)
    other.on("error", lambda err: None)
    boom = RuntimeError("boom")
    other.destroy(boom)
    done = Callback()
    net.finished(other, done)
    done.returned = True
    assert done.wait() is boom
    assert done.calls[0]["after_return"]
    done.check_once()


def test_finished_in_end_handler_with_writable_false_calls_back_on_next_tick(track):
    # node: from an 'end' listener, finished(s, {writable: false}) calls back on the next tick.
    client, server_side = connected_pair(track)
    done = Callback()

    def on_end():
        net.finished(client, {"writable": False}, done)
        done.returned = True

    client.on("end", on_end)
    client.resume()
    server_side.end()
    assert done.wait() is None
    assert done.calls[0]["after_return"]
    done.check_once()


def test_finished_after_end_call_waits_for_finish(track):
    # node: end() then finished(s, {readable: false}): not at once, at 'finish'.
    client, server_side = connected_pair(track, server_options={"allowHalfOpen": True})
    server_side.resume()
    finish = event_flag(client, "finish")
    done = Callback()
    client.end(b"x" * 1_000_000)
    net.finished(client, {"readable": False}, lambda err: (done(err), setattr(done, "finished", finish.is_set())))
    assert done.wait() is None
    assert done.finished
    done.check_once()


def test_finished_on_a_socket_closed_cleanly_succeeds(track):
    # node: after a clean 'close', finished() calls back (next tick) with no error.
    client, server_side = connected_pair(track)
    closed = event_flag(client, "close")
    server_side.end()
    client.resume()
    client.end()
    assert closed.wait(5)
    done = Callback()
    net.finished(client, done)
    done.returned = True
    assert done.wait() is None
    assert done.calls[0]["after_return"]


def test_finished_in_finish_handler_with_readable_false_calls_back_on_next_tick(track):
    # node: from a 'finish' listener, finished(s, {readable: false}) calls back on the
    # next tick (writableFinished), though the readable side is still open.
    client, server_side = connected_pair(track, server_options={"allowHalfOpen": True})
    server_side.resume()
    done = Callback()

    def on_finish():
        net.finished(client, {"readable": False}, done)
        done.returned = True

    client.on("finish", on_finish)
    client.end(b"x")
    assert done.wait() is None
    assert done.calls[0]["after_return"] and client.readable
    done.check_once()


def test_finished_after_close_reports_the_error(track):
    # node: after 'close' of a socket destroyed with err: cb(err).
    client, _ = connected_pair(track)
    client.on("error", lambda err: None)
    boom = RuntimeError("boom")
    client.destroy(boom)
    with pytest.raises(RuntimeError):  # 'error' (boom) comes before 'close'
        net.once(client, "close", timeout=5)
    done = Callback()
    net.finished(client, done)
    assert done.wait() is boom


class PlainStream(EventEmitter):
    """A stream-like with only what a Socket had before Node's stream-state properties:
    ``destroyed``, ``readable``, ``writable`` and the events (the test emits them)."""

    def __init__(self):
        super().__init__()
        self.destroyed = False
        self.readable = True
        self.writable = True

    def write(self, chunk):
        return True

    def end(self):
        self.writable = False

    def pipe(self, destination, end=True):
        return destination

    def pause(self):
        return self

    def resume(self):
        return self


def test_finished_without_state_properties_goes_by_the_events():
    # What finished() falls back on for a stream without closed/errored/readableEnded/
    # writableFinished (streams.py): the events, and destroyed/readable/writable.
    s = PlainStream()
    assert not hasattr(s, "writableFinished")
    done = Callback()
    net.finished(s, done)
    s.end()
    s.emit("finish")
    assert not done.done.is_set()
    s.readable = False
    s.emit("end")
    assert done.wait() is None  # at once, inside the emit, as Node
    s.emit("close")
    done.check_once()

    early = Callback()
    s2 = PlainStream()
    net.finished(s2, early)
    s2.emit("end")
    s2.destroyed = True
    s2.emit("close")
    assert early.wait().code == PREMATURE

    gone = PlainStream()
    gone.destroyed, gone.readable, gone.writable = True, False, False
    late = Callback()
    net.finished(gone, late)
    late.returned = True
    assert late.wait().code == PREMATURE  # destroyed, history unknown: not a clean end
    assert late.calls[0]["after_return"]

    ended = PlainStream()
    ended.readable = False  # open and not readable: 'end' came
    read_side = Callback()
    net.finished(ended, {"writable": False}, read_side)
    read_side.returned = True
    assert read_side.wait() is None and read_side.calls[0]["after_return"]

    # ... and for both sides: 'finish' is the last one then.
    half = PlainStream()
    half.readable = False
    both = Callback()
    net.finished(half, both)
    half.emit("finish")
    assert both.wait() is None

    # end() called, 'finish' not seen: not writable says nothing without writableEnded,
    # so finished() waits for 'finish'.
    ending = PlainStream()
    ending.end()
    write_side = Callback()
    net.finished(ending, {"readable": False}, write_side)
    ticked = gevent.event.Event()
    net.next_tick(ticked.set)  # after any next tick finished() scheduled
    assert ticked.wait(5)
    assert not write_side.done.is_set()
    ending.emit("finish")
    assert write_side.wait() is None


@pytest.mark.parametrize(
    "args, code, words",
    [
        ((), "ERR_INVALID_ARG_TYPE", 'The "callback" argument must be of type function. Received None'),
        ((42,), "ERR_INVALID_ARG_TYPE", 'The "callback" argument must be of type function'),
        (({},), "ERR_INVALID_ARG_TYPE", 'The "callback" argument'),  # two arguments: the second is the callback
        ((42, print), "ERR_INVALID_ARG_TYPE", 'The "options" argument must be of type object'),
        (("x", print), "ERR_INVALID_ARG_TYPE", 'The "options" argument must be of type object'),
        (([], print), "ERR_INVALID_ARG_TYPE", 'The "options" argument must be of type object'),
        (({}, "foo"), "ERR_INVALID_ARG_TYPE", 'The "callback" argument'),
    ],
)
def test_finished_bad_arguments(args, code, words):
    sock = net.Socket()
    with pytest.raises(TypeError) as raised:
        net.finished(sock, *args)
    assert raised.value.code == code
    assert words in str(raised.value)
    assert sock.listener_count("close") == 0


@pytest.mark.parametrize("thing", [42, {}, net.Server(), object()])
def test_finished_refuses_what_is_not_a_stream(thing):
    with pytest.raises(TypeError) as raised:
        net.finished(thing, print)
    assert raised.value.code == "ERR_INVALID_ARG_TYPE"
    assert str(raised.value).startswith(
        'The "stream" argument must be an instance of ReadableStream, WritableStream, or Stream. Received')


def test_finished_none_options_are_no_options(track):
    client, _ = connected_pair(track)
    done = Callback()
    net.finished(client, None, done)
    client.destroy()
    assert done.wait().code == PREMATURE


# ---------------------------------------------------------------------------
# pipeline(): a proxy, and what stops it


def echo_server(track, **options):
    return track.listen(lambda c: c.pipe(c), **options)


def serve_proxy(track, upstream, allow_half_open=True, on_pipeline=None):
    """A proxy: each connection becomes ``pipeline(A, U, A, cb)`` to *upstream* (a port or a path).

    Returns (server, queue of {'A', 'U', 'callback', 'events'} per connection).
    """
    made = gevent.queue.Queue()

    def on_connection(a):
        target = {"path": upstream} if isinstance(upstream, str) else {"port": upstream, "host": "127.0.0.1"}
        u = track.connect({**target, "allowHalfOpen": allow_half_open})
        entry = {"A": a, "U": u, "callback": Callback("pipeline callback"),
                 "events": {"A": record_events(a), "U": record_events(u)}}
        if on_pipeline is not None:
            on_pipeline(entry)
        entry["returned"] = net.pipeline(a, u, a, entry["callback"])
        entry["callback"].returned = True
        made.put(entry)

    return track.listen(on_connection, allowHalfOpen=allow_half_open), made


def send_and_receive(track, port_or_path, data):
    client = track.connect(port_or_path) if isinstance(port_or_path, str) else track.connect(port_or_path, "127.0.0.1")
    client.end(data)
    return client, read_all(client, timeout=10)


def test_pipeline_proxy_moves_data_intact_both_ways(track):
    upstream = echo_server(track)
    proxy, made = serve_proxy(track, upstream.address()["port"])
    data = os.urandom(4 * 1024 * 1024)
    client, received = send_and_receive(track, proxy.address()["port"], data)
    assert hashlib.sha256(received).hexdigest() == hashlib.sha256(data).hexdigest()
    entry = made.get(timeout=5)
    assert entry["returned"] is entry["A"]  # pipeline() returns the last stream
    assert entry["callback"].wait() is None
    assert entry["callback"].calls[0]["after_return"]
    # node: every stream's part done, nothing destroyed with an error.
    for name in ("A", "U"):
        events = names(entry["events"][name])
        assert "end" in events and "finish" in events and "error" not in events
    entry["callback"].check_once()


def test_pipeline_proxy_over_unix_sockets(track):
    upstream, path = track.listen_unix(lambda c: c.pipe(c), allowHalfOpen=True)
    made = gevent.queue.Queue()

    def on_connection(a):
        u = track.connect({"path": path, "allowHalfOpen": True})
        callback = Callback("pipeline callback")
        net.pipeline([a, u, a], callback)  # Node's array form
        made.put(callback)

    _, proxy_path = track.listen_unix(on_connection, allowHalfOpen=True)
    data = os.urandom(1024 * 1024)
    _, received = send_and_receive(track, proxy_path, data)
    assert received == data
    callback = made.get(timeout=5)
    assert callback.wait() is None


def test_pipeline_upstream_reset_destroys_every_stream_and_calls_back_once(track):
    # node: U 'error' ECONNRESET, A destroyed with the same error ('error' on A),
    # callback(err) once.
    listener = gsocket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def reset_mid_stream():
        peer, _ = listener.accept()
        received = 0
        while received < 256 * 1024:
            chunk = peer.recv(65536)
            if not chunk:
                break
            received += len(chunk)
        reset(peer)

    resetter = gevent.spawn(reset_mid_stream)
    try:
        proxy, made = serve_proxy(track, listener.getsockname()[1])
        client = track.connect(proxy.address()["port"], "127.0.0.1")
        client.on("error", lambda err: None)  # our end is reset too when A is destroyed
        client_closed = event_flag(client, "close")
        client.write(os.urandom(4 * 1024 * 1024))
        entry = made.get(timeout=5)
        a, u, callback = entry["A"], entry["U"], entry["callback"]
        error = callback.wait()
        assert isinstance(error, OSError) and error.code in ("ECONNRESET", "EPIPE"), error
        assert a.destroyed and u.destroyed  # every stream, by the time of the callback
        assert client_closed.wait(5)
        for name in ("A", "U"):
            entry["events"][name].wait("close")
        assert entry["events"]["A"].args("error") == [(error,)]  # A destroyed with the upstream's error, once
        callback.check_once()
        resetter.get(timeout=5)
    finally:
        resetter.kill()
        listener.close()


def test_pipeline_upstream_refused(track):
    with refused_port() as port:
        proxy, made = serve_proxy(track, port)
        client = track.connect(proxy.address()["port"], "127.0.0.1")
        client.on("error", lambda err: None)
        client_closed = event_flag(client, "close")
        entry = made.get(timeout=5)
        error = entry["callback"].wait()
        assert isinstance(error, ConnectionRefusedError) and error.code == "ECONNREFUSED"
        assert entry["A"].destroyed
        assert client_closed.wait(5)
        entry["callback"].check_once()


def test_pipeline_client_going_away_destroys_the_upstream(track):
    # The other way round: the client resets, A errors, U is destroyed with A's error.
    upstream = echo_server(track, allowHalfOpen=True)
    proxy, made = serve_proxy(track, upstream.address()["port"])
    raw = gsocket.create_connection(("127.0.0.1", proxy.address()["port"]))
    raw.sendall(b"hello")
    entry = made.get(timeout=5)
    assert raw.recv(5) == b"hello"
    reset(raw)
    error = entry["callback"].wait()
    assert error.code == "ECONNRESET"
    assert entry["U"].destroyed
    entry["events"]["U"].wait("close")
    assert entry["events"]["U"].args("error") == [(error,)]
    entry["callback"].check_once()


def test_pipeline_proxy_without_allow_half_open_is_a_premature_close_as_in_node(track):
    # node: pipeline(A, U, A) where A ends its side as soon as the client's FIN
    # arrives (no allowHalfOpen): A closes before U's answer, ERR_STREAM_PREMATURE_CLOSE.
    def answer_at_end(c):
        c.resume()
        c.on("end", lambda: c.end(b"late answer"))

    upstream = track.listen(answer_at_end, allowHalfOpen=True)
    proxy, made = serve_proxy(track, upstream.address()["port"], allow_half_open=False)
    client = track.connect(proxy.address()["port"], "127.0.0.1")
    client.end(b"question")
    entry = made.get(timeout=5)
    error = entry["callback"].wait()
    assert error.code == PREMATURE
    assert entry["U"].destroyed
    assert read_all(client) == b""


def test_pipeline_back_pressure_pauses_the_source_and_loses_nothing(track):
    # The upstream reads nothing at first: U's queue fills, so A is paused (no
    # recv: the client is pushed back by TCP); then it reads, and every byte arrives.
    upstream_side = gevent.queue.Queue()
    upstream = track.listen(upstream_side.put, pauseOnConnect=True)
    made = gevent.queue.Queue()

    def on_connection(a):
        paused = event_flag(a, "pause")
        u = track.connect(upstream.address()["port"], "127.0.0.1")
        callback = Callback("pipeline callback")
        assert net.pipeline(a, u, callback) is u
        made.put((paused, callback))

    proxy = track.listen(on_connection)
    data = os.urandom(8 * 1024 * 1024)
    client = track.connect(proxy.address()["port"], "127.0.0.1")
    client.end(data)
    paused, callback = made.get(timeout=5)
    assert paused.wait(5), "the source was never paused"
    assert not callback.done.is_set()
    up = upstream_side.get(timeout=5)
    received = []
    up.on("data", received.append)
    ended = event_flag(up, "end")
    up.resume()  # pauseOnConnect: a 'data' listener alone does not resume it
    assert ended.wait(10)
    assert hashlib.sha256(b"".join(received)).digest() == hashlib.sha256(data).digest()
    assert callback.wait() is None
    callback.check_once()


def test_pipeline_echo_socket_into_itself(track, must_call):
    server_done = gevent.queue.Queue()

    def on_connection(c):
        callback = Callback("pipeline callback")
        net.pipeline(c, c, callback=lambda err: (callback(err), setattr(callback, "state", (
            later.is_set(), c.listener_count("error")))))  # the callback as a keyword
        later = event_flag(c, "finish")
        server_done.put(callback)

    server = track.listen(on_connection)
    client = track.connect(server.address()["port"], "127.0.0.1")
    client.end(b"ping")
    assert read_all(client) == b"ping"
    callback = server_done.get(timeout=5)
    assert callback.wait() is None
    # node: the callback comes on a later tick, after every 'finish' listener
    # (one added after pipeline() too); of the pipeline's 6 'error' listeners on
    # c, the 3 of its last place are gone (its readable side outlives the pipeline).
    assert callback.state == (True, 3)


@pytest.mark.parametrize(
    "make_args, error_type, code, message",
    [
        (lambda s: (), TypeError, "ERR_INVALID_ARG_TYPE",
         'The "streams[stream.length - 1]" property must be of type function. Received None'),
        (lambda s: (s,), TypeError, "ERR_INVALID_ARG_TYPE",
         'The "streams[stream.length - 1]" property must be of type function.'),
        (lambda s: (s, s), TypeError, "ERR_INVALID_ARG_TYPE",
         'The "streams[stream.length - 1]" property must be of type function.'),
        (lambda s: ([s, s],), TypeError, "ERR_INVALID_ARG_TYPE",
         'The "streams[stream.length - 1]" property must be of type function.'),
        (lambda s: (print,), TypeError, "ERR_MISSING_ARGS", 'The "streams" argument must be specified'),
        (lambda s: (s, print), TypeError, "ERR_MISSING_ARGS", 'The "streams" argument must be specified'),
        (lambda s: ([s], print), TypeError, "ERR_MISSING_ARGS", 'The "streams" argument must be specified'),
        (lambda s: ([], print), TypeError, "ERR_MISSING_ARGS", 'The "streams" argument must be specified'),
        (lambda s: (s, 42, print), TypeError, "ERR_INVALID_ARG_TYPE", 'The "streams[1]" argument must be'),
        (lambda s: (42, s, print), TypeError, "ERR_INVALID_ARG_TYPE", 'The "streams[0]" argument must be'),
        (lambda s: (s, net.Server(), print), TypeError, "ERR_INVALID_ARG_TYPE", 'The "streams[1]" argument'),
    ],
)
def test_pipeline_bad_arguments_raise_and_touch_nothing(make_args, error_type, code, message):
    sock = net.Socket()
    with pytest.raises(error_type) as raised:
        net.pipeline(*make_args(sock))
    assert raised.value.code == code
    assert str(raised.value).startswith(message)
    assert sock.event_names() == []  # no listener was added to the good stream


def test_pipeline_callback_that_raises_is_reported_and_disturbs_nothing(track):
    # node (test-stream-pipeline-uncaught.js): it is an uncaught exception.  Here it
    # is raised in the callback's own greenlet, which gevent reports.
    raised = gevent.event.Event()

    def failing(err):
        raised.set()
        raise ValueError("from the callback")

    with recorded_greenlet_errors() as seen:
        client, server_side = connected_pair(track)
        net.pipeline(server_side, server_side, failing)
        client.end(b"echo")
        assert read_all(client) == b"echo"
        assert raised.wait(5)
    assert [type(error) for error in seen] == [ValueError]
    other, _ = connected_pair(track)  # the server goes on
    assert not other.destroyed

