// TLS echo server: Node's tls, c.pipe(c).  Usage: node node_tls.js --key K --cert C [--host H] PORT
'use strict';
const tls = require('tls');
const fs = require('fs');

// run.py puts the port last, after the options: it is the argument that is no option's value.
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const port = Number(args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1].startsWith('--'))));
const host = arg('--host', '127.0.0.1');
const options = { key: fs.readFileSync(arg('--key')), cert: fs.readFileSync(arg('--cert')) };

const server = tls.createServer(options, (c) => {
  c.on('error', () => {});
  c.pipe(c);
});
server.on('tlsClientError', () => {});
server.listen({ port, host, backlog: 511 }, () => console.log('ready'));
