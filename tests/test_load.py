"""Load, churn and memory: what a server in front of real traffic must survive.

The heavy peers run in their own processes (``benchmarks/soak.py``'s ``hold``,
``churn`` and ``pipe-ends`` roles: plain sockets and ``selectors``), and so does
the nodenet_gevent server under load (``soak.py server``, monkey-patched when this
suite is), so the server's descriptors (``/proc/self/fd``), greenlets (counted
with ``gc``) and RSS are measured in isolation, before and after.  The server
raises its own soft ``RLIMIT_NOFILE`` to the hard limit, and the holding client
to what it holds; the hard limit must allow 10,000 (``ulimit -Hn``).

Sizes: by default, the issue's full sizes -- 10,000 connections held, all echoing
twice; 100,000 connections churned through one server; 1 GiB piped into a consumer
reading at 200 MB/s -- about a minute in all on 2 cores.  ``NODENET_LONG=1`` churns
300,000, echoes 5 rounds, and reads at 100 MB/s (``benchmarks/soak.py`` goes on for
as long as you like).  Run ``pytest -rP tests/test_load.py`` to see the figures.
Every test is bounded (``pytest.mark.timeout``), and stops every process it started.

The back-pressure tests at the bottom run in this process: a peer that never
reads, and a paused socket that must not read at all.
"""

import hashlib
import os
import resource
import sys

import gevent
import gevent.event
import pytest

import nodenet_gevent as net
from conftest import MONKEY, event_flag, load_soak, tcp_info, wait_until

LONG = os.environ.get("NODENET_LONG") == "1"

HOLD = 10000
CHURN = 300000 if LONG else 100000
PIPE_MIB = 1024
ECHO_ROUNDS = 5 if LONG else 2


soak = load_soak()


def report(name, **figures):
    """Print the measured figures (shown with ``pytest -s`` or ``-rP``)."""
    print("\nFIGURES %s (%s): %s" % (name, "monkey" if MONKEY else "plain",
                                     ", ".join("%s=%s" % item for item in figures.items())))


def stats_line(stats):
    return {key: stats[key] for key in ("connections", "fds", "greenlets", "greenlets_alive", "rss_kib")}


@pytest.fixture
def descriptor_room():
    """The server and the client processes each need HOLD descriptors (they raise their soft limit)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard == resource.RLIM_INFINITY or hard >= HOLD + 100, (
        "the hard RLIMIT_NOFILE (%d) is below the %d descriptors this test holds" % (hard, HOLD + 100)
    )


# ---------------------------------------------------------------------------
# load


@pytest.mark.slow
@pytest.mark.timeout(900 if LONG else 150)
def test_ten_thousand_connections_held_and_all_echoing(descriptor_room):
    result = soak.measure_hold(HOLD, monkey=MONKEY, echo_rounds=ECHO_ROUNDS)
    before, during, after = result["before"], result["during"], result["after"]
    report("hold", held=result["held"], open_s=result["open_seconds"], echo_all_s=result["echo_seconds"],
           before=stats_line(before), during=stats_line(during), after=stats_line(after),
           rss_per_conn_kib=round((during["rss_kib"] - before["rss_kib"]) / HOLD, 2))
    assert result["held"] == HOLD
    # Every connection is the server's: one descriptor each -- and, idle, no greenlet at all
    # (dormant readers: reading.py), but for the hub's runner and the few spares it keeps.
    assert during["connections"] == HOLD and during["accepted"] == HOLD
    assert during["fds"] == before["fds"] + HOLD
    assert during["greenlets_alive"] - during["pooled"] == before["greenlets_alive"] - before["pooled"]
    assert during["pooled"] <= 1 + net.dormant.POOL_SIZE  # the runner, its spares (dormant.py)
    assert len(result["echo_seconds"]) == ECHO_ROUNDS  # every held connection echoed each round
    # All gone afterwards: descriptors exactly; greenlets too (the pooled ones aside).
    assert after["connections"] == 0 and after["closed"] == HOLD
    assert after["fds"] == before["fds"]
    pooled = after["pooled"] - before["pooled"]
    assert after["greenlets_alive"] - pooled == before["greenlets_alive"]
    assert after["greenlets"] - pooled <= before["greenlets"] + 1
    assert after["errors"] == {}
    assert "Traceback" not in result["server_stderr"], result["server_stderr"]


@pytest.mark.slow
@pytest.mark.timeout(1200 if LONG else 240)
def test_churn_leaves_no_descriptors_greenlets_or_memory_behind():
    result = soak.measure_churn(CHURN, monkey=MONKEY)
    before, after = result["before"], result["after"]
    growth = after["rss_kib"] - before["rss_kib"]
    report("churn", churned=CHURN, seconds=result["seconds"], conn_per_s=result["rate"],
           before=stats_line(before), after=stats_line(after), rss_growth_kib=growth,
           bound_kib=soak.CHURN_RSS_NOISE_KIB)
    assert result["errors"] == []
    assert after["accepted"] == before["accepted"] + CHURN
    assert after["closed"] == after["accepted"] and after["connections"] == 0
    assert after["errors"] == {}
    assert after["fds"] == before["fds"]
    pooled = after["pooled"] - before["pooled"]  # idle greenlets the dormant readers keep (dormant.py)
    assert after["greenlets"] - pooled == before["greenlets"]
    assert after["greenlets_alive"] - pooled == before["greenlets_alive"]
    # Measured: +0.8 to +1.2 MiB after 20,000 or 100,000 (allocator noise, not per connection); the
    # 8 MiB bound is 84 bytes a connection over 100,000.
    # This check found greenlet's leak on Python 3.11 (greenlet < 2.0.1: 4 KiB per finished
    # greenlet, on libev and libuv alike); setup.py now requires a greenlet without it.
    assert growth <= soak.CHURN_RSS_NOISE_KIB, "RSS grew %d KiB over %d connections" % (growth, CHURN)
    assert "Traceback" not in result["server_stderr"], result["server_stderr"]


# ---------------------------------------------------------------------------
# back-pressure and memory


@pytest.mark.slow
@pytest.mark.timeout(600 if LONG else 150)
def test_one_gib_fast_producer_into_slow_consumer_through_pipe():
    """Producer -> nodenet ``c.pipe(upstream)`` proxy -> consumer reading at 200 MB/s.

    The bound: the proxy's peak RSS stays within ``PIPE_RSS_BOUND_KIB`` (8 MiB) of its
    RSS before the transfer, and what it holds for the connection (the upstream's
    ``bufferSize``) never passes one read plus one high-water mark.
    """
    result = soak.measure_pipe(PIPE_MIB, monkey=MONKEY, consumer_mbps=100.0 if LONG else 200.0)
    report("pipe", mib=PIPE_MIB, seconds=result["seconds"], baseline_rss_kib=result["baseline_rss_kib"],
           peak_rss_kib=result["peak_rss_kib"], growth_kib=result["growth_kib"],
           bound_kib=soak.PIPE_RSS_BOUND_KIB, pauses=result["pauses"], max_buffer=result["max_buffer"])
    assert result["sent"] == PIPE_MIB << 20
    assert result["received"] == result["sent"]
    assert result["received_sha256"] == result["sent_sha256"]
    assert result["pauses"] > 0, "the consumer never pushed back: not a back-pressure test"
    assert result["max_buffer"] <= net.Socket.HIGH_WATER_MARK + net.Socket.READ_SIZE
    assert result["growth_kib"] <= soak.PIPE_RSS_BOUND_KIB
    assert result["proxy_stats"]["errors"] == {} and result["proxy_stats"]["upstream_errors"] == {}
    assert "Traceback" not in result["server_stderr"], result["server_stderr"]


def _connected_pair(track, **server_options):
    accepted = gevent.event.AsyncResult()
    server = track.listen(accepted.set, **server_options)
    client = track.connect(server.address()["port"], "127.0.0.1")
    net.once(client, "connect", timeout=5)
    return client, accepted.get(timeout=5)


def _settle(sock, every=0.1, times=3, timeout=20):
    """Wait until the kernel took what it will take from *sock*: its ``bufferSize`` and
    both ends' kernel queues (``/proc/net/tcp``) the same *times* samples in a row.

    No event says so; the peer's receive queue stops growing only once its window is
    closed, and ours then too.  Returns the ``bufferSize`` then.
    """
    deadline = gevent.get_hub().loop.now() + timeout

    def sample():
        return (sock.buffer_size, tcp_info(sock.local_port, sock.remote_port),
                tcp_info(sock.remote_port, sock.local_port))

    samples = [sample()]
    while len(samples) < times or len(set(map(repr, samples[-times:]))) > 1:
        assert gevent.get_hub().loop.now() < deadline, "the kernel never stopped taking: %r" % samples[-times:]
        gevent.sleep(every)
        samples.append(sample())
    return samples[-1][0]


@pytest.mark.timeout(60)
def test_peer_that_never_reads_write_false_and_buffer_grows_only_by_what_was_written(track):
    client, server_side = _connected_pair(track, pauseOnConnect=True)  # the peer never reads
    chunk = os.urandom(65536)
    written = 0
    results = []
    filling = gevent.event.Event()
    client.on("drain", filling.set)
    while True:
        ok = client.write(chunk)
        written += len(chunk)
        results.append(ok)
        assert len(results) < 10000, "the kernel never filled up against a peer that never reads"
        assert client.bytes_written == written
        assert 0 <= client.buffer_size <= written
        if not ok:
            # Over the high-water mark for now, but the kernel may yet take it all (how
            # much it takes, and how soon, depends on the machine's load): full only
            # once what it leaves us stays over the mark.
            if filling.wait(0.05):
                filling.clear()
                continue
            stuck = _settle(client)
            if stuck >= net.Socket.HIGH_WATER_MARK:
                break
    client.remove_listener("drain", filling.set)
    assert results[-1] is False
    drained = event_flag(client, "drain")
    sent = [chunk]
    # From here on the kernel takes nothing: bufferSize is exactly what we wrote on top.
    for size in (0, 1, 1000, 65536, 300000):
        data = os.urandom(size)
        assert client.write(data) is False
        written += size
        sent.append(data)
        assert client.buffer_size == stuck + sum(len(d) for d in sent[1:])
        assert client.bytes_written == written
    gevent.sleep(0.3)  # an observation window: nothing may drain, nothing may be read
    assert client.buffer_size == stuck + sum(len(d) for d in sent[1:])
    assert not drained.is_set(), "'drain' while the peer reads nothing"
    assert server_side.bytes_read == 0  # paused from the start: not one recv
    # The peer starts reading: everything arrives, then 'drain'.
    digest = hashlib.sha256()
    got = [0]

    def on_data(data):
        digest.update(data)
        got[0] += len(data)

    server_side.on("data", on_data)
    server_side.resume()
    assert drained.wait(20)
    wait_until(lambda: got[0] == written, timeout=20, message="every written byte")
    expected = hashlib.sha256(chunk * len(results) + b"".join(sent[1:]))
    assert digest.hexdigest() == expected.hexdigest()
    assert client.buffer_size == 0


@pytest.mark.timeout(60)
def test_paused_socket_reads_nothing_more_while_the_peer_floods(track):
    client, server_side = _connected_pair(track)
    received = []
    paused_at = []

    def on_data(data):
        received.append(data)
        if not paused_at and sum(map(len, received)) >= 200000:
            server_side.pause()
            paused_at.append(server_side.bytes_read)

    server_side.on("data", on_data)
    payload = os.urandom(16 * 1024 * 1024)
    client.write(payload)  # far more than the kernel buffers hold
    wait_until(lambda: paused_at, timeout=10, message="the pause")
    # The peer keeps pushing: data waits in the kernel, and a paused socket calls no recv.
    ports = server_side.local_port, server_side.remote_port
    wait_until(lambda: (tcp_info(*ports) or {}).get("rx_queue", 0) > 0, message="data waiting in the kernel")
    gevent.sleep(0.3)  # an observation window: a reader that was not parked would read now
    assert server_side.bytes_read == paused_at[0]
    assert client.buffer_size > 0, "the flood was not held back by the paused peer"
    server_side.resume()
    client.end()
    net.once(server_side, "end", timeout=20)
    assert b"".join(received) == payload


@pytest.mark.timeout(60)
@pytest.mark.parametrize("hwm", [1, 1024, 16384, 100000])
def test_unconsumed_socket_holds_at_most_one_high_water_mark_plus_one_read(track, hwm):
    """Nobody reads yet: the reader holds until the high-water mark, then parks.

    It can overshoot by what one ``recv`` returned (as Node, whose reads are 64 KiB),
    never more, however much the peer sends.
    """
    accepted = gevent.event.AsyncResult()
    server = track.listen(accepted.set)
    client = track.connect({"port": server.address()["port"], "host": "127.0.0.1", "highWaterMark": hwm})
    net.once(client, "connect", timeout=5)
    flooder = accepted.get(timeout=5)
    payload = os.urandom(8 * 1024 * 1024)
    flooder.write(payload)
    wait_until(lambda: client.bytes_read > 0, timeout=5, message="the first read")
    ports = client.local_port, client.remote_port
    wait_until(lambda: (tcp_info(*ports) or {}).get("rx_queue", 0) > 0, message="data waiting in the kernel")
    gevent.sleep(0.3)  # an observation window: a reader that was not parked would read now
    held = client.bytes_read
    assert 0 < held < hwm + net.Socket.READ_SIZE, "holding %d bytes with highWaterMark %d" % (held, hwm)
    assert flooder.buffer_size > 0
    flooder.end()
    chunks = []
    client.on("data", chunks.append)
    net.once(client, "end", timeout=20)
    assert b"".join(chunks) == payload


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v", "-s"]))
