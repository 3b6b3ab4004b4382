"""AbortController / AbortSignal: Node's own test file, ported in part.

Port of nodejs/node test/parallel/test-abortcontroller.js (the current tree
keeps it as test/parallel/abortcontroller/index.js).  Not ported, being about
JavaScript itself: ``isTrusted`` getters shared between events,
``Symbol.toStringTag``, getters called on foreign receivers, and the
``kWeakHandler`` listener option (internal).  ``common.mustCall`` is the
``must_call`` fixture; "20 ms later" is waiting for the event; ``gc()`` is
``gc.collect()``.
"""

import gc
import weakref

import pytest

import nodenet_gevent as net
from nodenet_gevent.abort import DOMException
from test_modern_support import greenlet_errors  # noqa: F401

pytestmark = pytest.mark.timeout(60)

AbortController = net.AbortController
AbortSignal = net.AbortSignal


def test_abort_fires_with_the_abort_event_type(must_call):
    # Node: test/parallel/test-abortcontroller.js
    ac = AbortController()
    assert ac.signal

    def check(event):
        assert event and event.type == "abort"

    ac.signal.onabort = must_call(check)
    ac.signal.addEventListener("abort", must_call(check), {"once": True})
    ac.abort()
    ac.abort()
    assert ac.signal.aborted


def test_abort_events_are_trusted(must_call):
    # Node: test/parallel/test-abortcontroller.js
    ac = AbortController()

    def check(event):
        assert event.isTrusted

    ac.signal.addEventListener("abort", must_call(check))
    ac.abort()


def test_signal_cannot_be_constructed_manually():
    # Node: test/parallel/test-abortcontroller.js
    ac = AbortController()
    with pytest.raises(TypeError) as info:
        type(ac.signal)()
    assert info.value.code == "ERR_ILLEGAL_CONSTRUCTOR"


def test_static_abort_is_aborted():
    # Node: test/parallel/test-abortcontroller.js
    assert AbortSignal.abort().aborted


def test_inspect():
    # Node: test/parallel/test-abortcontroller.js (inspect with depth: null)
    assert repr(AbortController()) == "AbortController { signal: AbortSignal { aborted: false } }"


def test_reason():
    # Node: test/parallel/test-abortcontroller.js
    ac = AbortController()
    ac.abort("reason")
    assert ac.signal.reason == "reason"
    assert AbortSignal.abort("reason").reason == "reason"


def test_timeout():
    # Node: test/parallel/test-abortcontroller.js
    signal = AbortSignal.timeout(10)
    assert not signal.aborted
    net.once(signal, "abort", timeout=5)
    assert signal.aborted
    assert signal.reason.name == "TimeoutError"
    assert signal.reason.code == 23


def test_timeout_signal_is_garbage_collected():
    # Node: test/parallel/test-abortcontroller.js
    ref = weakref.ref(AbortSignal.timeout(1_200_000))
    gc.collect()
    assert ref() is None


def test_timeout_signal_with_a_listener_is_not_collected():
    # Node: test/parallel/test-abortcontroller.js
    def handler(event):
        pass

    signal = AbortSignal.timeout(1_200_000)
    signal.addEventListener("abort", handler)
    ref = weakref.ref(signal)
    del signal
    gc.collect()
    assert ref() is not None
    assert isinstance(ref(), AbortSignal)

    ref().removeEventListener("abort", handler)
    gc.collect()
    assert ref() is None


def test_long_timeout_does_not_keep_the_process_open():
    # Node: test/parallel/test-abortcontroller.js (the timer is unref'd)
    signal = AbortSignal.timeout(1_200_000)
    assert net.run(timeout=5) is True
    assert not signal.aborted


def test_default_reason():
    # Node: test/parallel/test-abortcontroller.js
    signal = AbortSignal.abort()
    assert isinstance(signal.reason, DOMException)
    assert signal.reason.code == 20

    ac = AbortController()
    ac.abort()
    assert isinstance(ac.signal.reason, DOMException)
    assert ac.signal.reason.code == 20


def test_throw_if_aborted():
    # Node: test/parallel/test-abortcontroller.js
    with pytest.raises(Exception) as info:
        AbortSignal.abort().throwIfAborted()
    assert (info.value.code, info.value.name) == (20, "AbortError")

    # Does not throw because it's not aborted.
    AbortController().signal.throwIfAborted()


@pytest.mark.parametrize("getter", ["aborted", "reason"])
def test_throw_if_aborted_does_not_use_the_public_getters(monkeypatch, getter):
    # Node: test/parallel/test-abortcontroller.js (the getters redefined on the prototype)
    actual_reason = RuntimeError()
    fake = {"aborted": False, "reason": RuntimeError("fake excuse")}[getter]
    monkeypatch.setattr(AbortSignal, getter, property(lambda self: fake))
    with pytest.raises(RuntimeError) as info:
        AbortSignal.abort(actual_reason).throwIfAborted()
    assert info.value is actual_reason
