// Seeded generator of nginx routing configs for the differential tests: servers
// with every server_name kind, locations of every kind (nested ones too), and
// return / redirect / proxy_pass actions, plus the requests that probe them.
// Every location's answer is distinguishable: returns carry a marker, and each
// proxying location has a backend port of its own.

export { prng } from './prng.js';
import { prng } from './prng.js';

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rand, p: number) => r() < p;

/** server_name values, with hosts that exercise each. */
const NAME_POOL: { name: string; hosts: string[] }[] = [
  { name: 'a.test', hosts: ['a.test', 'A.Test', 'a.test.'] },
  { name: 'www.a.test', hosts: ['www.a.test'] },
  { name: '*.a.test', hosts: ['x.a.test', 'deep.x.a.test'] },
  { name: '.b.test', hosts: ['b.test', 'sub.b.test'] },
  { name: '*.b.test', hosts: ['other.b.test'] },
  { name: 'www.c.*', hosts: ['www.c.org', 'www.c.test'] },
  { name: 'www.c.test', hosts: ['www.c.test'] },
  { name: '~^api[0-9]+\\.d\\.test$', hosts: ['api7.d.test', 'API12.D.TEST', 'api.d.test'] },
  { name: '~^(?<sub>[a-z]+)\\.e\\.test$', hosts: ['foo.e.test', 'x.a.test'] },
  { name: '~\\.f\\.test$', hosts: ['deep.f.test', 'www.a.test'] },
  { name: '_', hosts: ['_'] },
  { name: '""', hosts: [] },
];

export const EXTRA_HOSTS = ['unknown.test', 'localhost', '', 'www.a.test:8080', 'sub.b.test:443'];

interface LocationTemplate {
  decl: string; // `= /exact`, `^~ /static/`, `~* \.png$`
  kind: 'exact' | 'prefix' | 'prefix-stop' | 'regex';
  /** Paths that should reach this location (or its neighbours). */
  probes: string[];
  children?: LocationTemplate[];
}

const LOCATIONS: LocationTemplate[] = [
  { decl: '= /', kind: 'exact', probes: ['/', '/?q=1'] },
  { decl: '= /exact', kind: 'exact', probes: ['/exact', '/exact/', '/exac', '/EXACT', '/exact?x=1'] },
  { decl: '/', kind: 'prefix', probes: ['/zzz', '/'] },
  { decl: '/api/', kind: 'prefix', probes: ['/api/', '/api/x', '/api', '/apix', '//api//x', '/API/x', '/api/x?y=1'] },
  {
    decl: '/api/v1/',
    kind: 'prefix',
    probes: ['/api/v1/', '/api/v1/users', '/api/v1', '/api/v1/../v2/x', '/api/./v1/x'],
  },
  {
    decl: '^~ /static/',
    kind: 'prefix-stop',
    probes: ['/static/a.png', '/static/x.php', '/static', '/static/css/site.css'],
  },
  { decl: '~ \\.php$', kind: 'regex', probes: ['/index.php', '/a/b.php', '/index.PHP', '/index.phps', '/x.php?y=1'] },
  { decl: '~* \\.(png|jpe?g)$', kind: 'regex', probes: ['/img/a.png', '/img/A.PNG', '/b.jpeg', '/c.jpgx'] },
  { decl: '~ ^/api/v[0-9]+/users', kind: 'regex', probes: ['/api/v2/users', '/api/v1/users/7', '/api/vx/users'] },
  {
    decl: '/app/',
    kind: 'prefix',
    probes: ['/app/', '/app/main.js', '/app/x'],
    children: [
      { decl: '~ \\.js$', kind: 'regex', probes: ['/app/lib/x.js', '/app/admin/y.js'] },
      {
        decl: '/app/admin/',
        kind: 'prefix',
        probes: ['/app/admin/', '/app/admin/panel'],
        children: [{ decl: '~ secret', kind: 'regex', probes: ['/app/admin/secret', '/app/admin/topsecret.txt'] }],
      },
      { decl: '^~ /app/assets/', kind: 'prefix-stop', probes: ['/app/assets/x.js', '/app/assets/img.png'] },
    ],
  },
  { decl: '/img/', kind: 'prefix', probes: ['/img/', '/img/logo.svg', '/img/a.png'] },
];

export interface GeneratedConfig {
  /** The `http { }` body. */
  httpBody: string;
  port: number;
  /** Backend ports that proxying locations send to. */
  backendPorts: number[];
  /** Hosts and paths to probe. */
  hosts: string[];
  paths: string[];
}

/**
 * One config for `port`, with backends taken from `backendPorts` (each used once).
 * The same seed gives the same config.
 */
export function generateRoutingConfig(seed: number, port: number, backendPorts: number[]): GeneratedConfig {
  const r = prng(seed);
  const freeBackends = [...backendPorts];
  const usedBackends: number[] = [];
  const upstreams: string[] = [];
  const servers: string[] = [];
  const hosts = new Set<string>(EXTRA_HOSTS);
  // '//' and '///': nginx merges them to '/'; Envoy's merge_slashes leaves a path of only slashes as '//'.
  const paths = new Set<string>(['/', '//', '///', '/nothing/here', '/index.html']);
  let marker = 0;

  const action = (loc: LocationTemplate, indent: string): string => {
    const id = `m${seed}_${marker++}`;
    const canProxyUri = loc.kind !== 'regex';
    const kinds = ['return-text', 'return-code', 'redirect', 'proxy', 'proxy', 'proxy'];
    const kind = freeBackends.length === 0 ? pick(r, kinds.slice(0, 3)) : pick(r, kinds);
    switch (kind) {
      case 'return-text':
        return `${indent}return 200 "${id}";`;
      case 'return-code':
        return `${indent}return ${pick(r, [204, 403, 404, 410, 418, 503])};`;
      case 'redirect': {
        const url = pick(r, [
          `https://$host$request_uri`,
          `http://other.test$request_uri`,
          `https://other.test/moved/${id}`,
          `$scheme://$host/r/${id}`,
          `http://$host$uri`,
        ]);
        return `${indent}return ${pick(r, [301, 302, 307, 308])} ${url};`;
      }
      default: {
        const backend = freeBackends.shift()!;
        usedBackends.push(backend);
        const viaUpstream = chance(r, 0.5);
        let target: string;
        if (viaUpstream) {
          const name = `up_${backend}`;
          upstreams.push(`upstream ${name} {\n  server 127.0.0.1:${backend};\n}`);
          target = `http://${name}`;
        } else {
          target = `http://127.0.0.1:${backend}`;
        }
        const uri = canProxyUri && chance(r, 0.5) ? pick(r, ['/', '/v2/', `/b/${id}/`, '/x']) : '';
        return `${indent}proxy_pass ${target}${uri};`;
      }
    }
  };

  const renderLocation = (loc: LocationTemplate, indent: string): string => {
    for (const p of loc.probes) paths.add(p);
    const inner = indent + '  ';
    const lines = [`${indent}location ${loc.decl} {`, action(loc, inner)];
    for (const child of loc.children ?? []) {
      if (chance(r, 0.75)) lines.push(renderLocation(child, inner));
      else for (const p of child.probes) paths.add(p);
    }
    lines.push(`${indent}}`);
    return lines.join('\n');
  };

  const serverCount = 2 + Math.floor(r() * 3);
  const defaultIndex = chance(r, 0.5) ? Math.floor(r() * serverCount) : -1;
  for (let s = 0; s < serverCount; s++) {
    const names = NAME_POOL.filter(() => chance(r, 0.25));
    for (const n of names) for (const h of n.hosts) hosts.add(h);
    const lines = [`server {`, `  listen 127.0.0.1:${port}${s === defaultIndex ? ' default_server' : ''};`];
    if (names.length > 0) lines.push(`  server_name ${names.map((n) => n.name).join(' ')};`);
    if (chance(r, 0.15)) {
      // A redirect-only server.
      lines.push(`  return 301 https://$host$request_uri;`);
    } else {
      for (const loc of LOCATIONS) {
        if (chance(r, 0.6)) lines.push(renderLocation(loc, '  '));
        else for (const p of loc.probes) paths.add(p);
      }
    }
    lines.push('}');
    servers.push(lines.join('\n'));
  }

  return {
    httpBody: [...upstreams, ...servers].join('\n'),
    port,
    backendPorts: usedBackends,
    hosts: [...hosts],
    paths: [...paths],
  };
}
