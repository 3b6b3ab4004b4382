"""The TLS rows of run.py: nodenet_gevent.tls against Node's tls, in the same run.

The servers (``servers/ours_tls.py``, ``servers/node_tls.js``) echo with
``c.pipe(c)`` over TLS, with one certificate made for the run (ECDSA P-256,
``openssl req``).  The load generator is ``loadgen.c`` built with
``-DLOADGEN_TLS`` (OpenSSL): the same modes and byte checks, a full handshake
per connection (no resumption), close_notify before the FIN.  Scenarios:
ping-pong 1 and 100 connections, bulk 1 and 50, and churn with 50 in flight,
which counts full handshakes per second.  The report's TLS section gives
ours ÷ Node on each, and the server CPU per operation.
"""

import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SERVERS_DIR = os.path.join(HERE, "servers")

OURS_TLS = "ours_tls"
NODE_TLS = "node_tls"
TLS_SERVERS = (OURS_TLS, NODE_TLS)


def tls_scenarios(scenario_class):
    """The TLS scenarios, as run.py's Scenario objects (``tls`` set)."""
    made = [
        scenario_class("tls_pingpong_1", "pingpong", 1, "rt_per_s", "rt/s", title="TLS ping-pong, 1 conn"),
        scenario_class("tls_pingpong_100", "pingpong", 100, "rt_per_s", "rt/s", title="TLS ping-pong, 100 conns"),
        scenario_class("tls_bulk_1", "bulk", 1, "mb_per_s", "MB/s", title="TLS bulk, 1 conn"),
        scenario_class("tls_bulk_50", "bulk", 50, "mb_per_s", "MB/s", title="TLS bulk, 50 conns"),
        scenario_class("tls_handshakes_50", "churn", 50, "conns_per_s", "conn/s",
                       title="TLS full handshakes, 50 in flight"),
    ]
    for scenario in made:
        scenario.tls = True
    return made


def build_loadgen_tls(cc, build_dir):
    """loadgen.c with OpenSSL (again only when the source is newer); None when it cannot be built."""
    source = os.path.join(HERE, "loadgen.c")
    binary = os.path.join(build_dir, "loadgen_tls")
    if os.path.exists(binary) and os.path.getmtime(binary) >= os.path.getmtime(source):
        return binary
    os.makedirs(build_dir, exist_ok=True)
    command = [cc, "-O2", "-Wall", "-DLOADGEN_TLS", "-o", binary + ".tmp", source, "-lssl", "-lcrypto"]
    print("building: %s" % " ".join(command), flush=True)
    try:
        subprocess.run(command, check=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as error:
        print("no TLS rows: the TLS load generator did not build (%s)" % error, flush=True)
        return None
    os.replace(binary + ".tmp", binary)
    return binary


def make_certificate(build_dir):
    """(key path, certificate path) for localhost, made with ``openssl``; None without it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    directory = os.path.join(build_dir, "tls")
    os.makedirs(directory, exist_ok=True)
    key, cert = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    if not (os.path.exists(key) and os.path.exists(cert)):
        subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "3650", "-subj", "/CN=localhost"],
                       check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return key, cert


def tls_servers(python, certificate):
    key, cert = certificate
    found = [(OURS_TLS, [python, os.path.join(SERVERS_DIR, "ours_tls.py"), "--key", key, "--cert", cert])]
    node = shutil.which("node")
    if node:
        found.append((NODE_TLS, [node, os.path.join(SERVERS_DIR, "node_tls.js"), "--key", key, "--cert", cert]))
    return found


def report_section(results, tables, median_result, fmt, fmt_ratio, ratio):
    """Markdown lines: ours_tls ÷ node_tls on each TLS scenario, and the server CPU per operation."""
    rows = [s for s in results["scenarios"] if getattr(s, "tls", False)]
    if not rows:
        return []
    md = ["## TLS: nodenet_gevent.tls against Node's tls\n",
          "Both servers echo with `c.pipe(c)` over TLS 1.3 (one ECDSA P-256 certificate); the load generator "
          "is `loadgen.c` built with `-DLOADGEN_TLS`. Goal: at least Node on each.\n",
          "| scenario | unit | ours_tls | node_tls | ours ÷ node | CPU µs/op ours | CPU µs/op node | "
          "CPU ours ÷ node |",
          "|---|---|---:|---:|---:|---:|---:|---:|"]
    for scenario in rows:
        table = tables[scenario.name]
        runs = results["runs"].get(scenario.name, {})
        cost = {n: median_result(runs.get(n, []), "cpu_us_per_op") for n in TLS_SERVERS}
        md.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            scenario.title, scenario.unit, fmt(table.get(OURS_TLS), scenario.unit),
            fmt(table.get(NODE_TLS), scenario.unit), fmt_ratio(ratio(table.get(OURS_TLS), table.get(NODE_TLS))),
            fmt(cost[OURS_TLS]), fmt(cost[NODE_TLS]), fmt_ratio(ratio(cost[OURS_TLS], cost[NODE_TLS]))))
    md.append("")
    return md


def terminal_lines(results, tables, fmt, fmt_ratio, ratio):
    rows = [s for s in results["scenarios"] if getattr(s, "tls", False)]
    if not rows:
        return []
    out = ["", "%-34s %12s %12s %12s" % ("TLS", OURS_TLS, NODE_TLS, "ours/node")]
    for scenario in rows:
        table = tables[scenario.name]
        out.append("%-34s %12s %12s %12s" % (
            scenario.title, fmt(table.get(OURS_TLS), scenario.unit), fmt(table.get(NODE_TLS), scenario.unit),
            fmt_ratio(ratio(table.get(OURS_TLS), table.get(NODE_TLS)))))
    return out
