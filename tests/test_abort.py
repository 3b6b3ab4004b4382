"""Tests for nodenet_gevent.abort: AbortController, AbortSignal, AbortError.

The constants (names, codes, messages) and the argument errors are compared
with a real ``node`` in one subprocess; Node's own test file is ported in
tests/node/test_modern_abort.py.
"""

import gc
import json
import pickle
import subprocess
import time
import weakref

import gevent
import pytest
from gevent.event import AsyncResult

import nodenet_gevent as net
from nodenet_gevent.abort import DOMException, Event
from nodenet_gevent.errors import NodeError
from conftest import NODE, raises

pytestmark = pytest.mark.timeout(60)

AbortController = net.AbortController
AbortSignal = net.AbortSignal
AbortError = net.AbortError


@pytest.fixture
def reported():
    """What gevent's hub reports (an exception raised in a greenlet), as an AsyncResult."""
    hub = gevent.get_hub()
    result = AsyncResult()

    def handle_error(context, kind, value, tb):
        result.set(value)

    hub.handle_error = handle_error
    yield result
    del hub.handle_error


# ---------------------------------------------------------------------------
# AbortController / abort()
# ---------------------------------------------------------------------------


def test_abort_runs_listeners_synchronously_in_order():
    ac = AbortController()
    log = []
    ac.signal.add_event_listener("abort", lambda event: log.append(("listener", event.type, ac.signal.aborted)))
    ac.signal.onabort = lambda event: log.append("onabort")
    ac.signal.on("abort", lambda event: log.append(("on", event.target is ac.signal)))
    assert not ac.signal.aborted and ac.signal.reason is None
    log.append("before")
    ac.abort()
    log.append("after")
    assert log == ["before", ("listener", "abort", True), "onabort", ("on", True), "after"]


def test_abort_twice_and_from_a_listener_does_nothing():
    ac = AbortController()
    calls = []

    def listener(event):
        calls.append(event)
        ac.abort("inner")

    ac.signal.addEventListener("abort", listener)
    ac.abort("outer")
    ac.abort("again")
    assert len(calls) == 1 and ac.signal.reason == "outer"


def test_default_reason_is_nodes_domexception():
    ac = AbortController()
    ac.abort()
    reason = ac.signal.reason
    assert isinstance(reason, DOMException) and isinstance(reason, Exception)
    assert (reason.name, reason.code, reason.message) == ("AbortError", 20, "This operation was aborted")
    assert repr(reason) == "DOMException [AbortError]: This operation was aborted"
    ac = AbortController()
    ac.abort(None)  # None is undefined
    assert ac.signal.reason.name == "AbortError"


def test_a_listener_removed_meanwhile_is_skipped():
    ac = AbortController()
    log = []

    def second(event):
        log.append("second")

    ac.signal.add_event_listener("abort", lambda event: ac.signal.remove_event_listener("abort", second))
    ac.signal.add_event_listener("abort", second)
    ac.signal.add_event_listener("abort", lambda event: log.append("third"))
    ac.abort()
    assert log == ["third"]


def test_once_listener_and_removal():
    ac = AbortController()
    log = []
    ac.signal.add_event_listener("abort", lambda event: log.append("once"), {"once": True})
    removed = log.append
    ac.signal.add_event_listener("abort", removed)
    ac.signal.removeEventListener("abort", removed)
    ac.abort()
    assert log == ["once"] and ac.signal.listener_count("abort") == 0


def test_onabort_keeps_its_place_and_none_removes_it():
    ac = AbortController()
    log = []
    ac.signal.onabort = lambda event: log.append("first onabort")
    ac.signal.on("abort", lambda event: log.append("listener"))
    ac.signal.onabort = lambda event: log.append("second onabort")  # replaced in place
    assert ac.signal.onabort is not None
    ac.abort()
    assert log == ["second onabort", "listener"]
    other = AbortController()
    other.signal.onabort = lambda event: log.append("never")
    other.signal.onabort = None
    assert other.signal.listener_count("abort") == 0
    other.abort()
    assert "never" not in log


def test_a_raising_listener_is_reported_and_the_others_run(reported):
    ac = AbortController()
    log = []

    def boom(event):
        raise RuntimeError("boom")

    ac.signal.add_event_listener("abort", boom)
    ac.signal.add_event_listener("abort", lambda event: log.append("second"))
    ac.abort()  # does not raise here
    assert log == ["second"]
    error = reported.get(timeout=5)  # gevent reports it from a new greenlet, as Node on its next tick
    assert isinstance(error, RuntimeError) and str(error) == "boom"


def test_reprs_are_nodes_inspect():
    ac = AbortController()
    assert repr(ac) == "AbortController { signal: AbortSignal { aborted: false } }"
    ac.abort()
    assert repr(ac.signal) == "AbortSignal { aborted: true }"
    assert repr(Event("abort", None)) == "Event { type: 'abort' }"


# ---------------------------------------------------------------------------
# AbortSignal
# ---------------------------------------------------------------------------


def test_signal_cannot_be_constructed():
    raises(TypeError, "ERR_ILLEGAL_CONSTRUCTOR", AbortSignal, "Illegal constructor")


def test_names_and_aliases():
    assert AbortSignal.throwIfAborted is AbortSignal.throw_if_aborted
    assert AbortSignal.addEventListener is AbortSignal.add_event_listener
    assert AbortSignal.removeEventListener is AbortSignal.remove_event_listener
    event = Event("abort", "target")
    assert event.isTrusted is event.is_trusted is True and event.currentTarget == "target"


def test_throw_if_aborted():
    ac = AbortController()
    ac.signal.throw_if_aborted()  # not aborted: nothing
    ac.abort()
    with pytest.raises(DOMException) as info:
        ac.signal.throwIfAborted()
    assert info.value is ac.signal.reason
    custom = KeyError("x")
    with pytest.raises(KeyError) as info:
        AbortSignal.abort(custom).throw_if_aborted()
    assert info.value is custom
    # Node throws a non-exception reason as it is; Python can only raise exceptions.
    with pytest.raises(AbortError) as info:
        AbortSignal.abort("why").throw_if_aborted()
    assert info.value.cause == "why"


def test_static_abort():
    signal = AbortSignal.abort()
    assert signal.aborted and signal.reason.name == "AbortError"
    assert AbortSignal.abort(42).reason == 42


def test_timeout_aborts_in_a_greenlet_with_timeout_error():
    signal = AbortSignal.timeout(20)
    assert not signal.aborted
    where = []
    signal.add_event_listener("abort", lambda event: where.append(gevent.getcurrent()))
    (event,) = net.once(signal, "abort", timeout=5)
    assert event.target is signal and signal.aborted
    reason = signal.reason
    assert (reason.name, reason.code) == ("TimeoutError", 23)
    assert reason.message == "The operation was aborted due to timeout"
    assert where and where[0] is not gevent.get_hub()  # never in the hub


def test_timeout_does_not_keep_the_loop_alive():
    signal = AbortSignal.timeout(60_000)
    signal.on("abort", Event.__init__)  # a listener neither
    started = time.monotonic()
    assert net.run(timeout=5) is True
    assert time.monotonic() - started < 4 and not signal.aborted
    signal.remove_listener("abort", Event.__init__)  # so that it goes now, timer and all


def test_timeout_zero_fires():
    signal = AbortSignal.timeout(0)
    net.once(signal, "abort", timeout=5)
    assert signal.reason.name == "TimeoutError"


def test_timeout_validation():
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: AbortSignal.timeout("1"))
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: AbortSignal.timeout(True))
    raises(ValueError, "ERR_OUT_OF_RANGE", lambda: AbortSignal.timeout(-1))
    raises(ValueError, "ERR_OUT_OF_RANGE", lambda: AbortSignal.timeout(1.5))
    raises(ValueError, "ERR_OUT_OF_RANGE", lambda: AbortSignal.timeout(2**32))
    AbortSignal.timeout(10.0)


def test_any_follows_the_first_source():
    a, b = AbortController(), AbortController()
    combined = AbortSignal.any([a.signal, b.signal])
    log = []
    b.signal.add_event_listener("abort", lambda event: log.append("source, combined aborted: %s" % combined.aborted))
    combined.add_event_listener("abort", lambda event: log.append("combined"))
    reason = ValueError("second")
    b.abort(reason)
    log.append("after")
    a.abort("first")
    # Node 20: the source's own listeners, then the any() signal, all inside abort().
    assert log == ["source, combined aborted: False", "combined", "after"]
    assert combined.reason is reason


def test_any_with_an_aborted_source_is_aborted():
    combined = AbortSignal.any((AbortController().signal, AbortSignal.abort("first"), AbortSignal.abort("x")))
    assert combined.aborted and combined.reason == "first"
    assert not AbortSignal.any([]).aborted


def test_any_of_any_and_of_timeouts():
    a = AbortController()
    inner = AbortSignal.any([a.signal])
    outer = AbortSignal.any([inner])
    del inner
    gc.collect()  # the middle link may go: outer depends on a directly
    a.abort("r")
    assert outer.aborted and outer.reason == "r"
    timed = AbortSignal.any([AbortController().signal, AbortSignal.timeout(10)])
    net.once(timed, "abort", timeout=5)
    assert timed.reason.name == "TimeoutError"


def test_any_validation():
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: AbortSignal.any(1),
           'The "signals" argument must be an instance of Array. Received type number (1)')
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: AbortSignal.any([AbortController().signal, 1]),
           'The "signals[1]" argument must be an instance of AbortSignal. Received type number (1)')


# ---------------------------------------------------------------------------
# Garbage collection (Node's rules: no listener, no reason to live)
# ---------------------------------------------------------------------------


def test_unreferenced_timeout_signal_is_collected_with_its_timer():
    signal = AbortSignal.timeout(60_000)
    close_timer = signal._close_timer
    ref = weakref.ref(signal)
    del signal
    gc.collect()
    assert ref() is None and not close_timer.alive  # the timer was closed


def test_timeout_signal_with_a_listener_lives_until_it_fires():
    fired = AsyncResult()
    signal = AbortSignal.timeout(30)
    signal.add_event_listener("abort", lambda event: fired.set(event.target.reason.name))
    ref = weakref.ref(signal)
    del signal
    gc.collect()
    assert ref() is not None
    assert fired.get(timeout=5) == "TimeoutError"
    # Kept while listened to; once the listener goes, so can the signal.
    listener = Event.__init__  # any callable
    signal = AbortSignal.timeout(60_000)
    signal.on("abort", listener)
    ref = weakref.ref(signal)
    del signal
    gc.collect()
    assert ref() is not None
    ref().remove_listener("abort", listener)
    gc.collect()
    assert ref() is None


def test_any_signal_of_a_long_lived_source_is_collected():
    source = AbortController()
    ref = weakref.ref(AbortSignal.any([source.signal]))
    gc.collect()
    assert ref() is None and not source.signal._dependents
    log = []
    signal = AbortSignal.any([source.signal])
    signal.on("abort", log.append)
    kept = weakref.ref(signal)
    del signal
    gc.collect()
    source.abort()
    assert len(log) == 1 and kept() is not None and kept().aborted


# ---------------------------------------------------------------------------
# AbortError, DOMException
# ---------------------------------------------------------------------------


def test_abort_error():
    error = AbortError()
    assert isinstance(error, NodeError)
    assert (error.name, error.code, error.cause) == ("AbortError", "ABORT_ERR", None)
    assert str(error) == "The operation was aborted"
    reason = AbortSignal.abort().reason
    error = AbortError(cause=reason)
    assert error.cause is reason and error.__cause__ is reason
    error = AbortError("stopped", {"cause": "why"})
    assert str(error) == "stopped" and error.cause == "why" and error.__cause__ is None
    raises(TypeError, "ERR_INVALID_ARG_TYPE", lambda: AbortError("m", 1))


def test_errors_pickle():
    error = pickle.loads(pickle.dumps(AbortError("stopped", cause="why")))
    assert (type(error), str(error), error.code, error.cause) == (AbortError, "stopped", "ABORT_ERR", "why")
    reason = pickle.loads(pickle.dumps(DOMException("m", "TimeoutError")))
    assert (reason.message, reason.name, reason.code) == ("m", "TimeoutError", 23)
    assert DOMException("m", "NoSuchName").code == 0


# ---------------------------------------------------------------------------
# Against node: names, codes, messages
# ---------------------------------------------------------------------------

_NODE = r"""
const show = (e) => [e.name, e.code, e.message];
const caught = (f) => { try { f(); return null; } catch (e) { return show(e); } };
const { AbortError } = require('internal/errors');
process.stdout.write(JSON.stringify({
  reason: show(AbortSignal.abort().reason),
  controller: (() => { const ac = new AbortController(); ac.abort(); return show(ac.signal.reason); })(),
  abortError: show(new AbortError()),
  timeoutErrors: [caught(() => AbortSignal.timeout('1')), caught(() => AbortSignal.timeout(-1)),
                  caught(() => AbortSignal.timeout(1.5)), caught(() => AbortSignal.timeout(2 ** 32 + 1))],
  anyErrors: [caught(() => AbortSignal.any(1)), caught(() => AbortSignal.any([new AbortController().signal, 1]))],
  illegal: caught(() => new AbortSignal()),
}));
const timed = AbortSignal.timeout(1);
timed.onabort = () => process.stderr.write(JSON.stringify(show(timed.reason)));
setTimeout(() => {}, 50);
"""


def test_constants_and_errors_match_node():
    if NODE is None:
        pytest.skip("node is not installed: this test asks it")
    done = subprocess.run([NODE, "--expose-internals", "-e", _NODE], capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, done.stderr
    node = json.loads(done.stdout)

    def show(error):
        return [error.name, error.code, error.message]

    assert show(AbortSignal.abort().reason) == node["reason"]
    ac = AbortController()
    ac.abort()
    assert show(ac.signal.reason) == node["controller"]
    assert show(AbortError()) == node["abortError"]
    assert json.loads(done.stderr) == ["TimeoutError", 23, "The operation was aborted due to timeout"]
    for call, theirs in zip(
        [lambda: AbortSignal.timeout("1"), lambda: AbortSignal.timeout(-1), lambda: AbortSignal.timeout(1.5),
         lambda: AbortSignal.timeout(2**32 + 1)],
        node["timeoutErrors"],
    ):
        with pytest.raises(NodeError) as info:
            call()
        assert [info.value.code, str(info.value)] == theirs[1:]
        assert isinstance(info.value, TypeError if theirs[0] == "TypeError" else ValueError)
    for call, theirs in zip([lambda: AbortSignal.any(1), lambda: AbortSignal.any([AbortController().signal, 1])],
                            node["anyErrors"]):
        with pytest.raises(TypeError) as info:
            call()
        assert [info.value.code, str(info.value)] == theirs[1:]
    with pytest.raises(TypeError) as info:
        AbortSignal()
    assert [info.value.code, str(info.value)] == node["illegal"][1:]
