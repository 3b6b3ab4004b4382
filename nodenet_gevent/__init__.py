"""nodenet_gevent: Node.js's ``net`` module for Python, on gevent.

    import nodenet_gevent as net

    def on_connection(c):
        c.write(b'hello\\r\\n')
        c.pipe(c)

    net.createServer(on_connection).listen(8124)
    net.run()

Every name exists in Node's spelling and in PEP 8 spelling (``createServer`` /
``create_server``).  See README.md for the full table and the differences from
Node.
"""

from .abort import AbortController, AbortError, AbortSignal
from .blocklist import BlockList
from .emitter import Listener
from .encodings import Chunk
from .errors import AggregateError, NodeError, NodeTypeError, NodeValueError, ProxyProtocolError
from .ip import is_ip, is_ipv4, is_ipv6, isIP, isIPv4, isIPv6
from .lookup import (
    get_default_auto_select_family,
    get_default_auto_select_family_attempt_timeout,
    set_default_auto_select_family,
    set_default_auto_select_family_attempt_timeout,
)
from .loop import next_tick, once, run
from .pipe import Writable
from .reporting import set_error_reporter
from .server import Server, create_server, createServer
from .socket import AddressInfo, Socket, Stream, WriteCallback, connect, create_connection, createConnection
from .socketaddress import SocketAddress
from .streams import Cleanup, FinishedCallback, finished, pipeline

__version__ = "0.1.0"

# Node's spellings.
getDefaultAutoSelectFamily = get_default_auto_select_family
setDefaultAutoSelectFamily = set_default_auto_select_family
getDefaultAutoSelectFamilyAttemptTimeout = get_default_auto_select_family_attempt_timeout
setDefaultAutoSelectFamilyAttemptTimeout = set_default_auto_select_family_attempt_timeout

__all__ = [
    "Server",
    "Socket",
    "Stream",
    "NodeError",
    "NodeTypeError",
    "NodeValueError",
    "AggregateError",
    "ProxyProtocolError",
    "set_error_reporter",
    "getDefaultAutoSelectFamily",
    "get_default_auto_select_family",
    "setDefaultAutoSelectFamily",
    "set_default_auto_select_family",
    "getDefaultAutoSelectFamilyAttemptTimeout",
    "get_default_auto_select_family_attempt_timeout",
    "setDefaultAutoSelectFamilyAttemptTimeout",
    "set_default_auto_select_family_attempt_timeout",
    "BlockList",
    "SocketAddress",
    "AbortController",
    "AbortSignal",
    "AbortError",
    "connect",
    "create_connection",
    "createConnection",
    "create_server",
    "createServer",
    "is_ip",
    "is_ipv4",
    "is_ipv6",
    "isIP",
    "isIPv4",
    "isIPv6",
    "finished",
    "next_tick",
    "once",
    "pipeline",
    "run",
    # For annotating code that uses the library: what address() returns, what
    # write() takes, callbacks, what pipe() accepts as a destination, and what
    # finished() returns.
    "AddressInfo",
    "Chunk",
    "Cleanup",
    "FinishedCallback",
    "Listener",
    "Writable",
    "WriteCallback",
]
