// The compiled validator (src/validate) against the interpretive one it
// replaced (test/validate/reference, kept as it was): the same findings, in
// the same order, with the same paths, messages and severities, on every
// golden fixture's bootstrap and xDS set, on deliberately broken resources,
// and on seeded random mutations of them.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { validateBootstrap, validateMessage, validateXdsResources, type Finding, type XdsResources } from '../../src/validate/index.js';
import {
  validateBootstrap as referenceBootstrap,
  validateMessage as referenceMessage,
  validateXdsResources as referenceXds,
} from './reference/index.js';
import { prng, type Rand } from '../support/prng.js';
import { camelKeys, fixture } from './helpers.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures');

/** Every golden fixture's expected Envoy bootstrap, parsed. */
function goldenBootstraps(): Array<[string, Record<string, any>]> {
  return readdirSync(FIXTURES)
    .filter((d) => existsSync(join(FIXTURES, d, 'envoy.yaml')))
    .sort()
    .map((d) => [d, YAML.parse(readFileSync(join(FIXTURES, d, 'envoy.yaml'), 'utf8')) as Record<string, any>]);
}

type Triple = [string, string, string];

function triples(findings: Finding[]): Triple[] {
  return findings.map((f) => [f.severity, f.path, f.message]);
}

function sameOnBootstrap(doc: unknown): Triple[] {
  const fast = triples(validateBootstrap(doc));
  expect(fast).toEqual(triples(referenceBootstrap(doc)));
  return fast;
}

function sameOnXds(res: XdsResources): Triple[] {
  const fast = triples(validateXdsResources(res));
  expect(fast).toEqual(triples(referenceXds(res)));
  return fast;
}

const goldens = goldenBootstraps();

describe('compiled validator = reference validator', () => {
  it('has golden fixtures to compare on', () => {
    expect(goldens.length).toBeGreaterThanOrEqual(25);
  });

  it.each(goldens)('%s: bootstrap, its camelCase form, and its xDS resources', (_name, doc) => {
    expect(sameOnBootstrap(doc).filter(([s]) => s === 'error')).toEqual([]);
    sameOnBootstrap(camelKeys(doc));
    sameOnXds(toXdsResources(doc) as XdsResources);
  });

  it('the validator test fixtures (bootstrap.yaml, xds.yaml)', () => {
    sameOnBootstrap(fixture('bootstrap.yaml'));
    sameOnXds(fixture('xds.yaml') as XdsResources);
  });
});

/** A broken copy of the validator's bootstrap fixture. */
function broken(change: (b: Record<string, any>) => void): Record<string, any> {
  const b = fixture('bootstrap.yaml');
  change(b);
  return b;
}

const L0 = (b: Record<string, any>) => b.static_resources.listeners[0];
const HCM = (b: Record<string, any>) => L0(b).filter_chains[0].filters[0].typed_config;
const VH = (b: Record<string, any>) => HCM(b).route_config.virtual_hosts[0];
const ROUTE = (b: Record<string, any>) => VH(b).routes[0];
const C0 = (b: Record<string, any>) => b.static_resources.clusters[0];

const BROKEN: Array<[string, (b: Record<string, any>) => void]> = [
  ['unknown field', (b) => (C0(b).conect_timeout = '1s')],
  ['unknown field in an Any', (b) => (HCM(b).stat_prefx = 'x')],
  ['wrong enum name', (b) => (C0(b).lb_policy = 'ROUND_ROBIM')],
  ['enum as a number out of range', (b) => (C0(b).lb_policy = 2 ** 40)],
  ['bad Duration string', (b) => (C0(b).connect_timeout = '5 seconds')],
  ['negative Duration', (b) => (C0(b).connect_timeout = '-1s')],
  ['Duration object with nanos out of range', (b) => (C0(b).connect_timeout = { seconds: 3, nanos: 5e9 })],
  ['Duration object with a stray key', (b) => (C0(b).connect_timeout = { seconds: 3, millis: 5 })],
  ['wrapper written as an object', (b) => (C0(b).per_connection_buffer_limit_bytes = { value: 5 })],
  ['rule violation: empty cluster name', (b) => (C0(b).name = '')],
  ['rule violation: absent required field', (b) => delete ROUTE(b).match],
  ['rule violation: empty domains', (b) => (VH(b).domains = [])],
  ['bad @type', (b) => (HCM(b)['@type'] = 'type.googleapis.com/envoy.nope.Nope')],
  ['malformed @type', (b) => (HCM(b)['@type'] = 'nope')],
  ['@type of the wrong extension kind', (b) => (L0(b).filter_chains[0].filters[0].typed_config['@type'] = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router')],
  ['Any without @type', (b) => delete HCM(b)['@type']],
  ['dangling cluster', (b) => (ROUTE(b).route = { cluster: 'nowhere' })],
  ['duplicate cluster name', (b) => b.static_resources.clusters.push(structuredClone(C0(b)))],
  ['duplicate listener address', (b) => b.static_resources.listeners.push({ ...structuredClone(L0(b)), name: 'other' })],
  ['duplicate domain', (b) => VH(b).domains.push(VH(b).domains[0])],
  ['oneof set twice', (b) => (ROUTE(b).match = { prefix: '/', path: '/x' })],
  ['field set under both names', (b) => (C0(b).connectTimeout = C0(b).connect_timeout)],
  ['wrong scalar type', (b) => (ROUTE(b).match.case_sensitive = 'yes')],
  ['null in a repeated field', (b) => VH(b).domains.push(null)],
  ['repeated field not a list', (b) => (VH(b).domains = 'example.com')],
  ['invalid RE2 regex', (b) => (ROUTE(b).match = { safe_regex: { regex: '(?<=a)b' } })],
  ['pseudo-header removed', (b) => (ROUTE(b).request_headers_to_remove = [':path', 'x-ok', 'HOST'])],
  ['pseudo-header removed beside other findings of the same route (order kept)', (b) => {
    Object.assign(ROUTE(b), { bogus: 1, response_headers_to_remove: ['x-ok', ':status'], route: { cluster: '', timeout: 'soon' } });
  }],
  ['Host added', (b) => (ROUTE(b).request_headers_to_add = [{ header: { key: 'Host', value: 'x' } }])],
  ['terminal filter not last', (b) => HCM(b).http_filters.reverse()],
  ['deprecated field (warning)', (b) => (C0(b).max_requests_per_connection = 5)],
  ['numeric rule', (b) => (C0(b).outlier_detection = { consecutive_5xx: 5, max_ejection_percent: 200 })],
  ['domain with an inner *', (b) => VH(b).domains.push('a.*.example.com')],
  ['STATIC endpoint named by a hostname', (b) => {
    const staticA = b.static_resources.clusters.find((c: Record<string, any>) => c.name === 'static_a');
    staticA.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = 'backend.local';
  }],
  ['LOGICAL_DNS cluster with two endpoints', (b) => {
    const ws = b.static_resources.clusters.find((c: Record<string, any>) => c.name === 'ws');
    ws.load_assignment.endpoints[0].lb_endpoints.push(structuredClone(ws.load_assignment.endpoints[0].lb_endpoints[0]));
  }],
  ['dangling weighted cluster and request mirror', (b) => {
    ROUTE(b).route = { weighted_clusters: { clusters: [{ name: 'nowhere', weight: 1 }, { name: 'app', weight: 1 }] }, request_mirror_policies: [{ cluster: 'gone' }] };
  }],
  ['the same failing value in many places (each reported)', (b) => {
    for (const path of ['/a', '/b', '/c']) {
      VH(b).routes.push({ match: { prefix: path }, route: { cluster: 'app' }, request_headers_to_add: [{ header: { key: '', value: 'x' } }, { header: { key: 'ok', value: 'a\nb' } }] });
    }
  }],
  ['shared sub-object reached twice', (b) => {
    const action = { cluster: 'nowhere', timeout: 'soon' };
    VH(b).routes.push({ match: { prefix: '/a' }, route: action }, { match: { prefix: '/b' }, route: action });
  }],
];

describe('compiled validator = reference validator on broken bootstraps', () => {
  it.each(BROKEN)('%s', (_name, change) => {
    const doc = broken(change);
    expect(sameOnBootstrap(doc).length).toBeGreaterThan(0);
    sameOnBootstrap(camelKeys(doc));
    sameOnXds(toXdsResources(doc) as XdsResources);
  });

  it('single messages (validateMessage)', () => {
    const cases: Array<[string, unknown]> = [
      ['envoy.config.cluster.v3.Cluster', { name: '', connect_timeout: 'x' }],
      ['envoy.config.route.v3.Route', { match: {}, route: { cluster: 'a', weighted_clusters: {} } }],
      ['google.protobuf.Duration', '1s'],
      ['envoy.nope.Nope', {}],
      ['envoy.config.core.v3.Address', []],
    ];
    for (const [type, json] of cases) {
      expect(triples(validateMessage(type, json))).toEqual(triples(referenceMessage(type, json)));
    }
  });
});

/** Wrong values of every JSON kind, and values that trip the usual rules. */
const REPLACEMENTS: unknown[] = [
  '', 'x', ':path', 'Host', 'a\nb', '1.5s', '-1s', '99999999999999999999s', 'ROUND_ROBIN', 'type.googleapis.com/google.protobuf.Duration',
  0, -1, 1.5, 2 ** 32, 2 ** 60, true, false, null, [], [null], ['x'], {}, { seconds: -1 }, { '@type': 'type.googleapis.com/nope.Nope' },
  { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1s' },
  { '@type': 'type.googleapis.com/xds.type.v3.TypedStruct', type_url: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', value: {} },
];

interface Slot {
  parent: Record<string, unknown> | unknown[];
  key: string | number;
}

function slots(doc: unknown): Slot[] {
  const out: Slot[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        walk(x);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        out.push({ parent: v as Record<string, unknown>, key: k });
        walk(x);
      }
    }
  };
  walk(doc);
  return out;
}

function pick<T>(rand: Rand, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

/** One random edit: replace a value, delete a key, add an unknown key, or add the camelCase twin of a key. */
function mutate(doc: unknown, rand: Rand): void {
  const slot = pick(rand, slots(doc));
  const { parent, key } = slot;
  const what = rand();
  if (what < 0.6) (parent as Record<string | number, unknown>)[key] = structuredClone(pick(rand, REPLACEMENTS));
  else if (what < 0.75 && !Array.isArray(parent)) delete parent[key as string];
  else if (what < 0.85 && !Array.isArray(parent)) parent['bogus_field'] = 1;
  else if (!Array.isArray(parent)) parent[String(key).replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = structuredClone(parent[key as string]);
  else parent.push(structuredClone(parent[key as number]));
}

describe('compiled validator = reference validator on random mutations', () => {
  const sources: Array<[string, () => Record<string, any>]> = [
    ['bootstrap.yaml', () => fixture('bootstrap.yaml')],
    ...goldens.filter((_, i) => i % 4 === 0).map(([name, doc]): [string, () => Record<string, any>] => [name, () => structuredClone(doc)]),
  ];

  it.each(sources)('%s: 40 seeded mutations, 1 to 3 edits each', (name, load) => {
    let findings = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const rand = prng(seed * 7919 + name.length);
      const doc = load();
      const edits = 1 + Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) mutate(doc, rand);
      findings += sameOnBootstrap(doc).length;
      sameOnXds(toXdsResources(doc) as XdsResources);
    }
    expect(findings).toBeGreaterThan(0);
  });

  it('xds.yaml: 60 seeded mutations', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rand = prng(seed);
      const res = fixture('xds.yaml');
      mutate(res, rand);
      sameOnXds(res as XdsResources);
    }
  });
});
