"""Echo server: nodenet_gevent, ``c.pipe(c)`` (Node's idiom)."""

from _common import parse_args, raise_nofile, ready

import nodenet_gevent as net

args = parse_args(__doc__)
raise_nofile()
server = net.createServer(lambda c: c.pipe(c))
server.listen(args.port, args.host, ready)
net.run()
