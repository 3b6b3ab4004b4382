"""Port of node-v0.x-archive test/simple/test-net-isip.js."""

import pytest

import nodenet_gevent as net
from test_v010_support import handler_errors  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.timeout(60)


# From test/simple/test-net-isip.js
def test_v010_net_isip():
    assert net.isIP("127.0.0.1") == 4
    assert net.isIP("x127.0.0.1") == 0
    assert net.isIP("example.com") == 0
    assert net.isIP("0000:0000:0000:0000:0000:0000:0000:0000") == 6
    assert net.isIP("0000:0000:0000:0000:0000:0000:0000:0000::0000") == 0
    assert net.isIP("1050:0:0:0:5:600:300c:326b") == 6
    assert net.isIP("2001:252:0:1::2008:6") == 6
    assert net.isIP("2001:dead:beef:1::2008:6") == 6
    assert net.isIP("2001::") == 6
    assert net.isIP("2001:dead::") == 6
    assert net.isIP("2001:dead:beef::") == 6
    assert net.isIP("2001:dead:beef:1::") == 6
    assert net.isIP("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == 6
    assert net.isIP(":2001:252:0:1::2008:6:") == 0
    assert net.isIP(":2001:252:0:1::2008:6") == 0
    assert net.isIP("2001:252:0:1::2008:6:") == 0
    assert net.isIP("2001:252::1::2008:6") == 0
    assert net.isIP("::2001:252:1:2008:6") == 6
    assert net.isIP("::2001:252:1:1.1.1.1") == 6
    assert net.isIP("::2001:252:1:255.255.255.255") == 6
    assert net.isIP("::2001:252:1:255.255.255.255.76") == 0
    assert net.isIP("::anything") == 0
    assert net.isIP("::1") == 6
    assert net.isIP("::") == 6
    assert net.isIP("0000:0000:0000:0000:0000:0000:12345:0000") == 0
    assert net.isIP("0") == 0
    # Node: net.isIP() with no argument is isIP(undefined) -> 0.  Python has no
    # undefined; the SPEC coerces a non-string with str() as Node uses String(),
    # so None reads as 'None' -> 0.
    assert net.isIP(None) == 0
    assert net.isIP("") == 0

    assert net.isIPv4("127.0.0.1") is True
    assert net.isIPv4("example.com") is False
    assert net.isIPv4("2001:252:0:1::2008:6") is False

    assert net.isIPv6("127.0.0.1") is False
    assert net.isIPv6("example.com") is False
    assert net.isIPv6("2001:252:0:1::2008:6") is True
