// Probe requests that exercise a configuration's routing: for every listener
// port, the hosts its servers answer to (and one they do not), times the paths
// its locations are about (each location's own path and its neighbours).
// `diff` runs them through both versions to find requests whose destination changed.
import type { CompiledConfig, Location, ServerName } from '../ir/types.js';
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

/** Probes for one or more configurations (diff passes both versions), deduplicated and ordered. */
export function probesFor(configs: CompiledConfig[], limit = 20000): Probe[] {
  const byListener = new Map<string, { port: number; address: string; tls: boolean; hosts: Set<string>; paths: Set<string> }>();
  for (const ir of configs) {
    for (const listener of ir.listeners) {
      const key = `${listener.address} ${listener.port}`;
      const entry = byListener.get(key) ?? {
        port: listener.port,
        address: probeAddress(listener.address),
        tls: listener.ssl,
        hosts: new Set([UNKNOWN_HOST]),
        paths: new Set(['/']),
      };
      byListener.set(key, entry);
      for (const id of listener.serverIds) {
        const server = ir.servers.find((s) => s.id === id);
        if (!server) continue;
        for (const n of server.names) for (const h of hostsForName(n)) entry.hosts.add(h);
        walk(server.locations, (l) => pathsForLocation(l).forEach((p) => entry.paths.add(p)));
      }
    }
  }
  const out: Probe[] = [];
  const listeners = [...byListener.values()].sort((a, b) => a.port - b.port || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  for (const { port, address, tls, hosts, paths } of listeners) {
    // Declared names first, their case variants next, the unknown host last.
    const rank = (h: string) => (h === UNKNOWN_HOST ? 2 : h !== h.toLowerCase() ? 1 : 0);
    for (const host of [...hosts].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))) {
      for (const path of [...paths].sort()) {
        if (out.length >= limit) return out;
        out.push({ method: 'GET', port, address, tls, host, path });
      }
    }
  }
  return out;
}

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
