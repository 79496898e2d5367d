// Consul names for nginx backends. Consul service names should be DNS labels
// (lowercase letters, digits, dashes; at most 63 characters) or the service is
// unreachable through Consul DNS; nginx upstream names are free-form. The mapping
// is recorded (names.json, meta nginx_upstream) so a reader can go back.
import type { Backend } from '../../ir/types.js';

const DNS_LABEL_MAX = 63;

/** `api_v1` → `api-v1`, `127.0.0.1_9000` → `127-0-0-1-9000`. */
export function dnsLabel(raw: string, fallback: string): string {
  // Memoised: the same hosts recur in every upstream (7,000 servers, a few hundred hosts on the benchmark).
  let label = labels.get(raw);
  if (label === undefined) {
    if (labels.size >= LABEL_CACHE_MAX) labels.clear();
    label = labelOf(raw);
    labels.set(raw, label);
  }
  return label || fallback;
}

const LABEL_CACHE_MAX = 10_000;
const labels = new Map<string, string>();

/** The label, empty when nothing of `raw` is left. */
function labelOf(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, DNS_LABEL_MAX)
    .replace(/-+$/g, '');
}

/** Adds `-2`, `-3`… to a name already taken; the first claimant keeps the plain name. */
export function claimUnique(wanted: string, taken: Set<string>, maxLength = Infinity): string {
  let name = wanted;
  for (let n = 2; taken.has(name); n++) {
    const suffix = `-${n}`;
    name = wanted.slice(0, Math.max(1, maxLength - suffix.length)) + suffix;
  }
  taken.add(name);
  return name;
}

/**
 * Service name per backend (cluster) name. Suffixes are given in code-unit order
 * of the names, so the mapping depends only on the set of names: `convert`,
 * `consul register` and `serve` (which sees cluster names) agree.
 */
export function serviceNamesFor(backendNames: string[]): Map<string, string> {
  const taken = new Set<string>();
  const names = new Map<string, string>();
  const sorted = [...new Set(backendNames)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of sorted) names.set(name, claimUnique(dnsLabel(name, 'upstream'), taken, DNS_LABEL_MAX));
  return names;
}

export function assignServiceNames(backends: Backend[]): Map<string, string> {
  return serviceNamesFor(backends.map((b) => b.name));
}

/** `ngx2envoy-<service>-<host>-<port>`, lowercase, dashes only. */
export function instanceIdBase(service: string, host: string, port: number): string {
  return `ngx2envoy-${service}-${dnsLabel(host, 'host')}-${port}`;
}

/** Catalog node name for a backend host that runs no agent. */
export function externalNodeName(host: string): string {
  return `ngx2envoy-${dnsLabel(host, 'host')}`;
}
