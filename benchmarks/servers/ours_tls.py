"""TLS echo server: nodenet_gevent.tls, ``c.pipe(c)``.  Usage: ours_tls.py PORT --key K --cert C"""

from _common import parse_args, raise_nofile, ready

import nodenet_gevent as net
from nodenet_gevent import tls


def extra(parser):
    parser.add_argument("--key", required=True)
    parser.add_argument("--cert", required=True)


args = parse_args(__doc__, extra)
raise_nofile()
with open(args.key) as key, open(args.cert) as cert:
    options = {"key": key.read(), "cert": cert.read()}
server = tls.createServer(options, lambda c: c.pipe(c))
server.listen(args.port, args.host, ready)
net.run()
