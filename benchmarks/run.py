#!/usr/bin/env python
"""Echo-server benchmark: nodenet_gevent against raw gevent, asyncio/uvloop and Node.

    python benchmarks/run.py                 # everything: ~15 minutes on 2 cores
    python benchmarks/run.py --quick         # smoke run: 1 s, 1 round, 2,000 idle connections
    python benchmarks/run.py --only ours_pipe,gevent_raw,pingpong_100 --seconds 3

It builds ``loadgen.c`` with the machine's gcc, then for every scenario starts
each echo server in ``servers/`` in turn (round-robin, ``--rounds`` times, so
slow drifts of the machine hit every server alike), pinned to core 0 with the
load generator on core 1 (when ``taskset`` exists and there are two cores),
and takes the median of the rounds.  It prints a table with ratios to raw
gevent and to Node, checks the targets of the issue, and writes
``results.md``, ``results.json`` and (with matplotlib) ``results.png`` next to
this file.

TLS rows (``tls_rows.py``): the same load generator built with OpenSSL against
``ours_tls`` and ``node_tls`` (ping-pong 1/100, bulk 1/50, full handshakes/s),
when gcc finds OpenSSL's headers and ``openssl`` makes the certificate.

Scenarios: ``pingpong_1``, ``pingpong_100`` (64-byte round trips: rt/s and
p50/p99), ``bulk_1``, ``bulk_50`` (64 KiB writes, every echoed byte checked:
MB/s), ``churn_50`` (connect, echo 64 bytes, close; 50 in flight: conn/s),
``idle_10000`` (server RSS per held connection), and ``cluster``
(``examples/cluster.py``, ping-pong 100 connections, 1 worker against 2,
unpinned), and -- only when named in ``--only`` -- ``hold_100k`` (``hold.py``:
100,000 connections held over ``cluster.py`` workers).  Servers: ``ours_pipe``,
``ours_data``, ``gevent_raw``, ``asyncio``, ``uvloop`` (if importable), ``node`` (if ``node`` is on PATH).

Every process it starts is killed on the way out, and every step has a timeout.
"""

import argparse
import json
import os
import platform
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

import hold
import tls_rows

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SERVERS_DIR = os.path.join(HERE, "servers")
BUILD_DIR = os.path.join(HERE, "build")
CLUSTER = os.path.join(ROOT, "examples", "cluster.py")
HOLD = "hold_100k"

GEVENT = "gevent_raw"
NODE = "node"
OURS = ("ours_pipe", "ours_data")


# ---------------------------------------------------------------------------
# what is measured


class Scenario:
    def __init__(self, name, mode, connections, metric, unit, higher_is_better=True, target=None, title=None):
        self.name = name
        self.mode = mode
        self.connections = connections
        self.metric = metric
        self.unit = unit
        self.higher_is_better = higher_is_better
        self.target = target  # (kind, value): ('ratio', x) against raw gevent, ('max', x) absolute
        self.title = title or name
        self.cost_unit = {"rt/s": "µs/round trip", "MB/s": "µs/MB", "conn/s": "µs/connection"}.get(unit)
        self.tls = False  # a TLS row (tls_rows.py): TLS servers and the TLS load generator


def scenarios(idle_connections):
    return [
        Scenario("pingpong_1", "pingpong", 1, "rt_per_s", "rt/s", target=("ratio", 1.0),
                 title="ping-pong, 1 conn"),
        Scenario("pingpong_100", "pingpong", 100, "rt_per_s", "rt/s", target=("ratio", 1.0),
                 title="ping-pong, 100 conns"),
        Scenario("bulk_1", "bulk", 1, "mb_per_s", "MB/s", target=("ratio", 1.0), title="bulk, 1 conn"),
        Scenario("bulk_50", "bulk", 50, "mb_per_s", "MB/s", target=("ratio", 1.0), title="bulk, 50 conns"),
        Scenario("churn_50", "churn", 50, "conns_per_s", "conn/s", target=("ratio", 0.95),
                 title="churn, 50 in flight"),
        Scenario("idle_%d" % idle_connections, "idle", idle_connections, "kib_per_conn", "KiB/conn",
                 higher_is_better=False, target=("max", 10.0),
                 title="idle RSS, %d conns" % idle_connections),
    ]


def servers(python):
    found = [
        ("ours_pipe", [python, os.path.join(SERVERS_DIR, "ours_pipe.py")]),
        ("ours_data", [python, os.path.join(SERVERS_DIR, "ours_data.py")]),
        ("gevent_raw", [python, os.path.join(SERVERS_DIR, "gevent_raw.py")]),
        ("asyncio", [python, os.path.join(SERVERS_DIR, "asyncio_proto.py")]),
    ]
    if _importable(python, "uvloop"):
        found.append(("uvloop", [python, os.path.join(SERVERS_DIR, "asyncio_proto.py"), "--uvloop"]))
    node = shutil.which("node")
    if node:
        found.append(("node", [node, os.path.join(SERVERS_DIR, "node_pipe.js")]))
    return found


def _importable(python, module):
    try:
        return subprocess.run([python, "-c", "import " + module], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# ---------------------------------------------------------------------------
# processes


def build_loadgen(cc):
    """Compile loadgen.c (again only when the source is newer).  Returns the binary's path."""
    source = os.path.join(HERE, "loadgen.c")
    binary = os.path.join(BUILD_DIR, "loadgen")
    if os.path.exists(binary) and os.path.getmtime(binary) >= os.path.getmtime(source):
        return binary
    os.makedirs(BUILD_DIR, exist_ok=True)
    command = [cc, "-O2", "-Wall", "-o", binary + ".tmp", source]
    print("building: %s" % " ".join(command), flush=True)
    subprocess.run(command, check=True, timeout=120)
    os.replace(binary + ".tmp", binary)
    return binary


def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


_port_counter = [0]


def free_port():
    """A free port below the ephemeral range, so the load generator's own ports never clash."""
    for _ in range(2000):
        port = 20000 + (os.getpid() * 7 + _port_counter[0]) % 10000
        _port_counter[0] += 1
        probe = socket.socket()
        try:
            probe.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            probe.close()
    raise RuntimeError("no free port")


class Server:
    """An echo server process in its own session (so its whole group can be killed)."""

    def __init__(self, name, command, port, cpu, log_path):
        self.name = name
        self.port = port
        argv = list(command) + [str(port)] if name != "cluster" else list(command) + ["--port", str(port)]
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + argv
        self.log_path = log_path
        self.log = open(log_path, "wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL,
                                        cwd=SERVERS_DIR, env=env, start_new_session=True,
                                        preexec_fn=_raise_nofile)

    @property
    def pid(self):
        return self.process.pid

    def wait_ready(self, timeout=30.0):
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        buffer = b""
        try:
            while time.monotonic() < deadline:
                if not selector.select(max(0.0, deadline - time.monotonic())):
                    continue
                chunk = os.read(self.process.stdout.fileno(), 4096)
                if not chunk:
                    break
                buffer += chunk
                if b"ready" in buffer:
                    return
        finally:
            selector.close()
        raise RuntimeError("%s did not print 'ready' (exit %s): %s" % (
            self.name, self.process.poll(), self.tail()))

    def tail(self, lines=8):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError:
            return ""

    def tracebacks(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().count(b"Traceback")
        except OSError:
            return 0

    def rss_kib(self):
        return _rss_kib(self.pid)

    def cpu_seconds(self):
        """User+system CPU of the server and of its children (cluster workers)."""
        total = 0.0
        for pid in [self.pid] + _children(self.pid):
            total += _cpu_seconds(pid)
        return total

    def stop(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever is left in its group (workers)
        except OSError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.process.stdout.close()
        self.log.close()


def _rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _busy_seconds():
    """Seconds of CPU time the whole machine spent not idle (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for_quiet(limit, threshold=0.15, sample=0.5):
    """Wait (at most *limit* seconds) until other programs use less than *threshold* cores."""
    if limit <= 0:
        return None
    deadline = time.monotonic() + limit
    load = None
    while True:
        b0, t0 = _busy_seconds(), time.monotonic()
        time.sleep(sample)
        load = (_busy_seconds() - b0) / (time.monotonic() - t0)
        if load < threshold or time.monotonic() >= deadline:
            return round(load, 2)


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def loadgen_command(loadgen, cpu, mode, port, connections, seconds, warmup, extra=()):
    argv = [loadgen, "--mode", mode, "--host", "127.0.0.1", "--port", str(port), "-c", str(connections),
            "-t", str(seconds), "-w", str(warmup)] + list(extra)
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu)] + argv
    return argv


def _parse_json_line(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in loadgen output: %r" % text[-500:])


def run_traffic(loadgen, server, scenario, opts):
    """One measurement of a traffic scenario against a running server."""
    command = loadgen_command(loadgen, opts.client_cpu, scenario.mode, server.port, scenario.connections,
                              opts.seconds, opts.warmup)
    cpu0, busy0, kids0, t0 = server.cpu_seconds(), _busy_seconds(), _children_cpu(), time.monotonic()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=opts.seconds + opts.warmup + 90)
    cpu1, busy1, kids1, t1 = server.cpu_seconds(), _busy_seconds(), _children_cpu(), time.monotonic()
    result = _parse_json_line(done.stdout.decode())
    result["exit"] = done.returncode
    span = max(t1 - t0, 1e-9)
    result["server_cpu"] = round((cpu1 - cpu0) / span, 3)
    result["loadgen_cpu"] = round((kids1 - kids0) / span, 3)
    # CPU used by anything else on the machine meanwhile (other people's tests...), in cores.
    result["background_cpu"] = round(max(0.0, (busy1 - busy0) - (cpu1 - cpu0) - (kids1 - kids0)) / span, 3)
    rate = result.get(scenario.metric)
    if rate:
        # Server CPU per operation: far less sensitive to other programs than the rate itself.
        result["cpu_us_per_op"] = round(result["server_cpu"] * 1e6 / rate, 2)
    return result


#: Seconds between the last held connection's ping and the RSS reading (every server alike).
IDLE_SETTLE_S = 2.5


def run_idle(loadgen, server, scenario, opts):
    """Hold N connections; the server's RSS growth divided by N."""
    time.sleep(0.3)
    base = server.rss_kib()
    command = loadgen_command(loadgen, opts.client_cpu, "idle", server.port, scenario.connections,
                              60, 0, ["--inflight", "256"])
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 90
        line = b""
        while b"\n" not in line and time.monotonic() < deadline:
            if selector.select(1.0):
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
        selector.close()
        holding = json.loads(line.split(b"\n", 1)[0].decode()) if b"\n" in line else {}
        # Let the server finish whatever the last connections started.
        time.sleep(IDLE_SETTLE_S)
        samples = []
        for _ in range(3):
            samples.append(server.rss_kib() or 0)
            time.sleep(0.1)
        held_rss = max(samples)
        rest, err = process.communicate(b"go\n", timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    result = _parse_json_line((line.split(b"\n", 1)[1] if b"\n" in line else b"").decode() + rest.decode())
    held = result.get("held") or holding.get("held") or 0
    result["exit"] = process.returncode
    result["rss_base_kib"] = base
    result["rss_held_kib"] = held_rss
    result["kib_per_conn"] = round((held_rss - base) / held, 3) if held and base is not None else None
    return result


def measure(loadgen, name, command, scenario, opts, logs):
    port = free_port()
    log_path = os.path.join(logs, "%s-%s.log" % (scenario.name, name))
    quiet_before = wait_for_quiet(opts.wait_quiet)
    server = Server(name, command, port, opts.server_cpu if scenario.name != "cluster" else None, log_path)
    try:
        server.wait_ready()
        if scenario.mode == "idle":
            result = run_idle(loadgen, server, scenario, opts)
        else:
            result = run_traffic(loadgen, server, scenario, opts)
        result["server_tracebacks"] = server.tracebacks()
        result["background_before"] = quiet_before
        if result.get("errors") or result.get("exit"):
            result["server_log"] = server.tail()
        return result
    except Exception as error:  # one failed run must not lose the others
        return {"errors": 1, "error": "%s: %s" % (type(error).__name__, error), "server_log": server.tail()}
    finally:
        server.stop()


# ---------------------------------------------------------------------------
# reporting


def median_result(runs, metric):
    values = [r.get(metric) for r in runs if r.get(metric) is not None and not r.get("errors")]
    if not values:
        return None
    return statistics.median(values)


def fmt(value, unit=""):
    if value is None:
        return "—"
    if unit in ("KiB/conn",):
        return "%.2f" % value
    if abs(value) >= 1000:
        return "{:,.0f}".format(value)
    if abs(value) >= 100:
        return "%.0f" % value
    return "%.1f" % value


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(value):
    return "—" if value is None else "%.2fx" % value


def target_check(scenario, table, name):
    """'pass'/'FAIL'/None for server *name* in *scenario* against the issue's target."""
    if scenario.target is None:
        return None, None
    kind, value = scenario.target
    mine = table.get(name)
    if kind == "ratio":
        r = ratio(mine, table.get(GEVENT))
        if r is None:
            return None, ">= %.2fx raw gevent" % value
        return ("pass" if r >= value else "FAIL"), ">= %.2fx raw gevent" % value
    if mine is None:
        return None, "<= %g %s" % (value, scenario.unit)
    return ("pass" if mine <= value else "FAIL"), "<= %g %s" % (value, scenario.unit)


def build_report(results, opts, meta):
    """(text for the terminal, markdown) from the collected results."""
    names = meta["servers"]
    lines = []
    md = []
    md.append("# nodenet_gevent echo benchmark\n")
    md.append("Produced by `%s` on %s.\n" % (meta["command"], meta["date"]))
    md.append("- machine: %s, %d cores, %s" % (meta["cpu"], meta["cores"], meta["kernel"]))
    md.append("- Python %s, gevent %s, greenlet %s, pyee %s, uvloop %s, Node %s" % (
        meta["python"], meta["gevent"], meta["greenlet"], meta["pyee"], meta["uvloop"] or "not installed",
        meta["node"] or "not installed"))
    md.append("- %s s per run after %s s warm-up, %d round(s), servers interleaved round-robin, median shown; "
              "%s" % (opts.seconds, opts.warmup, opts.rounds, meta["pinning"]))
    md.append("- load generator: `benchmarks/loadgen.c` (one thread, epoll), 64-byte messages for ping-pong "
              "and churn, 64 KiB writes for bulk; every echoed byte is checked")
    background = [r["background_cpu"] for per in results["runs"].values() for rs in per.values() for r in rs
                  if "background_cpu" in r]
    if background:
        md.append("- other programs on the machine used %.2f cores on average during the traffic runs "
                  "(max %.2f)%s" % (statistics.mean(background), max(background),
                                    ": figures are noisy" if max(background) > 0.2 else ""))
    md.append("")

    # Main table.
    header = ["scenario", "unit"] + names
    md.append("## Results (median)\n")
    md.append("| " + " | ".join(header) + " |")
    md.append("|" + "|".join(["---"] * 2 + ["---:"] * len(names)) + "|")
    tables = {}
    for scenario in results["scenarios"]:
        runs = results["runs"].get(scenario.name, {})
        table = {name: median_result(runs.get(name, []), scenario.metric) for name in names}
        tables[scenario.name] = table
        cells = [fmt(table[n], scenario.unit) for n in names]
        md.append("| %s | %s | %s |" % (scenario.title, scenario.unit + ("" if scenario.higher_is_better
                                                                          else " (lower is better)"),
                                          " | ".join(cells)))
    md.append("")

    # CPU cost.
    costly = [s for s in results["scenarios"] if s.cost_unit and not s.tls]
    if costly:
        md.append("## Server CPU per operation (median; lower is better)\n")
        md.append("Server CPU time (user + system, from `/proc`) divided by the work done. Other programs "
                  "on the machine disturb this much less than they disturb the rates above.\n")
        md.append("| scenario | unit | " + " | ".join(names) + " | " + " | ".join(
            "%s ÷ gevent" % o for o in OURS if o in names) + " |")
        md.append("|---|---|" + "|".join(["---:"] * (len(names) + len([o for o in OURS if o in names]))) + "|")
        for scenario in costly:
            runs = results["runs"].get(scenario.name, {})
            cost = {n: median_result(runs.get(n, []), "cpu_us_per_op") for n in names}
            md.append("| %s | %s | %s | %s |" % (
                scenario.title, scenario.cost_unit, " | ".join(fmt(cost[n]) for n in names),
                " | ".join(fmt_ratio(ratio(cost.get(o), cost.get(GEVENT))) for o in OURS if o in names)))
        md.append("")

    # Latency.
    pp = [s for s in results["scenarios"] if s.mode == "pingpong"]
    if pp:
        md.append("## Ping-pong latency, p50 / p99 (µs, median of rounds)\n")
        md.append("| scenario | " + " | ".join(names) + " |")
        md.append("|---|" + "|".join(["---:"] * len(names)) + "|")
        for scenario in pp:
            runs = results["runs"].get(scenario.name, {})
            cells = []
            for name in names:
                p50 = median_result(runs.get(name, []), "p50_us")
                p99 = median_result(runs.get(name, []), "p99_us")
                cells.append("—" if p50 is None else "%s / %s" % (fmt(p50), fmt(p99)))
            md.append("| %s | %s |" % (scenario.title, " | ".join(cells)))
        md.append("")

    md.extend(tls_rows.report_section(results, tables, median_result, fmt, fmt_ratio, ratio))

    # Ratios and targets.
    md.append("## nodenet_gevent against raw gevent and Node\n")
    md.append("Ratios are ours ÷ theirs on the scenario's figure (for idle RSS, lower is better).\n")
    md.append("| scenario | target | " + " | ".join(
        "%s ÷ gevent | %s ÷ node | %s" % (o, o, o + " target") for o in OURS if o in names) + " |")
    ncols = 2 + 3 * len([o for o in OURS if o in names])
    md.append("|---|---|" + "|".join(["---:"] * (ncols - 2)) + "|")
    verdicts = []
    for scenario in results["scenarios"]:
        if scenario.tls:
            continue  # (the TLS section above)
        table = tables[scenario.name]
        cells = []
        target_text = ""
        for o in OURS:
            if o not in names:
                continue
            verdict, target_text = target_check(scenario, table, o)
            if verdict is not None:
                verdicts.append((scenario.name, o, verdict))
            cells += [fmt_ratio(ratio(table.get(o), table.get(GEVENT))),
                      fmt_ratio(ratio(table.get(o), table.get(NODE))),
                      verdict or "—"]
        md.append("| %s | %s | %s |" % (scenario.title, target_text or "—", " | ".join(cells)))
    md.append("")

    # Connections held over cluster workers (hold.py).
    held = results.get("hold")
    if held:
        md.append("## %d connections held: `benchmarks/hold.py` (`examples/cluster.py --reuse-port`)\n"
                  % held["connections"])
        md.append("%d workers, %d load generators (each from its own 127.0.x.y source address); every held "
                  "connection echoed again before all were closed.\n" % (held["workers"], held["clients"]))
        md.append("| held | echoed after | errors | left open after close | total RSS | total PSS | "
                  "KiB/conn (RSS growth) | KiB/conn (PSS growth) | per worker | setup |")
        md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
        md.append("| {:,} | {:,} | {} | {} | {} MiB | {} MiB | {} | {} | {} | {} s |".format(
            held.get("held", 0), held.get("echoed_after_hold", 0), held.get("errors"), held.get("left_behind"),
            held.get("rss_total_mib"), held.get("pss_total_mib"), held.get("kib_per_conn_rss"),
            held.get("kib_per_conn_pss"), ", ".join("{:,}".format(n) for n in held.get("per_worker_connections", [])),
            held.get("setup_s")))
        md.append("")
    # Cluster.
    cluster = results.get("cluster")
    if cluster:
        md.append("## Past one core: `examples/cluster.py` (ping-pong, %d connections, no pinning)\n"
                  % cluster["connections"])
        md.append("| configuration | rt/s | p50 / p99 µs | CPU used (cores) | vs 1 worker |")
        md.append("|---|---:|---:|---:|---:|")
        one = median_result(cluster["runs"].get("1 worker", []), "rt_per_s")
        for label, runs in cluster["runs"].items():
            value = median_result(runs, "rt_per_s")
            p50 = median_result(runs, "p50_us")
            p99 = median_result(runs, "p99_us")
            cpu = median_result(runs, "server_cpu")
            md.append("| %s | %s | %s | %s | %s |" % (
                label, fmt(value), "—" if p50 is None else "%s / %s" % (fmt(p50), fmt(p99)),
                "—" if cpu is None else "%.2f" % cpu, fmt_ratio(ratio(value, one))))
        md.append("\nThe machine has %d cores and the load generator needs part of one, so 2 workers "
                  "cannot reach 2x here.\n" % meta["cores"])

    # Problems.
    problems = []
    for scenario_name, per_server in list(results["runs"].items()) + (
            [("cluster:" + k, {k: v}) for k, v in cluster["runs"].items()] if cluster else []):
        for name, runs in per_server.items():
            for i, run in enumerate(runs):
                if run.get("errors") or run.get("exit"):
                    problems.append("- %s / %s round %d: %s errors, exit %s: %s" % (
                        scenario_name, name, i + 1, run.get("errors"), run.get("exit"), run.get("error")))
                if run.get("server_tracebacks"):
                    problems.append("- %s / %s round %d: the server printed %d traceback(s)" % (
                        scenario_name, name, i + 1, run["server_tracebacks"]))
    md.append("## Errors\n")
    md.extend(problems or ["None: every run finished with every byte verified and no server traceback."])
    md.append("")

    # Spread.
    md.append("## Every round\n")
    md.append("<details><summary>per-round figures</summary>\n")
    for scenario in results["scenarios"]:
        runs = results["runs"].get(scenario.name, {})
        md.append("- %s (%s): %s" % (scenario.title, scenario.unit, "; ".join(
            "%s %s" % (n, ", ".join(fmt(r.get(scenario.metric), scenario.unit) + (
                " [server %.2f, other %.2f cores]" % (r["server_cpu"], r["background_cpu"])
                if "background_cpu" in r else "") for r in runs.get(n, [])))
            for n in names)))
    if cluster:
        for label, runs in cluster["runs"].items():
            md.append("- cluster %s (rt/s): %s" % (label, ", ".join(fmt(r.get("rt_per_s")) for r in runs)))
    md.append("\n</details>\n")

    text = "\n".join(md)
    return text, tables, verdicts


def terminal_table(results, tables, names, cluster):
    width = max(12, max(len(n) for n in names) + 1)
    out = []
    head = "%-24s %-9s" % ("scenario", "unit") + "".join("%*s" % (width, n) for n in names)
    out.append(head)
    out.append("-" * len(head))
    for scenario in results["scenarios"]:
        table = tables[scenario.name]
        out.append("%-24s %-9s" % (scenario.title, scenario.unit) + "".join(
            "%*s" % (width, fmt(table[n], scenario.unit)) for n in names))
    out.append("")
    out.append("%-24s %-20s" % ("ratios (ours/theirs)", "target") + "".join(
        "%14s" % h for o in OURS if o in names
        for h in (o.replace("ours_", "") + "/gevent", o.replace("ours_", "") + "/node", o.replace("ours_", "") + " ok?")))
    for scenario in results["scenarios"]:
        if scenario.tls:
            continue
        table = tables[scenario.name]
        row = "%-24s" % scenario.title
        target = ""
        cells = ""
        for o in OURS:
            if o not in names:
                continue
            verdict, target = target_check(scenario, table, o)
            cells += "%14s%14s%14s" % (fmt_ratio(ratio(table.get(o), table.get(GEVENT))),
                                       fmt_ratio(ratio(table.get(o), table.get(NODE))), verdict or "")
        out.append(row + " %-20s" % (target or "") + cells)
    out.extend(tls_rows.terminal_lines(results, tables, fmt, fmt_ratio, ratio))
    if cluster:
        out.append("")
        one = median_result(cluster["runs"].get("1 worker", []), "rt_per_s")
        for label, runs in cluster["runs"].items():
            value = median_result(runs, "rt_per_s")
            out.append("cluster %-26s %12s rt/s  %s vs 1 worker" % (label, fmt(value), fmt_ratio(ratio(value, one))))
    return "\n".join(out)


def draw_chart(results, tables, names, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = list(results["scenarios"])
    cluster = results.get("cluster")
    count = len(panels) + (1 if cluster else 0)
    cols = 4 if count > 4 else count
    rows = (count + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    colours = {"ours_pipe": "#d62728", "ours_data": "#ff7f0e", "gevent_raw": "#1f77b4", "asyncio": "#9467bd",
               "uvloop": "#8c564b", "node": "#2ca02c"}
    for index, scenario in enumerate(panels):
        ax = axes[index // cols][index % cols]
        runs = results["runs"].get(scenario.name, {})
        values, lows, highs = [], [], []
        for name in names:
            v = tables[scenario.name].get(name)
            ok = [r.get(scenario.metric) for r in runs.get(name, [])
                  if r.get(scenario.metric) is not None and not r.get("errors")]
            values.append(v or 0)
            lows.append((v or 0) - min(ok) if ok else 0)
            highs.append(max(ok) - (v or 0) if ok else 0)
        ax.bar(range(len(names)), values, yerr=[lows, highs], capsize=3,
               color=[colours.get(n, "#7f7f7f") for n in names])
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=40, ha="right", fontsize=8)
        ax.set_title(scenario.title, fontsize=10)
        ax.set_ylabel(scenario.unit + ("" if scenario.higher_is_better else " (lower is better)"), fontsize=8)
        if scenario.target and scenario.target[0] == "max":
            ax.axhline(scenario.target[1], color="black", linestyle="--", linewidth=0.8)
        elif scenario.target and tables[scenario.name].get(GEVENT):
            ax.axhline(tables[scenario.name][GEVENT] * scenario.target[1], color="black", linestyle="--",
                       linewidth=0.8)
        ax.tick_params(axis="y", labelsize=8)
    if cluster:
        index = len(panels)
        ax = axes[index // cols][index % cols]
        labels = list(cluster["runs"])
        values = [median_result(cluster["runs"][label], "rt_per_s") or 0 for label in labels]
        ax.bar(range(len(labels)), values, color="#d62728")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
        ax.set_title("cluster.py, ping-pong %d conns" % cluster["connections"], fontsize=10)
        ax.set_ylabel("rt/s", fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
    for index in range(count, rows * cols):
        axes[index // cols][index % cols].axis("off")
    fig.suptitle("Echo servers: nodenet_gevent vs raw gevent, asyncio, uvloop, Node "
                 "(dashed: target)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ---------------------------------------------------------------------------
# main


def versions(python):
    code = ("import json, platform, gevent, greenlet, importlib\n"
            "def v(m):\n"
            "    try: return importlib.import_module(m).__version__\n"
            "    except Exception: return None\n"
            "print(json.dumps({'python': platform.python_version(), 'gevent': v('gevent'), "
            "'greenlet': v('greenlet'), 'uvloop': v('uvloop'), 'pyee': __import__('importlib.metadata')"
            ".metadata.version('pyee')}))")
    out = subprocess.run([python, "-c", code], stdout=subprocess.PIPE, timeout=60, check=True).stdout
    info = json.loads(out.decode())
    node = shutil.which("node")
    info["node"] = subprocess.run([node, "--version"], stdout=subprocess.PIPE, timeout=30).stdout.decode().strip() \
        if node else None
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["cpu"] = cpu
    info["cores"] = os.cpu_count() or 1
    info["kernel"] = "Linux " + platform.release()
    return info


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per run (default 5)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds per run (default 0.5)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds; the median is reported (default 3)")
    parser.add_argument("--idle-connections", type=int, default=None, help="default 10000")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s, 1 round, 2000 idle connections")
    parser.add_argument("--only", default="", help="comma-separated servers and/or scenarios to run")
    parser.add_argument("--skip", default="", help="comma-separated servers and/or scenarios to leave out")
    parser.add_argument("--add", action="append", default=[], metavar="NAME=SCRIPT",
                        help="also run this echo server script (Python; takes a port, prints 'ready'), "
                             "e.g. a patched variant to compare; may be repeated")
    parser.add_argument("--wait-quiet", type=float, default=None,
                        help="before each run, wait up to this many seconds for other programs to leave "
                             "the CPUs alone (default 10; 0 with --quick)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the Python servers")
    parser.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    parser.add_argument("--no-pin", action="store_true", help="do not use taskset")
    parser.add_argument("--cluster-workers", default="1,2", help="worker counts for the cluster scenario")
    parser.add_argument("--hold-connections", type=int, default=100000, help="for hold_100k (hold.py)")
    parser.add_argument("--hold-workers", type=int, default=8, help="cluster.py workers for hold_100k")
    parser.add_argument("--hold-clients", type=int, default=6, help="load generator processes for hold_100k")
    parser.add_argument("--out", default=None,
                        help="where results.md/.json/.png go (default: benchmarks/, or benchmarks/build/quick/ "
                             "with --quick so a smoke run never replaces the published figures)")
    opts = parser.parse_args(argv)
    quick = opts.quick
    opts.seconds = opts.seconds if opts.seconds is not None else (1.0 if quick else 5.0)
    opts.warmup = opts.warmup if opts.warmup is not None else (0.2 if quick else 0.5)
    opts.rounds = opts.rounds if opts.rounds is not None else (1 if quick else 3)
    opts.idle_connections = opts.idle_connections or (2000 if quick else 10000)
    opts.out = opts.out or (os.path.join(BUILD_DIR, "quick") if quick else HERE)
    opts.wait_quiet = opts.wait_quiet if opts.wait_quiet is not None else (0.0 if quick else 10.0)
    return opts


def main(argv=None):
    opts = parse_args(argv)
    started = time.monotonic()
    if not sys.platform.startswith("linux"):
        sys.exit("this benchmark needs Linux (epoll, /proc)")
    cores = os.cpu_count() or 1
    if not opts.no_pin and shutil.which("taskset") and cores >= 2:
        opts.server_cpu, opts.client_cpu = 0, 1
        pinning = "server pinned to core 0, load generator to core 1 (taskset)"
    else:
        opts.server_cpu = opts.client_cpu = None
        pinning = "no pinning"
    loadgen = build_loadgen(opts.cc)
    only = {w for w in opts.only.split(",") if w}
    skip = {w for w in opts.skip.split(",") if w}
    all_servers = servers(opts.python)
    for spec in opts.add:
        name, _, script = spec.partition("=")
        if not name or not script or not os.path.exists(script):
            sys.exit("--add wants NAME=SCRIPT with an existing script, not %r" % spec)
        all_servers.append((name, [opts.python, os.path.abspath(script)]))
    all_scenarios = scenarios(opts.idle_connections)
    loadgen_tls = tls_rows.build_loadgen_tls(opts.cc, BUILD_DIR)
    certificate = tls_rows.make_certificate(BUILD_DIR) if loadgen_tls else None
    if certificate:
        all_servers += tls_rows.tls_servers(opts.python, certificate)
        all_scenarios += tls_rows.tls_scenarios(Scenario)
    server_names = {n for n, _ in all_servers}
    scenario_names = {s.name for s in all_scenarios} | {"cluster", "idle", HOLD}
    unknown = (only | skip) - server_names - scenario_names - {"uvloop", "node", "node_tls"}
    if unknown:
        sys.exit("unknown in --only/--skip: %s (servers: %s; scenarios: %s)" % (
            ", ".join(sorted(unknown)), ", ".join(sorted(server_names)), ", ".join(sorted(scenario_names))))

    def wanted(name, pool):
        if name in skip or (name.startswith("idle_") and "idle" in skip):
            return False
        chosen = only & pool
        return not chosen or name in chosen or (name.startswith("idle_") and "idle" in only)

    run_servers = [(n, c) for n, c in all_servers if wanted(n, server_names)]
    run_scenarios = [s for s in all_scenarios if wanted(s.name, scenario_names)]
    run_cluster = wanted("cluster", scenario_names) and ("ours_pipe" in {n for n, _ in run_servers}
                                                         or "cluster" in only)
    run_hold = HOLD in only  # minutes and 200,000 sockets: only when asked for by name
    meta = versions(opts.python)
    meta.update(servers=[n for n, _ in run_servers], pinning=pinning,
                command=" ".join(["python benchmarks/run.py"] + list(argv if argv is not None else sys.argv[1:])),
                date=time.strftime("%Y-%m-%d %H:%M"))
    logs = os.path.join(BUILD_DIR, "logs")
    os.makedirs(logs, exist_ok=True)

    def servers_for(scenario):  # TLS rows: the TLS servers; the others: the plain ones
        return [(n, c) for n, c in run_servers if (n in tls_rows.TLS_SERVERS) == scenario.tls]

    total = sum(len(servers_for(s)) for s in run_scenarios) * opts.rounds
    print("%d runs: %s x %s, %d round(s), %s s each; %s" % (
        total, ",".join(s.name for s in run_scenarios), ",".join(n for n, _ in run_servers), opts.rounds,
        opts.seconds, pinning), flush=True)
    results = {"scenarios": run_scenarios, "runs": {}}
    done = 0
    for scenario in run_scenarios:
        per_server = results["runs"].setdefault(scenario.name, {})
        pool = servers_for(scenario)
        for round_ in range(opts.rounds):
            # Rotate the order every round so no server always runs first.
            order = pool[round_ % len(pool):] + pool[:round_ % len(pool)] if pool else []
            for name, command in order:
                result = measure(loadgen_tls if scenario.tls else loadgen, name, command, scenario, opts, logs)
                per_server.setdefault(name, []).append(result)
                done += 1
                value = result.get(scenario.metric)
                print("  [%3d/%d] %-14s %-10s round %d: %s %s%s%s" % (
                    done, total, scenario.name, name, round_ + 1, fmt(value, scenario.unit), scenario.unit,
                    "  (server %.2f cores, other programs %.2f cores)" % (result["server_cpu"], result["background_cpu"])
                    if "background_cpu" in result else "",
                    "  ERRORS: %s" % result.get("error") if result.get("errors") or result.get("exit") else ""),
                    flush=True)

    if run_cluster:
        counts = [int(w) for w in opts.cluster_workers.split(",") if w]
        configs = [("%d worker%s" % (w, "" if w == 1 else "s"), w, []) for w in counts]
        if max(counts) > 1:
            configs.append(("%d workers, reusePort" % max(counts), max(counts), ["--reuse-port"]))
        cluster = {"connections": 100, "runs": {}}
        scenario = Scenario("cluster", "pingpong", 100, "rt_per_s", "rt/s")
        saved = opts.client_cpu
        opts.client_cpu = None
        try:
            for round_ in range(opts.rounds):
                for label, workers, extra in configs:
                    command = [opts.python, CLUSTER, "--workers", str(workers), "--quiet"] + extra
                    result = measure(loadgen, "cluster", command, scenario, opts, logs)
                    cluster["runs"].setdefault(label, []).append(result)
                    print("  cluster %-22s round %d: %s rt/s%s" % (
                        label, round_ + 1, fmt(result.get("rt_per_s")),
                        "  ERRORS: %s" % result.get("error") if result.get("errors") else ""), flush=True)
        finally:
            opts.client_cpu = saved
        results["cluster"] = cluster

    if run_hold:
        print("  %s: %d connections over %d cluster.py workers, %d load generators ..." % (
            HOLD, opts.hold_connections, opts.hold_workers, opts.hold_clients), flush=True)
        results["hold"] = hold.hold(loadgen, opts.hold_connections, opts.hold_workers, opts.hold_clients, opts.python)
        print("  %s: %s" % (HOLD, json.dumps(results["hold"])), flush=True)

    markdown, tables, verdicts = build_report(results, opts, meta)
    names = meta["servers"]
    print()
    print(terminal_table(results, tables, names, results.get("cluster")))
    os.makedirs(opts.out, exist_ok=True)
    with open(os.path.join(opts.out, "results.md"), "w") as f:
        f.write(markdown)
    serialisable = {
        "meta": meta,
        "options": {k: v for k, v in vars(opts).items()},
        "scenarios": [vars(s) for s in results["scenarios"]],
        "runs": results["runs"],
        "medians": tables,
        "cluster": results.get("cluster"),
        "hold": results.get("hold"),
        "targets": [{"scenario": s, "server": n, "verdict": v} for s, n, v in verdicts],
    }
    with open(os.path.join(opts.out, "results.json"), "w") as f:
        json.dump(serialisable, f, indent=1, default=str)
    png = os.path.join(opts.out, "results.png")
    drew = draw_chart(results, tables, names, png)
    print()
    print("wrote %s, %s%s  (%.0f s)" % (
        os.path.join(opts.out, "results.md"), os.path.join(opts.out, "results.json"),
        ", " + png if drew else " (no matplotlib: no chart)", time.monotonic() - started))
    failed_runs = sum(1 for per in results["runs"].values() for rs in per.values() for r in rs
                      if r.get("errors") or r.get("exit"))
    if failed_runs:
        print("%d run(s) had errors: see results.md" % failed_runs)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
