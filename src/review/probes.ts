// Probe requests that exercise a configuration's routing: for every listener
// port, the hosts its servers answer to (and one they do not), times the paths
// its locations are about (each location's own path and its neighbours).
// `diff` runs them through both versions to find requests whose destination changed.
import type { CompiledConfig, Location, ServerName, VirtualServer } from '../ir/types.js';
import { compileNginxRegex } from '../sim/nginx/regex.js';

export interface Probe {
  method: string;
  port: number;
  /** The local address the request arrives on (selects `listen IP:port` over `listen port`). */
  address: string;
  /** Whether the listener terminates TLS (the request then carries SNI = host). */
  tls: boolean;
  host: string;
  path: string;
}

/** Addresses no config listens on explicitly: a request to them reaches the wildcard listener. */
const WILDCARD_PROBE_ADDRESS: Record<string, string> = { '0.0.0.0': '192.0.2.1', '::': '2001:db8::1' };

export function probeAddress(listenerAddress: string): string {
  return WILDCARD_PROBE_ADDRESS[listenerAddress] ?? listenerAddress;
}

/** Hosts no server is named after: they reach the default server. */
export const UNKNOWN_HOST = 'unknown.ngx2envoy.invalid';

interface ListenerProbes {
  port: number;
  address: string;
  tls: boolean;
  hosts: Set<string>;
  paths: Set<string>;
  /** Hosts and paths of the servers in focus (see probesFor). */
  focusHosts: Set<string>;
  focusPaths: Set<string>;
}

/**
 * Probes for one or more configurations (diff passes both versions), deduplicated and ordered:
 * per listener, the hosts its servers answer to times the paths their locations are about.
 * Past `limit` the cross product is cut; the servers `focus` accepts (diff: those that changed)
 * are probed before any other, so a change in a large configuration is never cut off.
 */
export function probesFor(configs: CompiledConfig[], limit = 20000, focus?: (server: VirtualServer) => boolean): Probe[] {
  const byListener = new Map<string, ListenerProbes>();
  for (const ir of configs) {
    const servers = new Map(ir.servers.map((s) => [s.id, s] as const));
    for (const listener of ir.listeners) {
      const key = `${listener.address} ${listener.port}`;
      let entry = byListener.get(key);
      if (!entry) {
        entry = {
          port: listener.port,
          address: probeAddress(listener.address),
          tls: listener.ssl,
          hosts: new Set([UNKNOWN_HOST]),
          paths: new Set(['/']),
          focusHosts: new Set(),
          focusPaths: new Set(),
        };
        byListener.set(key, entry);
      }
      for (const id of listener.serverIds) {
        const server = servers.get(id);
        if (!server) continue;
        const focused = focus?.(server) === true;
        for (const n of server.names) {
          for (const h of hostsForName(n)) {
            entry.hosts.add(h);
            if (focused) entry.focusHosts.add(h);
          }
        }
        walk(server.locations, (l) =>
          pathsForLocation(l).forEach((p) => {
            entry!.paths.add(p);
            if (focused) entry!.focusPaths.add(p);
          }),
        );
      }
    }
  }
  const listeners = [...byListener.values()].sort((a, b) => a.port - b.port || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const out: Probe[] = [];
  const taken = new Set<string>();
  const take = (l: ListenerProbes, hosts: Set<string>, paths: Set<string>): boolean => {
    for (const host of [...hosts].sort(byHostRank)) {
      for (const path of [...paths].sort()) {
        const key = `${l.port} ${l.address} ${host} ${path}`;
        if (taken.has(key)) continue;
        if (out.length >= limit) return false;
        taken.add(key);
        out.push({ method: 'GET', port: l.port, address: l.address, tls: l.tls, host, path });
      }
    }
    return true;
  };
  // The servers in focus first: their own hosts (and the unknown one, which may now reach
  // them as default) times their own paths; then everything, until the limit.
  for (const l of listeners) {
    if (l.focusHosts.size === 0 && l.focusPaths.size === 0) continue;
    if (!take(l, new Set([...l.focusHosts, UNKNOWN_HOST]), new Set([...l.focusPaths, '/']))) break;
  }
  for (const l of listeners) if (!take(l, l.hosts, l.paths)) break;
  const order = new Map(listeners.map((l, i) => [`${l.port} ${l.address}`, i] as const));
  // Listener order, then declared names before case variants before the unknown host, then path.
  return out.sort(
    (a, b) =>
      order.get(`${a.port} ${a.address}`)! - order.get(`${b.port} ${b.address}`)! ||
      byHostRank(a.host, b.host) ||
      (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
}

const hostRank = (h: string) => (h === UNKNOWN_HOST ? 2 : h !== h.toLowerCase() ? 1 : 0);
const byHostRank = (a: string, b: string) => hostRank(a) - hostRank(b) || (a < b ? -1 : a > b ? 1 : 0);

function walk(locs: Location[], visit: (l: Location) => void): void {
  for (const l of locs) {
    visit(l);
    walk(l.children, visit);
  }
}

export function hostsForName(n: ServerName): string[] {
  switch (n.kind) {
    case 'exact':
      return n.value ? [n.value, n.value.toUpperCase()] : [];
    case 'wildcard-prefix': {
      const suffix = n.value.startsWith('*') ? n.value.slice(1) : n.value.startsWith('.') ? n.value : '.' + n.value;
      return ['www' + suffix, 'a.b' + suffix];
    }
    case 'wildcard-suffix': {
      const prefix = n.value.endsWith('*') ? n.value.slice(0, -1) : n.value;
      return [prefix + 'com', prefix + 'org'];
    }
    case 'regex': {
      const sample = sampleForRegex(n.value.replace(/^~/, ''), false, '');
      return sample ? [sample] : [];
    }
    case 'empty':
      return [];
  }
}

/** The location's own path and its neighbours: one byte shorter/longer, case, slash, query. */
export function pathsForLocation(l: Location): string[] {
  if (l.modifier === 'named') return [];
  if (l.modifier === 'regex' || l.modifier === 'regex-icase') {
    const s = sampleForRegex(l.pattern, l.modifier === 'regex-icase', '/');
    return s ? [s, s.toUpperCase(), s + '?q=1'] : [];
  }
  const p = l.pattern;
  if (!p.startsWith('/')) return [];
  const out = [p, p + '?q=1', p.toUpperCase()];
  if (l.modifier === 'exact') out.push(p + '/', p + 'x');
  else out.push(p.endsWith('/') ? p + 'x' : p + '/x', p + 'x', p.replace(/^\//, '//'));
  if (p.length > 1) out.push(p.slice(0, -1));
  return out;
}

/**
 * A string the regex matches, built by taking each construct once (first
 * alternative, first class member, one repetition). Verified before use; null
 * when the simple construction does not match.
 */
export function sampleForRegex(pattern: string, caseless: boolean, lead: string): string | null {
  let built: string;
  try {
    built = sampleSeq(pattern, { i: 0 });
  } catch {
    return null;
  }
  const compiled = compileNginxRegex(pattern, caseless);
  if (!compiled.re) return null;
  const candidates = lead ? [built, lead + built, lead + 'x/' + built] : [built];
  for (const c of candidates) {
    if (lead && !c.startsWith(lead)) continue;
    if (/[\s?#]/.test(c)) continue;
    compiled.re.lastIndex = 0;
    if (compiled.re.test(c)) return c;
  }
  return null;
}

interface Cursor {
  i: number;
}

function sampleSeq(p: string, c: Cursor): string {
  let out = '';
  while (c.i < p.length && p[c.i] !== ')' && p[c.i] !== '|') {
    const atom = sampleAtom(p, c);
    out += repeatFor(p, c, atom);
  }
  return out;
}

function repeatFor(p: string, c: Cursor, atom: string): string {
  const q = p[c.i];
  if (q === '?' || q === '*' || q === '+') {
    c.i++;
    if (p[c.i] === '?' || p[c.i] === '+') c.i++;
    return atom;
  }
  if (q === '{') {
    const m = /^\{(\d+)(,\d*)?\}/.exec(p.slice(c.i));
    if (m) {
      c.i += m[0].length;
      return atom.repeat(Math.max(1, Number(m[1])));
    }
  }
  return atom;
}

function sampleAtom(p: string, c: Cursor): string {
  const ch = p[c.i]!;
  if (ch === '^' || ch === '$') {
    c.i++;
    return '';
  }
  if (ch === '.') {
    c.i++;
    return 'x';
  }
  if (ch === '\\') {
    const e = p[c.i + 1] ?? '';
    c.i += 2;
    const classes: Record<string, string> = { d: '1', w: 'a', s: '-', D: 'a', W: '-', S: 'a', b: '', B: '', A: '', z: '', Z: '' };
    return e in classes ? classes[e]! : e;
  }
  if (ch === '[') return sampleClass(p, c);
  if (ch === '(') {
    c.i++;
    if (p[c.i] === '?') {
      const m = /^\?(?::|P?<[A-Za-z_][A-Za-z0-9_]*>|[a-z]+\))/.exec(p.slice(c.i));
      if (!m) throw new Error('unsupported group');
      c.i += m[0].length;
      if (m[0].endsWith(')')) return ''; // inline options
    }
    const first = sampleSeq(p, c);
    let depth = 0;
    // Skip the other alternatives.
    while (c.i < p.length) {
      const x = p[c.i]!;
      if (x === '\\') c.i += 2;
      else if (x === '(') (depth++, c.i++);
      else if (x === ')') {
        if (depth === 0) break;
        depth--;
        c.i++;
      } else c.i++;
    }
    c.i++; // ')'
    return first;
  }
  c.i++;
  return ch;
}

function sampleClass(p: string, c: Cursor): string {
  c.i++;
  const negated = p[c.i] === '^';
  if (negated) c.i++;
  let first: string | null = null;
  const members: string[] = [];
  while (c.i < p.length && (p[c.i] !== ']' || members.length === 0)) {
    let ch = p[c.i]!;
    if (ch === '\\') {
      ch = p[c.i + 1] === 'd' ? '1' : p[c.i + 1] === 'w' ? 'a' : (p[c.i + 1] ?? '');
      c.i += 2;
    } else c.i++;
    members.push(ch);
    if (first === null) first = ch;
  }
  c.i++;
  if (negated) return members.includes('x') ? (members.includes('q') ? '~' : 'q') : 'x';
  return first ?? 'x';
}
