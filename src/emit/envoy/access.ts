// allow/deny rules (nginx's access modules) as one RBAC principal: the clients
// whose first matching rule is an allow, and those no rule matches. Used by the
// stream servers' RBAC network filter and the http routes' RBAC per-route config.
import type { AccessRules, StreamAccessRule } from '../../ir/types.js';
import type { Json } from './context.js';

/** Which address a principal tests: the connection's peer, or Envoy's client address (PROXY header, XFF). */
export type AccessAddress = 'direct_remote_ip' | 'remote_ip';

/** The principal letting in exactly the clients nginx lets in. */
export function accessPrincipal(rules: AccessRules, address: AccessAddress): Json {
  const families = [familyPrincipal(rules.v4, '0.0.0.0/0', address), familyPrincipal(rules.v6, '::/0', address)].filter((p) => p !== null);
  return families.length === 0 ? { not_id: { any: true } } : families.length === 1 ? families[0] : { or_ids: { ids: families } };
}

function cidrRange(cidr: string, address: AccessAddress): Json {
  const [prefix, len] = cidr.split('/');
  return { [address]: { address_prefix: prefix, prefix_len: Number(len) } };
}

/**
 * The clients of one family nginx lets in: those whose first matching rule is
 * an allow (allow_i and no earlier deny), and those no rule matches.
 */
function familyPrincipal(list: StreamAccessRule[], all: string, address: AccessAddress): Json | null {
  // Rules after one matching every address (`all`) are never reached, and then no client is left unmatched.
  const full = list.findIndex((r) => r.cidr.endsWith('/0'));
  const rules = full < 0 ? list : list.slice(0, full + 1);
  const ids: Json[] = [];
  rules.forEach((rule, i) => {
    if (rule.action !== 'allow') return;
    const earlierDenies = rules.slice(0, i).filter((r) => r.action === 'deny').map((r) => cidrRange(r.cidr, address));
    ids.push(earlierDenies.length ? { and_ids: { ids: [cidrRange(rule.cidr, address), { not_id: { or_ids: { ids: earlierDenies } } }] } } : cidrRange(rule.cidr, address));
  });
  const anyRule = rules.map((r) => cidrRange(r.cidr, address));
  if (full < 0) ids.push(anyRule.length ? { and_ids: { ids: [cidrRange(all, address), { not_id: { or_ids: { ids: anyRule } } }] } } : cidrRange(all, address));
  if (ids.length === 0) return null; // only denies: no client of this family gets in
  return ids.length === 1 ? ids[0] : { or_ids: { ids } };
}
