// Shared pieces of the end-to-end tests: the gRPC xDS client's bootstrap,
// waiting for the client to take a new snapshot, and reading /metrics.
import http from 'node:http';
import type { ServeHandle } from '../../../src/serve/index.js';
import { TYPES, waitForEvent } from './ads-client.js';

/** gRPC's xDS bootstrap (GRPC_XDS_BOOTSTRAP_CONFIG): our server, and the locality gRPC requires. */
export function grpcXdsBootstrap(xdsPort: number): string {
  return JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'grpc-e2e-client', cluster: 'e2e', locality: { region: 'test', zone: 'a' } },
  });
}

/** Resolve when a gRPC-profile client ACKs a route configuration sent after this call. */
export function nextGrpcRouteAck(handle: ServeHandle): Promise<unknown> {
  const sent = new Set<string>();
  const onResponse = (e: { typeUrl: string; nonce: string; streamId: number }) => {
    const stream = [...handle.xds.streams].find((s) => s.id === e.streamId);
    if (e.typeUrl === TYPES.rds && stream?.profile === 'grpc') sent.add(e.nonce);
  };
  handle.xds.on('response', onResponse);
  return waitForEvent(handle.xds, 'ack', (e: { typeUrl: string; nonce: string }) => sent.has(e.nonce), 30_000).finally(() =>
    handle.xds.off('response', onResponse),
  );
}

export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** The value of one sample of a metric family in Prometheus text. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{.*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const body = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return null;
}
