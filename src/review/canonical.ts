// The canonical form of compiled output, for `check` and `diff`: two outputs are
// the same change-wise when their canonical forms are equal. Canonicalisation
// removes only what cannot change where a request goes:
//   - YAML comments and formatting (they carry nginx file:line, which moves
//     whenever lines move);
//   - route and virtual-host names and route metadata (location ids follow file
//     order: reordering locations renames them);
//   - the relative order of adjacent routes no request can match together
//     (exact paths; prefixes of equal length), and of virtual hosts, listeners
//     and clusters, which Envoy selects by domain/address/name, not position.
// Everything else, including the order of routes that can overlap, is kept.
import type { Obj } from '../sim/envoy/config.js';

/** JSON with object keys sorted at every level: equal values, equal text. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Obj = {};
  for (const k of Object.keys(value as Obj).sort()) out[k] = sortKeys((value as Obj)[k]);
  return out;
}

/** A route as it routes: no name, metadata or tracing decorator. */
export function canonicalRoute(r: Obj): Obj {
  const { name: _name, metadata: _metadata, decorator: _decorator, ...rest } = r;
  return rest;
}

/**
 * Routes in a canonical order: runs of adjacent routes that are pairwise
 * exclusive (no request matches two of them) are sorted, other routes keep
 * their place, so first-match semantics are unchanged.
 */
export function canonicalRoutes(routes: Obj[]): Obj[] {
  const out: Obj[] = [];
  let run: Obj[] = [];
  const flush = () => {
    run.sort((a, b) => cmp(stableStringify(canonicalRoute(a).match), stableStringify(canonicalRoute(b).match)));
    out.push(...run);
    run = [];
  };
  for (const r of routes) {
    if (!run.every((x) => exclusive(x.match ?? {}, r.match ?? {}))) flush();
    run.push(r);
  }
  flush();
  return out;
}

/** Whether no request path can match both (path/prefix matches without other conditions). */
export function exclusive(a: Obj, b: Obj): boolean {
  const plain = (m: Obj) =>
    Object.keys(m).every((k) => k === 'path' || k === 'prefix' || k === 'case_sensitive') &&
    (m.path !== undefined || m.prefix !== undefined) &&
    m.case_sensitive !== false &&
    m.case_sensitive?.value !== false;
  if (!plain(a) || !plain(b)) return false;
  if (a.path !== undefined && b.path !== undefined) return a.path !== b.path;
  if (a.prefix !== undefined && b.prefix !== undefined) {
    return a.prefix.length === b.prefix.length && a.prefix !== b.prefix;
  }
  const path: string = a.path ?? b.path;
  const prefix: string = a.prefix ?? b.prefix;
  return !path.startsWith(prefix);
}

const NAMED_COLLECTIONS = new Set(['listeners', 'clusters', 'secrets', 'resources']);

/**
 * The canonical form of a whole document (a Bootstrap, an xDS response, a JSON
 * file): virtual hosts and routes as above, named collections sorted by name.
 */
export function canonicalDocument(doc: unknown): unknown {
  return walk(doc, '');
}

function walk(value: unknown, key: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => walk(v, ''));
    if (key === 'virtual_hosts' || key === 'virtualHosts') {
      return items.map((vh) => withoutName(vh as Obj)).sort((a, b) => cmp(stableStringify(a), stableStringify(b)));
    }
    if (key === 'routes' && items.every((r) => r && typeof r === 'object' && 'match' in (r as Obj))) {
      return canonicalRoutes(items as Obj[]).map(canonicalRoute);
    }
    if (NAMED_COLLECTIONS.has(key) && items.every((i) => i && typeof i === 'object' && typeof nameOf(i as Obj) === 'string')) {
      return [...items].sort((a, b) => cmp(nameOf(a as Obj)!, nameOf(b as Obj)!));
    }
    return items;
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value as Obj)) out[k] = walk(v, k);
  return out;
}

function withoutName(vh: Obj): Obj {
  const { name: _name, ...rest } = vh;
  return rest;
}

function nameOf(o: Obj): string | undefined {
  if (typeof o.name === 'string') return o.name;
  if (o.resource && typeof o.resource.name === 'string') return o.resource.name;
  if (typeof o.cluster_name === 'string') return o.cluster_name;
  return undefined;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
