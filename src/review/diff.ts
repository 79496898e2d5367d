// `ngx2envoy diff OLD NEW`: what changes, route by route, when OLD.conf becomes
// NEW.conf — through the compiler, so the answer is about the Envoy
// configuration that would be deployed — plus concrete requests whose
// destination changes, found by running probe requests through the Envoy
// route evaluator on both versions.
import type { CompileResult } from '../compile.js';
import type { CompiledConfig, VirtualServer } from '../ir/types.js';
import { evaluator, type EnvoyDecision, type EnvoyRequest } from '../sim/envoy/index.js';
import { destinationOf, sameDestination, type Destination } from './destination.js';
import { envoyView } from './envoy-view.js';
import { probesFor } from './probes.js';
import { compareViews, isEmpty, type NamedChange, type ReviewChanges, type RouteChange } from './semantic.js';
import { paint, type Painter } from './style.js';

/**
 * The `diff --json` document (schema "ngx2envoy.diff/v1"). Stable: fields are
 * only ever added. Arrays are sorted (requests by port, host, path).
 */
export interface DiffDocument extends ReviewChanges {
  schema: 'ngx2envoy.diff/v1';
  old: string;
  new: string;
  /** True when nothing below lists a change. */
  equivalent: boolean;
  /** How many probe requests were compared. */
  probes: number;
  requests: RequestChange[];
}

export interface RequestChange {
  method: string;
  port: number;
  /** Local address the probe arrives on (a TEST-NET address stands for "any" on wildcard listeners). */
  address: string;
  tls: boolean;
  host: string;
  path: string;
  before: Destination;
  after: Destination;
}

export function diffCompiled(oldFile: string, newFile: string, before: CompileResult, after: CompileResult): DiffDocument {
  const changes = compareViews(envoyView(before.bootstrap), envoyView(after.bootstrap));
  const probes = probesFor([before.ir!, after.ir!], undefined, changedServers(before.ir!, after.ir!));
  const evalOld = loadEvaluator(before.bootstrap);
  const evalNew = loadEvaluator(after.bootstrap);
  const requests: RequestChange[] = [];
  for (const p of probes) {
    const req: EnvoyRequest = { port: p.port, address: p.address, host: p.host, path: p.path, method: p.method, ...(p.tls ? { sni: p.host } : {}) };
    const a = destinationOf(evalOld(req), p.path);
    const b = destinationOf(evalNew(req), p.path);
    if (!sameDestination(a, b)) requests.push({ ...p, before: a, after: b });
  }
  return {
    schema: 'ngx2envoy.diff/v1',
    old: oldFile,
    new: newFile,
    equivalent: isEmpty(changes) && requests.length === 0,
    ...changes,
    probes: probes.length,
    requests,
  };
}

/**
 * Servers whose routing content is not found in the other version (added, removed or edited),
 * for the probes to cover first. Content without source positions and ids, which follow lines
 * and file order.
 */
function changedServers(before: CompiledConfig, after: CompiledConfig): (server: VirtualServer) => boolean {
  const isPosition = (v: unknown) => typeof v === 'object' && v !== null && 'file' in v && 'line' in v;
  const content = (server: VirtualServer) => JSON.stringify(server, (key, value: unknown) => (key === 'id' || key === 'parentId' || isPosition(value) ? undefined : value));
  const keys = new Map<VirtualServer, string>();
  for (const s of [...before.servers, ...after.servers]) keys.set(s, content(s));
  const oldKeys = new Set(before.servers.map((s) => keys.get(s)!));
  const newKeys = new Set(after.servers.map((s) => keys.get(s)!));
  return (server) => {
    const key = keys.get(server);
    return key !== undefined && !(oldKeys.has(key) && newKeys.has(key));
  };
}

type Decide = (r: EnvoyRequest) => EnvoyDecision;

/** An evaluator that answers `rejected` (with Envoy's reason) instead of throwing. */
function loadEvaluator(bootstrap: unknown): Decide {
  let decide: Decide;
  try {
    decide = evaluator(bootstrap as object);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return () => ({ kind: 'rejected', notes: [`Envoy would refuse this configuration: ${reason}`] });
  }
  return (req) => {
    try {
      return decide(req);
    } catch (err) {
      return { kind: 'rejected', notes: [err instanceof Error ? err.message : String(err)] };
    }
  };
}

// ---------------------------------------------------------------- human output

export function renderDiff(doc: DiffDocument, color: boolean): string {
  const p = paint(color);
  const lines: string[] = [p.bold(`ngx2envoy diff ${doc.old} → ${doc.new}`)];
  if (doc.equivalent) {
    lines.push(`no routing change (${doc.probes} probe requests route the same)`);
    return lines.join('\n') + '\n';
  }
  lines.push(...renderChanges(doc, p));
  if (doc.requests.length) {
    lines.push('', p.bold(`Requests whose destination changes (${doc.requests.length} of ${doc.probes} probes):`));
    const groups = groupByHost(doc.requests);
    for (const g of groups.slice(0, 100)) {
      const others = g.hosts.length > 1 ? ` (also Host ${g.hosts.slice(1, 4).join(', ')}${g.hosts.length > 4 ? `, +${g.hosts.length - 4}` : ''})` : '';
      lines.push(`  ${requestLine(g.first, p)}${others}`);
    }
    if (groups.length > 100) lines.push(`  … and ${groups.length - 100} more (see --json)`);
  } else {
    lines.push('', `No probe request changes destination (${doc.probes} probes).`);
  }
  return lines.join('\n') + '\n';
}

export function requestLine(r: RequestChange, p: Painter): string {
  const port = r.port === (r.tls ? 443 : 80) ? '' : `:${r.port}`;
  const scheme = r.tls ? 'https://' : '';
  // Requests to a specific listen address say so; TEST-NET addresses stand for "any".
  const at = r.address === '192.0.2.1' || r.address === '2001:db8::1' ? '' : ` (to ${r.address})`;
  return `${r.method} ${scheme}${r.host}${port}${r.path}${at}: ${p.red(r.before.summary)} → ${p.green(r.after.summary)}`;
}

/** The route-level summary shared by `diff` and `check`. */
export function renderChanges(c: ReviewChanges, p: Painter): string[] {
  const out: string[] = [];
  const section = (title: string, items: string[]) => {
    if (items.length) out.push('', p.bold(title), ...items.map((i) => `  ${i}`));
  };
  section('Listeners:', c.listeners.map((x) => named(x, p)));
  section('Virtual hosts:', c.virtualHosts.map((x) => named(x, p)));
  section('Routes:', c.routes.map((x) => route(x, p)));
  section('Route order changed (first match differs for overlapping routes):', c.reordered);
  section('Clusters:', c.clusters.map((x) => named(x, p)));
  return out;
}

function sign(change: string, p: Painter): string {
  return change === 'added' ? p.green('+') : change === 'removed' ? p.red('-') : p.yellow('~');
}

function named(x: NamedChange, p: Painter): string {
  const detail =
    x.change === 'added'
      ? (x.after ?? []).join(', ')
      : x.change === 'removed'
        ? (x.before ?? []).join(', ')
        : `${(x.before ?? []).join(', ')} → ${(x.after ?? []).join(', ')}`;
  return `${sign(x.change, p)} ${x.name} ${x.change}${detail ? `: ${detail}` : ''}`;
}

function route(x: RouteChange, p: Painter): string {
  const name = x.route ? ` (${x.route})` : '';
  const where = `[${x.virtualHost}] ${x.match}${name}`;
  if (x.change === 'added') return `${sign('added', p)} ${where} added → ${p.green(x.after ?? '')}`;
  if (x.change === 'removed') return `${sign('removed', p)} ${where} removed (was → ${p.red(x.before ?? '')})`;
  return `${sign('changed', p)} ${where} changed: ${p.red(x.before ?? '')} → ${p.green(x.after ?? '')}`;
}

/** Requests that differ only in Host (same port, path and change) shown once, with the other hosts. */
function groupByHost(requests: RequestChange[]): { first: RequestChange; hosts: string[] }[] {
  const groups = new Map<string, { first: RequestChange; hosts: string[] }>();
  for (const r of requests) {
    const key = `${r.method} ${r.port} ${r.address} ${r.tls} ${r.path} ${r.before.summary} ${r.after.summary}`;
    const g = groups.get(key);
    if (g) g.hosts.push(r.host);
    else groups.set(key, { first: r, hosts: [r.host] });
  }
  return [...groups.values()];
}
