"""Shared by the benchmark servers: arguments, descriptor limit, the 'ready' line."""

import argparse
import resource


def parse_args(description, extra=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("port", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def raise_nofile():
    """Lift the soft descriptor limit to the hard one (the idle case holds 10,000+)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def ready():
    print("ready", flush=True)
