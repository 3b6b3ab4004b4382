"""Echo server: nodenet_gevent, a ``'data'`` listener that calls ``write``."""

from _common import parse_args, raise_nofile, ready

import nodenet_gevent as net


def on_connection(c):
    c.on("data", c.write)


args = parse_args(__doc__)
raise_nofile()
server = net.createServer(on_connection)
server.listen(args.port, args.host, ready)
net.run()
