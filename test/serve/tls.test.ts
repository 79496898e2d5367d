// The xDS listener over TLS and mTLS (real certificates from openssl).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { startServe, type ServeHandle } from '../../src/serve/index.js';
import { makeCerts, type TestCerts } from './helpers/certs.js';
import { ScriptedAdsClient, TYPES } from './helpers/ads-client.js';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/two-backends.yaml');
const read = (f: string) => fs.readFileSync(f);

describe('xDS over TLS', () => {
  let certs: TestCerts;
  const handles: ServeHandle[] = [];
  const clients: ScriptedAdsClient[] = [];

  beforeAll(() => {
    certs = makeCerts();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const h of handles) await h.close();
    fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  async function serve(clientCa?: string): Promise<string> {
    const handle = await startServe(fixture, {
      xdsAddress: '127.0.0.1:0',
      adminAddress: '127.0.0.1:0',
      watch: false,
      log: () => {},
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: clientCa },
    });
    handles.push(handle);
    return `127.0.0.1:${handle.xdsPort}`;
  }

  async function fetchClusters(address: string, creds: grpc.ChannelCredentials): Promise<number> {
    const client = new ScriptedAdsClient(address, creds);
    clients.push(client);
    const stream = client.sotw();
    stream.send({ node: { id: 'tls-test' }, type_url: TYPES.cds, resource_names: [] });
    return (await stream.next()).resources.length;
  }

  it('serves over TLS to a client that trusts the CA, and not in clear text', async () => {
    const address = await serve();
    expect(await fetchClusters(address, grpc.credentials.createSsl(read(certs.ca)))).toBe(4);
    await expect(fetchClusters(address, grpc.credentials.createInsecure())).rejects.toThrow();
  });

  it('with --client-ca requires a client certificate signed by that CA', async () => {
    const address = await serve(certs.ca);
    const withCert = grpc.credentials.createSsl(read(certs.ca), read(certs.clientKey), read(certs.clientCert));
    expect(await fetchClusters(address, withCert)).toBe(4);
    await expect(fetchClusters(address, grpc.credentials.createSsl(read(certs.ca)))).rejects.toThrow();
    const stranger = grpc.credentials.createSsl(read(certs.ca), read(certs.strangerKey), read(certs.strangerCert));
    await expect(fetchClusters(address, stranger)).rejects.toThrow();
  });
});
