// Echo server: Node's net, c.pipe(c).  Usage: node node_pipe.js PORT [--host H]
'use strict';
const net = require('net');

const port = Number(process.argv[2]);
const i = process.argv.indexOf('--host');
const host = i > 0 ? process.argv[i + 1] : '127.0.0.1';

net.createServer((c) => {
  c.on('error', () => {});
  c.pipe(c);
}).listen({ port, host, backlog: 511 }, () => console.log('ready'));
