// `ngx2envoy explain FILE METHOD URL`: what nginx does with one request (server,
// location, action, from the nginx routing model with file:line) next to what
// the compiled Envoy configuration does with it (listener, virtual host, route,
// cluster/redirect/direct response, rewritten path, from the Envoy route
// evaluator), and whether they agree.
import { dirname, resolve } from 'node:path';
import type { CompileResult } from '../compile.js';
import type { CompiledConfig, Src } from '../ir/types.js';
import { evaluate, type EnvoyDecision } from '../sim/envoy/index.js';
import { fromByteString, routeNginx, selectListener, type NginxRoute } from '../sim/nginx/index.js';
import { probeAddress } from './probes.js';
import { paint } from './style.js';

export interface ExplainRequest {
  method: string;
  port: number;
  /** Local address the request arrives on; null = any (the wildcard listener). */
  address: string | null;
  /** Host header as sent (may carry a port). */
  host: string;
  /** Path and query as sent. */
  target: string;
  scheme: 'http' | 'https';
  headers: Record<string, string>;
  /** The client's address (allow/deny). */
  from: string;
}

/** The `explain --json` document (schema "ngx2envoy.explain/v1"). */
export interface ExplainDocument {
  schema: 'ngx2envoy.explain/v1';
  request: ExplainRequest;
  nginx: NginxRoute;
  envoy: EnvoyDecision;
  agree: boolean;
  /** False when the nginx side is not exact here (see nginx.uncertain: `if`, files, unknown variables). */
  exact: boolean;
  /** What differs, one line each (empty when they agree). */
  differences: string[];
}

export interface ExplainInput {
  method: string;
  url: string;
  port?: number;
  address?: string;
  /** The client's address (default 127.0.0.1). */
  from?: string;
  headers: Record<string, string>;
}

/** Turns METHOD URL (+ --port, --header) into the request both sides see. */
export function explainRequest(ir: CompiledConfig, input: ExplainInput): ExplainRequest {
  const m = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(input.url);
  const headers = { ...input.headers };
  const hostKey = Object.keys(headers).find((k) => k.toLowerCase() === 'host');
  const headerHost = hostKey ? headers[hostKey]! : null;
  if (hostKey) delete headers[hostKey];
  const scheme = (m?.[1]?.toLowerCase() ?? 'http') as 'http' | 'https';
  const authority = m?.[2] ?? '';
  const target = m ? m[3] || '/' : input.url;
  const urlPort = /:(\d+)$/.exec(authority)?.[1];
  const ports = [...new Set(ir.listeners.map((l) => l.port))];
  const port = input.port ?? (urlPort ? Number(urlPort) : ports.length === 1 ? ports[0]! : scheme === 'https' ? 443 : 80);
  const host = headerHost ?? (authority || 'localhost');
  const listener = selectListener(ir, port, input.address);
  // A relative URL sent to a TLS listener is an https request.
  const effectiveScheme = m ? scheme : listener?.ssl ? 'https' : 'http';
  return {
    method: input.method.toUpperCase(),
    port,
    address: input.address ?? (listener && !['0.0.0.0', '::'].includes(listener.address) ? listener.address : null),
    host,
    target: target.startsWith('/') ? target : '/' + target,
    scheme: effectiveScheme,
    headers,
    from: input.from ?? '127.0.0.1',
  };
}

export function explainCompiled(result: CompileResult, req: ExplainRequest): ExplainDocument {
  const ir = result.ir!;
  const nginx = routeNginx(ir, {
    method: req.method,
    port: req.port,
    ...(req.address ? { address: req.address } : {}),
    host: req.host,
    target: req.target,
    headers: req.headers,
    scheme: req.scheme,
    remoteAddress: req.from,
  });
  let envoy: EnvoyDecision;
  try {
    const hostname = req.host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    envoy = evaluate(result.bootstrap, {
      port: req.port,
      // Any address reaches a wildcard listener; a TEST-NET one stands for it.
      address: req.address ?? probeAddress(selectListener(ir, req.port)?.address ?? '0.0.0.0'),
      host: req.host,
      path: req.target,
      method: req.method,
      headers: req.headers,
      remoteAddress: req.from,
      ...(req.scheme === 'https' ? { sni: hostname } : {}),
    }, { filesFrom: mainDir(result) });
  } catch (err) {
    envoy = { kind: 'rejected', notes: [`the configuration cannot be evaluated: ${err instanceof Error ? err.message : String(err)}`] };
  }
  const differences = compare(nginx, envoy);
  // The model works on bytes; the document carries text.
  nginx.uri = fromByteString(nginx.uri);
  nginx.args = fromByteString(nginx.args);
  if (nginx.outcome.kind === 'proxy') nginx.outcome = { ...nginx.outcome, upstreamUri: fromByteString(nginx.outcome.upstreamUri) };
  return { schema: 'ngx2envoy.explain/v1', request: req, nginx, envoy, agree: differences.length === 0, exact: nginx.uncertain.length === 0, differences };
}

/** Where nginx and Envoy part ways for this request (empty: they agree). */
export function compare(n: NginxRoute, e: EnvoyDecision): string[] {
  const out: string[] = [];
  const o = n.outcome;
  const expectedRoute = n.location ? n.location.id : null;
  if (e.routeName && expectedRoute && /^server_\d+/.test(e.routeName) && e.routeName !== expectedRoute && !e.routeName.startsWith(expectedRoute + '/')) {
    out.push(`location: nginx uses ${expectedRoute}, Envoy route ${e.routeName}`);
  }
  switch (o.kind) {
    case 'proxy':
      if (e.kind !== 'route') out.push(`action: nginx proxies to ${o.backend}, Envoy answers ${e.kind}`);
      else {
        if (e.cluster !== o.cluster) out.push(`upstream: nginx ${o.cluster}, Envoy cluster ${e.cluster ?? '(none)'}`);
        if (e.upstreamPath !== undefined && e.upstreamPath !== fromByteString(o.upstreamUri)) {
          out.push(`upstream path: nginx sends ${fromByteString(o.upstreamUri)}, Envoy sends ${e.upstreamPath}`);
        }
      }
      break;
    case 'redirect':
      if (e.kind !== 'redirect') out.push(`action: nginx redirects (${o.status}), Envoy answers ${e.kind}`);
      else {
        if (e.status !== o.status) out.push(`redirect status: nginx ${o.status}, Envoy ${e.status}`);
        if (!sameLocation(o.location, e.redirectLocation ?? '')) out.push(`redirect target: nginx ${o.location}, Envoy ${e.redirectLocation}`);
      }
      break;
    case 'return':
    case 'static':
      if (e.kind !== 'direct_response') out.push(`action: nginx answers ${o.status} itself, Envoy ${e.kind}${e.cluster ? ' to ' + e.cluster : ''}`);
      else {
        if (e.status !== o.status) out.push(`status: nginx ${o.status}, Envoy ${e.status}`);
        if (o.kind === 'return' && (o.body ?? '') !== (e.body ?? '')) out.push(`body: nginx ${JSON.stringify(o.body ?? '')}, Envoy ${JSON.stringify(e.body ?? '')}`);
      }
      break;
    case 'error':
      if (e.kind === 'route') out.push(`nginx rejects the request (${o.status}: ${o.reason}), Envoy routes it to ${e.cluster}`);
      else if (o.status === 403 && e.kind !== 'rejected' && e.status !== 403) out.push(`nginx forbids the request (${o.reason}), Envoy answers ${e.status ?? e.kind}`);
      break;
  }
  // What the client gets when both answer themselves: error_page and nginx's pages applied (local_reply_config on Envoy's side).
  if (n.reply && e.reply && out.length === 0) {
    if (n.reply.status !== e.reply.status) out.push(`reply status: nginx ${n.reply.status}, Envoy ${e.reply.status}`);
    else if (n.reply.body !== e.reply.body) out.push(`reply body: nginx sends ${JSON.stringify(n.reply.body.slice(0, 60))}, Envoy ${JSON.stringify(e.reply.body.slice(0, 60))}`);
  }
  return out;
}

/** nginx completes relative Location headers with its own scheme://host:port; compare what both say. */
function sameLocation(a: string, b: string): boolean {
  const strip = (s: string) => s.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  if (a === b) return true;
  const absA = /^[a-z][a-z0-9+.-]*:\/\//i.test(a);
  const absB = /^[a-z][a-z0-9+.-]*:\/\//i.test(b);
  return absA && absB ? false : strip(a) === strip(b);
}

// ---------------------------------------------------------------- human output

const at = (s: Src | null | undefined) => (s ? `${s.file}:${s.line}` : '');

export function renderExplain(doc: ExplainDocument, color: boolean): string {
  const p = paint(color);
  const { request: r, nginx: n, envoy: e } = doc;
  const rows: [string, string, string][] = [];
  const mod: Record<string, string> = { exact: '= ', prefix: '', 'prefix-stop': '^~ ', regex: '~ ', 'regex-icase': '~* ', named: '@' };
  rows.push([
    'server',
    n.server ? `${n.server.id}${n.server.name !== null ? ` (${n.server.matchedBy} ${n.server.name || '""'})` : ' (default)'} ${at(n.server.source)}` : '(no server on this port)',
    [e.listener, e.virtualHost].filter(Boolean).join(' / ') || '-',
  ]);
  rows.push([
    'location',
    n.location ? `${mod[n.location.modifier] ?? ''}${n.location.pattern} ${n.location.id} ${at(n.location.source)}` : '(none: server level)',
    e.routeName !== undefined ? `route ${e.routeName}${e.routeIndex !== undefined ? ` (#${e.routeIndex})` : ''}` : '-',
  ]);
  if (n.visited.length > 1) rows.push(['rewritten', `via ${n.visited.map((v) => v.id).join(' → ')}, URI ${n.uri}`, '']);
  rows.push(['action', nginxAction(n), envoyAction(e)]);
  const upstreamN = n.outcome.kind === 'proxy' ? n.outcome.upstreamUri : '';
  const upstreamE = e.kind === 'route' ? (e.upstreamPath ?? '') : '';
  if (upstreamN || upstreamE) rows.push(['upstream path', upstreamN || '-', upstreamE || '-']);
  if (e.kind === 'route' && e.upstreamHost) rows.push(['upstream Host', '', e.upstreamHost]);
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(5, ...rows.map((x) => x[1].length));
  const line = (a: string, b: string, c: string) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`.trimEnd();
  const out = [
    p.bold(`${r.method} ${r.scheme}://${r.host}${r.target}  (port ${r.port}${r.address ? `, local address ${r.address}` : ''}${r.from !== '127.0.0.1' ? `, from ${r.from}` : ''})`),
    '',
    p.bold(line('', 'nginx', 'Envoy')),
    ...rows.map(([a, b, c]) => line(a, b, c)),
    '',
  ];
  for (const u of n.uncertain) out.push(`note (nginx model): ${u}`);
  for (const note of e.notes ?? []) out.push(`note (Envoy): ${note}`);
  if (doc.agree && n.uncertain.length) out.push(p.yellow(`AGREE as far as the nginx model goes: ${agreement(n)} (see the notes: nginx may do otherwise)`));
  else if (doc.agree) out.push(p.green(`AGREE: ${agreement(n)}`));
  else out.push(p.red('DISAGREE:'), ...doc.differences.map((d) => `  - ${d}`));
  return out.join('\n') + '\n';
}

function nginxAction(n: NginxRoute): string {
  const o = n.outcome;
  switch (o.kind) {
    case 'proxy':
      return `proxy_pass → ${o.backend} ${at(o.source)}`;
    case 'redirect':
      return `redirect ${o.status} → ${o.location} ${at(o.source)}`;
    case 'return':
      return `return ${o.status}${o.body !== null ? ` ${JSON.stringify(o.body)}` : ''} ${at(o.source)}`;
    case 'static':
      return `${o.status} (${o.reason})`;
    case 'error':
      return `error ${o.status}: ${o.reason}`;
  }
}

function envoyAction(e: EnvoyDecision): string {
  switch (e.kind) {
    case 'route':
      return `route → cluster ${e.cluster ?? e.weightedClusters?.map((w) => `${w.cluster}:${w.weight}`).join(',') ?? '?'}`;
    case 'redirect':
      return `redirect ${e.status} → ${e.redirectLocation}`;
    case 'direct_response':
      return `direct_response ${e.status}${e.body !== undefined ? ` ${JSON.stringify(e.body)}` : ''}`;
    default:
      return e.kind;
  }
}

function agreement(n: NginxRoute): string {
  const o = n.outcome;
  if (o.kind === 'proxy') return `both send it to ${o.cluster} as ${o.upstreamUri}`;
  if (o.kind === 'redirect') return `both redirect (${o.status}) to ${o.location}`;
  if (o.kind === 'error') return `nginx rejects it (${o.status}) and Envoy does not route it`;
  return `both answer ${o.status}`;
}

/** Where the compiled configuration's relative users files were read at convert time: its main file's directory. */
function mainDir(result: CompileResult): string | undefined {
  const main = result.parsed.files[0]?.file;
  return main === undefined ? undefined : dirname(resolve(main));
}
