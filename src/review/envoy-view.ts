// A reviewer's view of an Envoy configuration: listeners, virtual hosts with
// their ordered routes (match → action), and clusters with their endpoints, in
// plain data. `diff` and `check` compare these; `canonical.ts` decides which
// differences are not changes at all.
import { loadConfig, type EnvoyConfigInput, type Obj } from '../sim/envoy/config.js';
import { canonicalRoute, canonicalRoutes, stableStringify } from './canonical.js';

export interface RouteView {
  /** Identity across versions: the match (names are location ids, which move when locations move). */
  key: string;
  name: string | null;
  match: string;
  action: string;
  /** The route without name and metadata, stably serialised: equal bodies route equally. */
  body: string;
}

export interface VirtualHostView {
  /** Identity across versions: listener (and filter chain) plus the sorted domains. */
  key: string;
  listener: string;
  name: string;
  domains: string[];
  /** In Envoy's evaluation order after canonical ordering (see canonical.ts). */
  routes: RouteView[];
}

export interface ListenerView {
  name: string;
  address: string;
  port: number;
  body: string;
}

export interface ClusterView {
  name: string;
  endpoints: string[];
  body: string;
}

export interface EnvoyView {
  listeners: ListenerView[];
  virtualHosts: VirtualHostView[];
  clusters: ClusterView[];
}

const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

export function envoyView(input: EnvoyConfigInput): EnvoyView {
  const cfg = loadConfig(input);
  const listeners: ListenerView[] = [];
  const virtualHosts: VirtualHostView[] = [];
  for (const l of cfg.listeners) {
    const name = String(l.name ?? '');
    const sock = l.address?.socket_address ?? {};
    listeners.push({
      name,
      address: String(sock.address ?? ''),
      port: Number(sock.port_value ?? 0),
      body: stableStringify(stripRouteConfigs(l)),
    });
    (l.filter_chains ?? []).forEach((chain: Obj, ci: number) => {
      const chainKey = (l.filter_chains ?? []).length > 1 ? `#${chainLabel(chain, ci)}` : '';
      for (const f of chain.filters ?? []) {
        const hcm = f.typed_config;
        if (!hcm || !String(hcm['@type'] ?? '').endsWith(HCM_TYPE)) continue;
        const rc = hcm.route_config ?? (hcm.rds ? cfg.routeConfigs.get(String(hcm.rds.route_config_name)) : undefined);
        for (const vh of rc?.virtual_hosts ?? []) virtualHosts.push(vhostView(name + chainKey, vh));
      }
    });
  }
  const clusters = [...cfg.clusters.values()].map((c) => clusterView(c, cfg.endpoints.get(String(c.name))));
  listeners.sort((a, b) => cmp(a.name, b.name));
  virtualHosts.sort((a, b) => cmp(a.key, b.key));
  clusters.sort((a, b) => cmp(a.name, b.name));
  return { listeners, virtualHosts, clusters };
}

function chainLabel(chain: Obj, index: number): string {
  const names = chain.filter_chain_match?.server_names as string[] | undefined;
  return names?.length ? names.join(',') : chain.name ? String(chain.name) : `chain${index}`;
}

/** Listener bodies without their route tables: routes are compared route by route. */
function stripRouteConfigs(l: Obj): Obj {
  const copy = structuredClone(l) as Obj;
  for (const chain of copy.filter_chains ?? []) {
    for (const f of chain.filters ?? []) if (f.typed_config?.route_config) f.typed_config.route_config = '(compared per route)';
  }
  return copy;
}

function vhostView(listener: string, vh: Obj): VirtualHostView {
  const domains = [...((vh.domains ?? []) as string[])].sort();
  const routes = canonicalRoutes((vh.routes ?? []) as Obj[]).map(routeView);
  return { key: `${listener} ${domains.join(',')}`, listener, name: String(vh.name ?? ''), domains, routes };
}

function routeView(r: Obj): RouteView {
  const match = describeMatch(r.match ?? {});
  return { key: match, name: r.name ? String(r.name) : null, match, action: describeAction(r), body: stableStringify(canonicalRoute(r)) };
}

/** `prefix /api/`, `= /x`, `~ .*\.php.*`, plus header guards, as one readable line. */
export function describeMatch(m: Obj): string {
  let s: string;
  if (m.path !== undefined) s = `= ${m.path}`;
  else if (m.prefix !== undefined) s = `prefix ${m.prefix}`;
  else if (m.path_separated_prefix !== undefined) s = `segment-prefix ${m.path_separated_prefix}`;
  else if (m.safe_regex) s = `~ ${m.safe_regex.regex}`;
  else s = JSON.stringify(m);
  if (m.case_sensitive === false || m.case_sensitive?.value === false) s += ' (case-insensitive)';
  for (const h of m.headers ?? []) s += ` [${h.name} ${describeStringMatch(h)}]`;
  for (const q of m.query_parameters ?? []) s += ` [?${q.name}${q.present_match ? '' : ' ' + describeStringMatch(q)}]`;
  return s;
}

function describeStringMatch(h: Obj): string {
  const sm = h.string_match ?? h;
  const neg = h.invert_match ? 'not ' : '';
  if (sm.exact !== undefined) return `${neg}= ${sm.exact}`;
  if (sm.prefix !== undefined) return `${neg}^= ${sm.prefix}`;
  if (sm.suffix !== undefined) return `${neg}$= ${sm.suffix}`;
  if (sm.contains !== undefined) return `${neg}*= ${sm.contains}`;
  if (sm.safe_regex) return `${neg}~ ${sm.safe_regex.regex}`;
  if (h.present_match) return `${neg}present`;
  return neg + stableStringify(sm);
}

/** `cluster api_v1 (prefix_rewrite /v2/)`, `redirect 301 https://…`, `direct_response 404`. */
export function describeAction(r: Obj): string {
  if (r.route) {
    const a = r.route;
    let s = a.cluster !== undefined ? `cluster ${a.cluster}` : a.weighted_clusters ? `clusters ${(a.weighted_clusters.clusters ?? []).map((c: Obj) => `${c.name}:${c.weight?.value ?? c.weight}`).join(',')}` : a.cluster_header ? `cluster from header ${a.cluster_header}` : 'route';
    const extra: string[] = [];
    if (a.prefix_rewrite !== undefined) extra.push(`prefix_rewrite ${a.prefix_rewrite}`);
    if (a.regex_rewrite) extra.push(`regex_rewrite ${a.regex_rewrite.pattern?.regex} → ${a.regex_rewrite.substitution}`);
    if (a.host_rewrite_literal !== undefined) extra.push(`host ${a.host_rewrite_literal}`);
    if (extra.length) s += ` (${extra.join(', ')})`;
    return s;
  }
  if (r.redirect) {
    const d = r.redirect;
    const code: Record<string, number> = { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 };
    const status = code[String(d.response_code ?? 'MOVED_PERMANENTLY')] ?? d.response_code ?? 301;
    const parts = Object.entries(d)
      .filter(([k]) => k !== 'response_code')
      .map(([k, v]) => `${k}=${typeof v === 'object' ? stableStringify(v) : String(v)}`);
    return `redirect ${status} ${parts.join(' ')}`.trim();
  }
  if (r.direct_response) {
    const d = r.direct_response;
    const body = d.body?.inline_string ?? d.body?.inline_bytes;
    return `direct_response ${d.status}${body !== undefined ? ` ${JSON.stringify(body)}` : ''}`;
  }
  return 'no action';
}

function clusterView(c: Obj, cla: Obj | undefined): ClusterView {
  const assignment = c.load_assignment ?? cla ?? {};
  const endpoints: string[] = [];
  for (const group of assignment.endpoints ?? []) {
    for (const lb of group.lb_endpoints ?? []) {
      const sa = lb.endpoint?.address?.socket_address;
      const pipe = lb.endpoint?.address?.pipe;
      const where = sa ? `${sa.address}:${sa.port_value}` : pipe ? `unix:${pipe.path}` : stableStringify(lb.endpoint ?? {});
      const weight = lb.load_balancing_weight?.value ?? lb.load_balancing_weight;
      const prio = group.priority ? ` priority ${group.priority}` : '';
      endpoints.push(`${where}${weight !== undefined && Number(weight) !== 1 ? ` weight ${weight}` : ''}${prio}${lb.health_status && lb.health_status !== 'UNKNOWN' ? ' ' + lb.health_status : ''}`);
    }
  }
  const body = structuredClone(c) as Obj;
  if (!c.load_assignment && cla) body.load_assignment = cla;
  return { name: String(c.name ?? ''), endpoints, body: stableStringify(body) };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
