"""connect()'s lookup and Happy Eyeballs against a real ``node``, event by event.

A table of connect() options and ``lookup`` answers (good and bad) is run by
one ``node`` process and by us; for each case the trace is compared: what the
user's ``lookup`` was given (``hints``, ``family``, ``all``), every ``'lookup'``,
``'connectionAttempt'``, ``'connectionAttemptFailed'`` and ``'connect'``, the
error (code, message, ``host``/``port``) and ``autoSelectFamilyAttemptedAddresses``.
Every address is on loopback, and the port is held bound (not listening) on
every address of both families, so every attempt but the one to the test's own
server is refused at once.
"""

import json
import re
import socket as stdlib_socket
import subprocess

import gevent
import pytest

from conftest import NODE, event_flag, has_ipv6

pytestmark = pytest.mark.timeout(60)

# (name, options, answer): answer is the lookup's [(address, family), ...], or None for
# no lookup option (the system resolver, or an IP literal).  'good' is a listening port.
CASES = [
    ("ip literal refused", {"host": "127.0.0.1"}, None),
    ("ip literal connects", {"host": "127.0.0.1", "port": "good"}, None),
    ("ip literal, autoSelectFamily off", {"host": "127.0.0.1", "autoSelectFamily": False}, None),
    ("one address answered to all", {}, [["127.0.0.1", 4]]),
    ("the same address twice", {}, [["127.0.0.1", 4], ["127.0.0.1", 4]]),
    ("two addresses", {}, [["127.0.0.1", 4], ["127.0.0.2", 4]]),
    ("bad answers among good ones", {}, [["127.0.0.1", 100], ["127.0.0.2", 4], ["x", 4], ["::1", 6],
                                         ["127.0.0.3", 4]]),
    ("IPv6 first, interleaved", {}, [["::1", 6], ["127.0.0.2", 4], ["127.0.0.3", 4], ["::ffff:127.0.0.4", 6]]),
    ("the last address connects", {"port": "good"}, [["::1", 6], ["127.0.0.3", 4], ["127.0.0.1", 4]]),
    ("family 4", {"family": 4}, [["127.0.0.1", 4]]),
    ("family 6", {"family": 6}, [["::1", 6]]),
    ("family 0", {"family": 0}, [["127.0.0.1", 4]]),
    ("family IPv4", {"family": "IPv4"}, [["127.0.0.1", 4]]),
    ("hints", {"hints": stdlib_socket.AI_V4MAPPED}, [["127.0.0.1", 4]]),
    ("hints and family 4", {"hints": stdlib_socket.AI_V4MAPPED, "family": 4}, [["127.0.0.1", 4]]),
    ("hints the built-in lookup refuses", {"hints": 1024}, [["127.0.0.1", 4]]),
    ("autoSelectFamily off", {"autoSelectFamily": False}, [["127.0.0.1", 4], ["127.0.0.2", 4]]),
    ("autoSelectFamily off, hints", {"autoSelectFamily": False, "hints": stdlib_socket.AI_ALL}, [["127.0.0.1", 4]]),
    ("a local address turns autoSelectFamily off", {"localAddress": "127.0.0.1"}, [["127.0.0.1", 4]]),
    ("family 100, all", {}, [["127.0.0.1", 100]]),
    ("family 100", {"autoSelectFamily": False}, [["127.0.0.1", 100]]),
    ("family 'IPv4' answered", {"autoSelectFamily": False}, [["127.0.0.1", "IPv4"]]),
    ("no family answered, all", {}, [["127.0.0.1", None]]),
    ("not an IP, all", {}, [["nope", 100]]),
    ("not an IP", {"autoSelectFamily": False}, [["nope", 4]]),
    ("the other family's address", {"autoSelectFamily": False}, [["127.0.0.1", 6]]),
    ("the other family's addresses, all", {}, [["127.0.0.1", 6], ["::1", 4]]),
    ("system lookup", {}, None),
    ("system lookup, autoSelectFamily off", {"autoSelectFamily": False}, None),
]

EVENTS = ["lookup", "connectionAttempt", "connectionAttemptFailed", "connectionAttemptTimeout", "connect"]

_NODE = r"""
const net = require('net');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const J = (x) => JSON.parse(JSON.stringify(x, (k, v) => v === undefined ? null : v));
const out = [];
const server = net.createServer((c) => c.end()).listen(0, '127.0.0.1', async () => {
  const good = server.address().port;
  for (const [name, options, answer] of input.cases) {
    const trace = [];
    await new Promise((resolve) => {
      const o = { host: 'localhost', ...options };
      o.port = o.port === 'good' ? good : input.port;
      if (answer !== null) {
        o.lookup = (host, given, cb) => {
          trace.push(['lookup()', host, JSON.parse(JSON.stringify(given))]);  // (undefined: no key)
          process.nextTick(() => {
            const js = (v) => (v === null ? undefined : v);  // Python's None is JavaScript's undefined
            if (given.all) cb(null, answer.map(([address, family]) => ({ address, family: js(family) })));
            else cb(null, answer[0][0], js(answer[0][1]));
          });
        };
      }
      const s = net.connect(o);
      for (const ev of %(events)s) {
        s.on(ev, (...a) => trace.push([ev, J(a.map((x) => (x instanceof Error ? x.code : x)))]));
      }
      s.on('error', (e) => trace.push(['error', e.code, e.errors ? e.errors.map((x) => x.message) : e.message,
                                      J(e.host), J(e.port)]));
      s.on('close', () => { trace.push(['attempted', J(s.autoSelectFamilyAttemptedAddresses)]); resolve(); });
      s.resume();
    });
    out.push([name, trace, good]);
  }
  server.close();
  console.log(JSON.stringify(out));
});
""" % {"events": json.dumps(EVENTS)}


@pytest.fixture(scope="module")
def refused():
    """A port refused on every loopback address of both families: held bound on '::' (dual stack)."""
    holder = stdlib_socket.socket(stdlib_socket.AF_INET6)
    holder.setsockopt(stdlib_socket.IPPROTO_IPV6, stdlib_socket.IPV6_V6ONLY, 0)
    holder.bind(("::", 0))
    yield holder.getsockname()[1]
    holder.close()


def _node_traces(port):
    done = subprocess.run([NODE, "-e", _NODE], input=json.dumps({"cases": CASES, "port": port}),
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _our_trace(track, good, port, options, answer):
    trace = []
    o = {"host": "localhost", **options}
    o["port"] = good if o.get("port") == "good" else port
    if answer is not None:
        def lookup(host, given, callback):
            trace.append(["lookup()", host, json.loads(json.dumps(given))])

            def later():
                if given.get("all"):
                    callback(None, [{"address": address, "family": family} for address, family in answer])
                else:
                    callback(None, answer[0][0], answer[0][1])

            gevent.spawn(later)  # later, as Node's process.nextTick

        o["lookup"] = lookup
    sock = track.connect(o)
    for event in EVENTS:
        sock.on(event, lambda *a, event=event: trace.append(
            [event, [getattr(x, "code", None) if isinstance(x, BaseException) else x for x in a]]))

    def on_error(error):
        errors = getattr(error, "errors", None)
        trace.append(["error", error.code, [str(e) for e in errors] if errors is not None else str(error),
                      getattr(error, "host", None), getattr(error, "port", None)])

    sock.on("error", on_error)
    closed = event_flag(sock, "close")
    sock.resume()
    assert closed.wait(10)
    trace.append(["attempted", sock.autoSelectFamilyAttemptedAddresses])
    return json.loads(json.dumps(trace))


def _comparable(value, good):
    """Node's port of the test server is not ours; Node adds '- Local (...)' to a synchronous failure."""
    if isinstance(value, list):
        return [_comparable(item, good) for item in value]
    if isinstance(value, dict):
        return {key: _comparable(item, good) for key, item in value.items()}
    if isinstance(value, str):
        return re.sub(r" - Local \([^)]*\)", "", value).replace(":%d" % good, ":GOOD")
    return "GOOD" if value == good and not isinstance(value, bool) else value


@pytest.mark.skipif(NODE is None, reason="node is not installed: the comparison needs it")
def test_lookup_and_attempts_are_nodes(track, refused):
    if not has_ipv6():
        pytest.skip("the table has IPv6 loopback addresses")
    server = track.listen(lambda c: c.end())
    good = server.address()["port"]
    for (name, options, answer), (node_name, node_trace, node_good) in zip(CASES, _node_traces(refused)):
        assert name == node_name
        ours = _our_trace(track, good, refused, options, answer)
        assert _comparable(ours, good) == _comparable(node_trace, node_good), name
