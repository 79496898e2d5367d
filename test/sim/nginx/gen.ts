// Seeded generator for the nginx-model differential test: each spec becomes both
// an nginx.conf fragment (real nginx is the oracle) and the IR the model reads.
// Every location answers with its own marker, so the response says which
// location nginx chose; proxied ones reach an echo backend that reports the
// upstream URI.
import type {
  Action,
  CompiledConfig,
  Listener,
  Location,
  LocationModifier,
  Policy,
  RewriteStep,
  ServerName,
  Src,
  Template,
  TemplatePart,
  VirtualServer,
} from '../../../src/ir/types.js';

export { prng, type Rand } from '../../support/prng.js';
import type { Rand } from '../../support/prng.js';
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rand, p: number) => r() < p;

type Mod = '=' | '' | '^~' | '~' | '~*';
export interface LocSpec {
  mod: Mod;
  pattern: string;
  children: LocSpec[];
  proxyUri: string | null | undefined; // undefined = `return 200 marker`; null = proxy_pass without URI
  rewrites: { regex: string; replacement: string; flag: 'last' | 'break' | null }[];
  /** Answer with `return 302 /moved$uri?…` instead of a marker body. */
  redirect?: boolean;
}
export interface ServerSpec {
  names: string[];
  isDefault: boolean;
  rewrites: { regex: string; replacement: string; flag: 'last' | 'break' | null }[];
  locations: LocSpec[];
}
export interface Scenario {
  port: number;
  servers: ServerSpec[];
}

const PREFIXES = ['/', '/api', '/api/', '/api/v1/', '/static/', '/app/', '/a', '/ab', '/abc/', '/img/', '/files'];
const EXACTS = ['/', '/api', '/api/', '/exact', '/a', '/static/'];
const REGEXES: { mod: Mod; pattern: string }[] = [
  { mod: '~', pattern: '\\.php$' },
  { mod: '~*', pattern: '\\.(png|jpe?g)$' },
  { mod: '~', pattern: '^/api/v[0-9]+/' },
  { mod: '~', pattern: 'admin' },
  { mod: '~*', pattern: '^/STATIC/.*\\.js$' },
  { mod: '~', pattern: '/a/b' },
  { mod: '~', pattern: '(?<word>[a-z]+)\\.txt$' },
  { mod: '~', pattern: '^/files/(\\d+)$' },
];
const NAMES = [
  'a.test',
  'www.a.test',
  '*.a.test',
  '.b.test',
  'www.c.*',
  'c.test',
  '~^api[0-9]+\\.d\\.test$',
  '~^(?<sub>[a-z]+)\\.e\\.test$',
  '_',
  '""',
];
export const HOSTS = [
  'a.test', 'A.TEST', 'a.test.', 'a.test:8080', 'www.a.test', 'x.a.test', 'deep.x.a.test', 'b.test', 'sub.b.test',
  'www.c.org', 'www.c.test', 'c.test', 'api7.d.test', 'API7.D.TEST', 'foo.e.test', 'unknown.test', '_', 'a..test',
];
export const PATHS = [
  '/', '/api', '/api/', '/api/x', '/apix', '/api/v1', '/api/v1/', '/api/v1/users', '/api/v2/users', '/api/v1/../v2/x',
  '/api/./v1/x', '//api//v1//x', '/API/x', '/static', '/static/', '/static/app.js', '/STATIC/app.JS', '/static/x.php',
  '/app', '/app/', '/app/admin/', '/app/admin/panel', '/app/x.php', '/a', '/a/', '/a/b', '/a/b/c', '/ab', '/abc',
  '/abc/', '/abc/d', '/img/a.png', '/img/A.PNG', '/img/b.jpeg', '/img/c.jpgx', '/index.php', '/index.PHP', '/x.phps',
  '/files', '/files/12', '/files/12/x', '/notes/readme.txt', '/exact', '/exact/', '/exac', '/%61pi/x', '/api%2Fx',
  '/api/%2e%2e/a', '/api/x?y=1', '/a?x=1&y=2', '/app/../api/', '/..', '/a/b/../../..', '/img/a.png?size=2',
  '/old/x', '/api/old/y?q=1', '/app/old/z.php', '/legacy/admin/', '/legacy/x.php', '/static/old/a', '/a%20b/c.txt',
  '/api/x%3Fy', '/files/7?', '/api/v1/./x/../y', '/img/%2e%2E/a.png',
];

/** Nested children of a prefix location: longer prefixes under it, and regexes. */
function childrenFor(r: Rand, parent: string, depth: number): LocSpec[] {
  if (depth > 1) return [];
  const out: LocSpec[] = [];
  const longer = PREFIXES.filter((p) => p.startsWith(parent) && p !== parent);
  if (longer.length && chance(r, 0.5)) {
    const p = pick(r, longer);
    out.push(loc(r, chance(r, 0.3) ? '^~' : '', p, depth + 1));
  }
  if (chance(r, 0.5)) {
    const re = pick(r, REGEXES);
    out.push(loc(r, re.mod, re.pattern, depth + 1));
  }
  if (chance(r, 0.2)) {
    const exact = EXACTS.filter((e) => e.startsWith(parent));
    if (exact.length) out.push(loc(r, '=', pick(r, exact), depth + 1));
  }
  return dedupe(out);
}

function loc(r: Rand, mod: Mod, pattern: string, depth: number): LocSpec {
  const isRegex = mod === '~' || mod === '~*';
  const children = mod === '' || mod === '^~' ? childrenFor(r, pattern, depth) : [];
  let proxyUri: LocSpec['proxyUri'];
  if (chance(r, 0.3)) proxyUri = isRegex ? null : pick(r, [null, '/', '/up/', '/v2']);
  const rewrites: LocSpec['rewrites'] = [];
  if (!isRegex && mod !== '=' && chance(r, 0.3)) {
    rewrites.push({ regex: '^' + pattern.replace(/\/$/, '') + '/old/(.*)$', replacement: '/api/v1/$1', flag: pick(r, ['last', 'break', null] as const) });
  }
  const redirect = proxyUri === undefined && chance(r, 0.15);
  return { mod, pattern, children, proxyUri, rewrites, redirect };
}

function dedupe(locs: LocSpec[]): LocSpec[] {
  const seen = new Set<string>();
  return locs.filter((l) => {
    // nginx: one location per (exact|prefix) name; `^~ /x` and `/x` are duplicates.
    const key = l.mod === '=' ? `=${l.pattern}` : l.mod === '' || l.mod === '^~' ? `p${l.pattern}` : `r${l.mod}${l.pattern}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function genScenario(r: Rand, port: number): Scenario {
  const nServers = 1 + Math.floor(r() * 3);
  const servers: ServerSpec[] = [];
  const usedNames = new Set<string>();
  const defaultAt = chance(r, 0.4) ? Math.floor(r() * nServers) : -1;
  for (let s = 0; s < nServers; s++) {
    const names = NAMES.filter(() => chance(r, 0.25)).filter((n) => !usedNames.has(n));
    names.forEach((n) => usedNames.add(n));
    const locations: LocSpec[] = [];
    const nLocs = 2 + Math.floor(r() * 6);
    for (let i = 0; i < nLocs; i++) {
      const k = r();
      if (k < 0.45) locations.push(loc(r, chance(r, 0.25) ? '^~' : '', pick(r, PREFIXES), 0));
      else if (k < 0.65) locations.push(loc(r, '=', pick(r, EXACTS), 0));
      else {
        const re = pick(r, REGEXES);
        const l = loc(r, re.mod, re.pattern, 0);
        if (chance(r, 0.25)) l.children = dedupe([loc(r, '~', pick(r, REGEXES).pattern, 1)]);
        locations.push(l);
      }
    }
    const rewrites: ServerSpec['rewrites'] = chance(r, 0.15)
      ? [{ regex: '^/legacy/(.*)$', replacement: '/app/$1', flag: pick(r, ['last', 'break', null] as const) }]
      : [];
    servers.push({ names, isDefault: s === defaultAt, rewrites, locations: dedupe(locations) });
  }
  return { port, servers };
}

// ---------------------------------------------------------------- nginx.conf

export function locationIds(scn: Scenario, si: number): Map<LocSpec, string> {
  const ids = new Map<LocSpec, string>();
  const walk = (locs: LocSpec[], base: string) =>
    locs.forEach((l, i) => {
      const id = `${base}/loc_${i}`;
      ids.set(l, id);
      walk(l.children, id);
    });
  walk(scn.servers[si]!.locations, serverId(scn, si));
  return ids;
}

export const serverId = (scn: Scenario, si: number) => `p${scn.port}_server_${si}`;

const quote = (s: string) => (/[\s;{}"'$\\]/.test(s) || s === '' ? `"${s.replace(/(["\\])/g, '\\$1')}"` : s);

export function renderNginx(scn: Scenario, echoPort: number): string {
  const out: string[] = [];
  scn.servers.forEach((srv, si) => {
    const ids = locationIds(scn, si);
    out.push('server {');
    out.push(`  listen 127.0.0.1:${scn.port}${srv.isDefault ? ' default_server' : ''};`);
    if (srv.names.length) out.push(`  server_name ${srv.names.map((n) => (n === '""' ? n : quote(n))).join(' ')};`);
    out.push(`  add_header X-Server ${serverId(scn, si)} always;`);
    for (const rw of srv.rewrites) out.push(`  rewrite ${quote(rw.regex)} ${rw.replacement}${rw.flag ? ' ' + rw.flag : ''};`);
    const walk = (locs: LocSpec[], indent: string) => {
      for (const l of locs) {
        const id = ids.get(l)!;
        out.push(`${indent}location ${l.mod ? l.mod + ' ' : ''}${quote(l.pattern)} {`);
        for (const rw of l.rewrites) out.push(`${indent}  rewrite ${quote(rw.regex)} ${rw.replacement}${rw.flag ? ' ' + rw.flag : ''};`);
        // Every location sets its own X-Loc: nested ones would inherit the parent's otherwise.
        out.push(`${indent}  add_header X-Loc ${id} always;`);
        out.push(`${indent}  add_header X-Server ${serverId(scn, si)} always;`);
        if (l.proxyUri === undefined) {
          out.push(`${indent}  return ${returnText(l, id)};`);
        } else {
          out.push(`${indent}  proxy_pass http://127.0.0.1:${echoPort}${l.proxyUri ?? ''};`);
        }
        walk(l.children, indent + '  ');
        out.push(`${indent}}`);
      }
    };
    walk(srv.locations, '  ');
    out.push('}');
  });
  return out.join('\n');
}

// ---------------------------------------------------------------- returns

/**
 * What a non-proxied location answers: its id plus the variables the model must
 * evaluate as nginx does ($uri after normalisation and rewrites, $args, $host), or
 * for some locations a redirect built from them.
 */
function returnParts(l: LocSpec, id: string): { status: number; text: string } {
  if (l.redirect) return { status: 302, text: `/moved${l.pattern.startsWith('/') ? '' : '/'}$uri?from=${id}&$args` };
  return { status: 200, text: `loc:${id}|$uri|$is_args$args|$host` };
}

function returnText(l: LocSpec, id: string): string {
  const { status, text } = returnParts(l, id);
  return `${status} "${text}"`;
}

function returnAction(l: LocSpec, id: string): Action {
  const { status, text } = returnParts(l, id);
  return status === 302
    ? { kind: 'redirect', status, location: template(text), source: src() }
    : { kind: 'return', status, body: template(text), source: src() };
}

// ---------------------------------------------------------------- IR

const src = (line = 1): Src => ({ file: 'gen.conf', line, col: 1 });

const POLICY: Policy = {
  proxySetHeaders: [],
  addHeaders: [],
  proxyHideHeaders: [],
  proxyConnectTimeoutMs: 60000,
  proxyReadTimeoutMs: 60000,
  proxySendTimeoutMs: 60000,
  clientMaxBodySize: 1048576,
  proxyHttpVersion: '1.0',
  websocket: false,
  proxyRedirect: null,
  proxyBuffering: true,
};

export function template(raw: string): Template {
  const parts: TemplatePart[] = [];
  // As nginx: `$1`…`$9` are one digit (`$1x` is capture 1 then "x").
  const re = /\$(\{([A-Za-z0-9_]+)\}|([0-9])|([A-Za-z_][A-Za-z0-9_]*))/g;
  let last = 0;
  for (let m = re.exec(raw); m; m = re.exec(raw)) {
    if (m.index > last) parts.push({ text: raw.slice(last, m.index) });
    parts.push({ var: m[2] ?? m[3] ?? m[4]! });
    last = m.index + m[0].length;
  }
  if (last < raw.length) parts.push({ text: raw.slice(last) });
  return { raw, parts };
}

function irName(name: string): ServerName[] {
  if (name === '""') return [{ kind: 'empty', value: '', source: src() }];
  if (name.startsWith('~')) return [{ kind: 'regex', value: name.slice(1), source: src() }];
  if (name.startsWith('.')) {
    return [
      { kind: 'exact', value: name.slice(1), source: src() },
      { kind: 'wildcard-prefix', value: '*' + name, source: src() },
    ];
  }
  if (name.startsWith('*')) return [{ kind: 'wildcard-prefix', value: name, source: src() }];
  if (name.endsWith('*')) return [{ kind: 'wildcard-suffix', value: name, source: src() }];
  return [{ kind: 'exact', value: name.toLowerCase(), source: src() }];
}

const MODS: Record<Mod, LocationModifier> = { '=': 'exact', '': 'prefix', '^~': 'prefix-stop', '~': 'regex', '~*': 'regex-icase' };

function irRewrites(rws: LocSpec['rewrites']): RewriteStep[] {
  return rws.map((rw) => ({ kind: 'rewrite', regex: rw.regex, replacement: template(rw.replacement), flag: rw.flag, source: src() }));
}

export function scenarioIr(scns: Scenario[], echoPort: number): CompiledConfig {
  const listeners: Listener[] = [];
  const servers: VirtualServer[] = [];
  for (const scn of scns) {
    const lname = `listener_127_0_0_1_${scn.port}`;
    const ids = scn.servers.map((_, si) => serverId(scn, si));
    const def = scn.servers.findIndex((s) => s.isDefault);
    listeners.push({
      name: lname,
      address: '127.0.0.1',
      port: scn.port,
      ssl: false,
      http2: false,
      proxyProtocol: false,
      serverIds: ids,
      defaultServerId: ids[def >= 0 ? def : 0]!,
      sources: [src()],
    });
    scn.servers.forEach((srv, si) => {
      const locIds = locationIds(scn, si);
      const toIr = (l: LocSpec): Location => {
        const id = locIds.get(l)!;
        const action: Action =
          l.proxyUri === undefined
            ? returnAction(l, id)
            : {
                kind: 'proxy',
                backend: `127.0.0.1_${echoPort}`,
                scheme: 'http',
                uri: l.proxyUri === null ? null : template(l.proxyUri),
                proxyHost: `127.0.0.1:${echoPort}`,
                cluster: `127.0.0.1_${echoPort}`,
                source: src(),
              } as Action;
        // As the lowering does: `return` is a rewrite-phase step (in file order) and the location's action.
        const steps = irRewrites(l.rewrites);
        if (action.kind === 'return' || action.kind === 'redirect') steps.push({ kind: 'return', action, source: action.source });
        return {
          id,
          modifier: MODS[l.mod],
          pattern: l.pattern,
          children: l.children.map(toIr),
          rewrites: steps,
          action,
          policy: POLICY,
          source: src(),
        };
      };
      const seen = new Set<string>();
      servers.push({
        id: ids[si]!,
        // nginx keeps the first server for a name claimed twice (the generator avoids that anyway).
        names: (srv.names.length ? srv.names : ['""']).flatMap(irName).filter((n) => (seen.has(n.kind + n.value) ? false : (seen.add(n.kind + n.value), true))),
        listenerNames: [lname],
        rewrites: irRewrites(srv.rewrites),
        locations: srv.locations.map(toIr),
        fallback: { kind: 'static', status: 404, reason: 'no location: static files', source: null },
        source: src(),
      });
    });
  }
  return { listeners, servers, backends: [], report: [], notes: [] };
}

/** Requests derived from a scenario's own locations: each pattern and its neighbours. */
export function scenarioPaths(scn: Scenario): string[] {
  const out = new Set<string>();
  const walk = (locs: LocSpec[]) => {
    for (const l of locs) {
      if (l.mod === '~' || l.mod === '~*') continue;
      const p = l.pattern;
      const base = p.replace(/\/$/, '');
      for (const v of [p, p + 'x', p.slice(0, -1) || '/', p + '/', base + '/old/q', base + '/old/q?a=1', '/' + p, p.toUpperCase(), p + '?k=v']) {
        out.add(v);
      }
      walk(l.children);
    }
  };
  scn.servers.forEach((s) => walk(s.locations));
  return [...out];
}
