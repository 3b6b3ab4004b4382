"""Run the test suite with ``gevent.monkey.patch_all()`` applied before anything else.

Monkey-patching must happen before the standard library's socket, threading and
ssl modules are used, so it cannot be done from a conftest; this launcher does
it first and then hands over to pytest.  ``python tests/run_monkeypatched.py [pytest args]``.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

if __name__ == "__main__":
    os.environ["NODENET_MONKEY"] = "1"
    sys.exit(pytest.main(sys.argv[1:]))
