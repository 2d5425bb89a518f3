// The host's side of a guest's network in tests: a free TCP port for a hostfwd rule, and a
// page fetched from a server the guest runs behind it.

import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';

/** A TCP port on 127.0.0.1 nobody listens on now (the kernel's choice of a free one). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** GETs / from 127.0.0.1:port with node's http client. */
export function getPage(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
