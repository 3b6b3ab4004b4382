"""Echo server: asyncio ``Protocol`` (``--uvloop`` runs it on uvloop when importable)."""

import asyncio

from _common import parse_args, raise_nofile, ready


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.write = transport.write

    def data_received(self, data):
        self.write(data)


def extra(parser):
    parser.add_argument("--uvloop", action="store_true", help="use uvloop if it is installed")


async def main(args):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, args.host, args.port, backlog=511)
    ready()
    async with server:
        await server.serve_forever()


args = parse_args(__doc__, extra)
raise_nofile()
if args.uvloop:
    try:
        import uvloop
    except ImportError:
        uvloop = None
    if uvloop is not None:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
try:
    asyncio.run(main(args))
except KeyboardInterrupt:
    pass
