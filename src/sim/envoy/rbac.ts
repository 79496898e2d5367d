// RBAC (network and HTTP filters): a policy matches when one of its permissions and
// one of its principals match; ALLOW lets matched ones through, DENY the others.
// Docs: https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/rbac/v3/rbac.proto
import type { Obj } from './config.js';
import { headerMatch } from './match.js';

/** The addresses principals test: the connection's peer, and Envoy's client address (XFF, PROXY header). */
export interface RbacAddresses {
  direct: string;
  remote: string;
}

/**
 * Whether an RBAC config (`rules`; none: everything passes) lets the connection or request
 * through. `headers`: the request's headers, pseudo-headers (`:method`, `:path`) included;
 * null for a connection (the network filter), where no header permission matches.
 */
export function rbacAllows(cfg: Obj, addrs: RbacAddresses, notes: string[], headers: Record<string, string> | null = null): boolean {
  const rules = cfg.rules;
  if (!rules) return true; // no rules: the filter lets everything through
  const action = String(rules.action ?? 'ALLOW');
  const matched = Object.values((rules.policies ?? {}) as Record<string, Obj>).some(
    (p) => (p.permissions ?? []).some((x: Obj) => permissionMatches(x, headers, notes)) && (p.principals ?? []).some((x: Obj) => principalMatches(x, addrs, notes)),
  );
  if (action === 'LOG') return true;
  return action === 'ALLOW' ? matched : !matched;
}

function permissionMatches(p: Obj, headers: Record<string, string> | null, notes: string[]): boolean {
  if (p.any) return true;
  if (p.and_rules) return (p.and_rules.rules ?? []).every((x: Obj) => permissionMatches(x, headers, notes));
  if (p.or_rules) return (p.or_rules.rules ?? []).some((x: Obj) => permissionMatches(x, headers, notes));
  if (p.not_rule) return !permissionMatches(p.not_rule, headers, notes);
  // header: "a header (or pseudo-header such as :path or :method) on the incoming HTTP request"; only for HTTP.
  if (p.header) {
    if (headers) return headerMatch(p.header, headers);
    notes.push('rbac header permission on a connection (network filter): never matches');
    return false;
  }
  notes.push(`rbac permission ${Object.keys(p).join(',')} is not simulated: taken as not matching`);
  return false;
}

/**
 * direct_remote_ip: "always the physical peer"; remote_ip: the downstream remote address,
 * which "may not be the physical peer" (XFF, PROXY protocol); source_ip (deprecated): the peer.
 */
function principalMatches(p: Obj, addrs: RbacAddresses, notes: string[]): boolean {
  if (p.any) return true;
  if (p.and_ids) return (p.and_ids.ids ?? []).every((x: Obj) => principalMatches(x, addrs, notes));
  if (p.or_ids) return (p.or_ids.ids ?? []).some((x: Obj) => principalMatches(x, addrs, notes));
  if (p.not_id) return !principalMatches(p.not_id, addrs, notes);
  const direct = p.direct_remote_ip ?? p.source_ip;
  if (direct) return inCidr(addrs.direct, String(direct.address_prefix ?? ''), Number(direct.prefix_len ?? -1));
  if (p.remote_ip) return inCidr(addrs.remote, String(p.remote_ip.address_prefix ?? ''), Number(p.remote_ip.prefix_len ?? -1));
  notes.push(`rbac principal ${Object.keys(p).join(',')} is not simulated: taken as not matching`);
  return false;
}

function ipBits(ip: string): string | null {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  if (!ip.includes(':')) return null;
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail !== undefined ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => parseInt(g || '0', 16).toString(2).padStart(16, '0')).join('');
}

/** CidrRange: an address of the other family never matches; prefix_len absent means the whole address. */
function inCidr(ip: string, prefix: string, len: number): boolean {
  const a = ipBits(ip);
  const b = ipBits(prefix);
  if (!a || !b || a.length !== b.length) return false;
  const n = len < 0 ? b.length : Math.min(len, b.length);
  return a.slice(0, n) === b.slice(0, n);
}
