/** The ceiling for a Node gateway: a bare `http` server returning the hello function's body. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HELLO_BODY } from '../lib.js';

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(HELLO_BODY);
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
process.on('disconnect', () => process.exit(0));
