// The admin HTTP endpoint (node:http): /healthz, /ready, /metrics
// (Prometheus text format 0.0.4), /config_dump (the served resources as
// JSON), and / (a short status page).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { XdsServer } from './xds-server.js';
import { typeLabel } from './snapshot.js';

export interface ReloadStatus {
  file: string;
  successes: number;
  failures: number;
  lastResult: 'success' | 'failure' | null;
  lastError: string | null;
  lastErrorAt: string | null;
  lastSuccessAt: string | null;
}

export interface AdminContext {
  xds: XdsServer;
  reload: () => ReloadStatus;
  /** More Prometheus lines: the endpoint source's (Consul: consul_up, consul_last_error, consul_index…). */
  extraMetrics?: () => string[];
}

/** A Prometheus label value: backslash, quote and newline escaped. */
function labelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  const body = Object.entries(pairs)
    .map(([k, v]) => `${k}="${labelValue(v)}"`)
    .join(',');
  return body ? `{${body}}` : '';
}

/** Split `${type}|${kind}` counter keys into labels. */
function typeKind(key: string): Record<string, string> {
  const [type = '', kind = ''] = key.split('|');
  return { type, kind };
}

function family(out: string[], name: string, type: 'counter' | 'gauge', help: string, samples: [Record<string, string>, number][]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [l, v] of samples) out.push(`${name}${labels(l)} ${v}`);
}

const TYPES = ['cds', 'eds', 'lds', 'rds', 'sds'];
const KINDS = ['sotw', 'delta'];

function allTypeKinds(map: Map<string, number>): [Record<string, string>, number][] {
  const keys = new Set(map.keys());
  for (const t of TYPES) for (const k of KINDS) keys.add(`${t}|${k}`);
  return [...keys].sort().map((key) => [typeKind(key), map.get(key) ?? 0]);
}

/** First line of an error, bounded, for a label. */
function shortText(text: string): string {
  const first = text.split('\n').slice(0, 3).join(' / ');
  return first.length > 400 ? first.slice(0, 400) + '…' : first;
}

export function metricsText(ctx: AdminContext): string {
  const { xds } = ctx;
  const reload = ctx.reload();
  const snap = xds.snapshot();
  const out: string[] = [];
  family(out, 'xds_streams', 'gauge', 'Open ADS streams that subscribed to a type, by type and kind (sotw, delta).', allTypeKinds(xds.streamCounts()));
  const open = new Map<string, number>();
  for (const s of xds.streams) open.set(s.kind, (open.get(s.kind) ?? 0) + 1);
  family(out, 'xds_streams_open', 'gauge', 'Open ADS streams by kind.', KINDS.map((k) => [{ kind: k }, open.get(k) ?? 0]));
  family(out, 'xds_pushes_total', 'counter', 'Discovery responses sent, by type and kind.', allTypeKinds(xds.counters.pushes));
  family(out, 'xds_acks_total', 'counter', 'Responses ACKed by clients, by type and kind.', allTypeKinds(xds.counters.acks));
  family(out, 'xds_nacks_total', 'counter', 'Responses NACKed by clients, by type and kind.', allTypeKinds(xds.counters.nacks));
  family(
    out,
    'xds_last_nack_info',
    'gauge',
    'The last NACK per type: node, rejected version and error detail.',
    [...xds.counters.lastNack.entries()].sort().map(([type, n]) => [{ type, node: n.node, version: n.version, detail: shortText(n.detail) }, 1]),
  );
  family(out, 'reloads_total', 'counter', 'Configuration reloads by result.', [
    [{ result: 'success' }, reload.successes],
    [{ result: 'failure' }, reload.failures],
  ]);
  family(out, 'reload_last_success', 'gauge', '1 when the last reload succeeded, 0 when it failed (the last good snapshot is still served).', [
    [{}, reload.lastResult === 'failure' ? 0 : 1],
  ]);
  family(
    out,
    'reload_last_error_info',
    'gauge',
    'The error of the last failed reload (present while the last reload failed).',
    reload.lastResult === 'failure' && reload.lastError ? [[{ error: shortText(reload.lastError) }, 1]] : [],
  );
  family(out, 'snapshot_info', 'gauge', 'The served snapshot version (Envoy profile).', snap ? [[{ version: snap.version }, 1]] : []);
  const resources: [Record<string, string>, number][] = [];
  for (const profile of snap?.builtProfiles() ?? []) {
    for (const type of snap!.profiles[profile].values()) resources.push([{ profile, type: typeLabel(type.typeUrl) }, type.resources.size]);
  }
  family(out, 'snapshot_resources', 'gauge', 'Resources in the served snapshot, by client profile and type.', resources);
  out.push(...(ctx.extraMetrics?.() ?? []));
  return out.join('\n') + '\n';
}

function configDump(ctx: AdminContext): unknown {
  const snap = ctx.xds.snapshot();
  if (!snap) return { version: null, resources: null };
  const versions: Record<string, Record<string, string>> = {};
  for (const [profile, types] of Object.entries(snap.profiles)) {
    versions[profile] = Object.fromEntries([...types.values()].map((t) => [t.typeUrl, t.version]));
  }
  return {
    version: snap.version,
    type_versions: versions,
    endpoint_overrides: [...ctx.xds.endpointOverrides().keys()].sort(),
    resources: snap.sources.envoy,
    grpc_profile: snap.sources.grpc,
  };
}

function statusPage(ctx: AdminContext): string {
  const reload = ctx.reload();
  const snap = ctx.xds.snapshot();
  const lines = [
    'ngx2envoy serve',
    `config: ${reload.file}`,
    `snapshot: ${snap?.version ?? '(none)'}`,
    `streams: ${ctx.xds.streams.size}`,
    `reloads: ${reload.successes} ok, ${reload.failures} failed`,
  ];
  if (reload.lastResult === 'failure') {
    lines.push('', `LAST RELOAD FAILED at ${reload.lastErrorAt} — still serving the last good snapshot:`, reload.lastError ?? '');
  }
  lines.push('', 'endpoints: /healthz /ready /metrics /config_dump');
  return lines.join('\n') + '\n';
}

function handler(ctx: AdminContext): http.RequestListener {
  return (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    switch (url) {
      case '/healthz':
        return send(200, 'text/plain', 'ok\n');
      case '/ready':
        return ctx.xds.snapshot() ? send(200, 'text/plain', 'ready\n') : send(503, 'text/plain', 'no snapshot loaded\n');
      case '/metrics':
        return send(200, 'text/plain; version=0.0.4', metricsText(ctx));
      case '/config_dump':
        return send(200, 'application/json', JSON.stringify(configDump(ctx), null, 2) + '\n');
      case '/':
        return send(200, 'text/plain', statusPage(ctx));
      default:
        return send(404, 'text/plain', 'not found\n');
    }
  };
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

export async function startAdmin(host: string, port: number, ctx: AdminContext): Promise<AdminServer> {
  const server = http.createServer(handler(ctx));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
