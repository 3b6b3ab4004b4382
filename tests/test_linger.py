"""A busy connection's reader lingers in its own greenlet; only an idle one goes dormant (linger.py).

The sweep period is made long here (nothing is swept during a test) or short
(to see an idle reader swept); tests/test_dormant_reader.py covers what a
dormant reader does.
"""

import gevent
import greenlet
import pytest
from test_dormant_reader import dormant, echo_pair, round_trip

import nodenet_gevent as net
from conftest import event_flag, recorded_greenlet_errors, wait_until

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def period():
    """``period(seconds)``: the sweep period for this test (restored afterwards)."""
    previous = net.linger.PERIOD
    yield net.linger.set_period
    net.linger.set_period(previous)


def recording_echo(readers):
    def handler(c):
        def on_data(chunk):
            readers.append(greenlet.getcurrent())
            c.write(chunk)

        c.on("data", on_data)

    return handler


def test_a_busy_connection_keeps_its_reader_between_round_trips(track, period):
    period(60)
    readers = []
    server_side, client = echo_pair(track, recording_echo(readers))
    for n in range(5):
        round_trip(client, b"%d" % n)
        assert server_side._reader is readers[0]  # lingering: not dormant, the same greenlet
    assert len(readers) == 5 and all(reader is readers[0] for reader in readers)
    assert server_side in net.linger.lingering(gevent.get_hub()).readers


def test_an_idle_reader_is_swept_dormant_and_then_echoes_again(track, period):
    period(0.02)
    readers = []
    server_side, client = echo_pair(track, recording_echo(readers))
    round_trip(client, b"busy")
    wait_until(lambda: dormant(server_side), message="swept dormant")
    assert server_side not in net.linger.lingering(gevent.get_hub()).readers
    round_trip(client, b"again")
    assert server_side.bytesRead == len(b"busyagain") and len(readers) == 2


def test_beyond_max_lingering_a_reader_goes_dormant_at_once(track, period, monkeypatch):
    period(60)
    monkeypatch.setattr(net.reading, "MAX_LINGERING", 0)
    server_side, client = echo_pair(track)
    round_trip(client, b"x")
    wait_until(lambda: dormant(server_side), message="dormant with no sweep")
    round_trip(client, b"y")
    assert server_side.bytesRead == 2


def test_destroy_from_another_greenlet_while_lingering(track, period):
    period(60)
    server_side, client = echo_pair(track)
    round_trip(client, b"x")
    assert server_side._reader is not None
    closed = event_flag(server_side, "close")
    ended = event_flag(client, "end")
    with recorded_greenlet_errors() as seen:
        gevent.spawn(server_side.destroy).join(5)
        assert closed.wait(5) and closed.args == (False,)
        assert ended.wait(5)
        gevent.sleep(0.05)  # gevent's close finishes in a hub callback: an error there would show now
    assert seen == []
    assert server_side.destroyed and not server_side._reader
    wait_until(lambda: server_side not in net.linger.lingering(gevent.get_hub()).readers,
               message="the reader gone from the lingering ones")


def test_the_peers_fin_while_lingering_ends_and_closes(track, period):
    period(60)
    server_side, client = echo_pair(track)
    round_trip(client, b"x")
    assert server_side._reader is not None
    ended = event_flag(server_side, "end")
    closed = event_flag(server_side, "close")
    client.end()
    assert ended.wait(5) and closed.wait(5)
    assert server_side not in net.linger.lingering(gevent.get_hub()).readers
