import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { consulClient, parseAddress, resolveConnection } from '../../src/consul/connection.js';

describe('Consul address and token, as Consul\'s CLI reads them', () => {
  it('takes the flag, else CONSUL_HTTP_ADDR (host:port or URL), else 127.0.0.1:8500', () => {
    expect(resolveConnection({}, {})).toEqual({ baseUrl: 'http://127.0.0.1:8500', token: undefined });
    expect(resolveConnection({}, { CONSUL_HTTP_ADDR: '10.1.2.3:8500' }).baseUrl).toBe('http://10.1.2.3:8500');
    expect(resolveConnection({}, { CONSUL_HTTP_ADDR: 'consul.internal:8501', CONSUL_HTTP_SSL: 'true' }).baseUrl).toBe(
      'https://consul.internal:8501',
    );
    expect(resolveConnection({ consulAddr: 'https://c.example' }, { CONSUL_HTTP_ADDR: 'x:1' }).baseUrl).toBe('https://c.example:8501');
    expect(resolveConnection({}, { CONSUL_HTTP_TOKEN: 't1' }).token).toBe('t1');
    expect(resolveConnection({ token: 'flag' }, { CONSUL_HTTP_TOKEN: 't1' }).token).toBe('flag');
    expect(parseAddress('[::1]:8500')).toBe('http://[::1]:8500');
    expect(() => parseAddress('unix:///var/run/consul.sock')).toThrow('unix sockets are not supported');
  });

  it('reaches Consul on an IPv6 literal', async () => {
    const server = createServer((_q, r) => r.writeHead(200, { 'Content-Type': 'application/json' }).end('{"web":[]}'));
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(0, '::1', () => resolve(true));
    });
    if (!listening) return; // no IPv6 loopback on this machine
    const client = consulClient({ baseUrl: `http://[::1]:${(server.address() as AddressInfo).port}`, token: undefined });
    try {
      expect(await client.catalog.service.list()).toEqual({ web: [] });
    } finally {
      client.destroy();
      server.close();
    }
  });
});
