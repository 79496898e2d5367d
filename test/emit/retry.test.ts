// nginx's retry on the next server → the route's retry_policy: its shape, that the
// bootstrap and the xDS resources validate against Envoy's protos, that the gRPC
// profile leaves it out, and what the evaluator reads from it (its own reading of
// Envoy's documented behaviour). nginx itself is checked in
// test/differential/upstream-retry.test.ts.
import { describe, expect, test } from 'vitest';
import type { CompileResult } from '../../src/compile.js';
import { evaluator } from '../../src/sim/envoy/index.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { grpcProfile } from '../../src/serve/grpc-profile.js';
import { validateXdsResources } from '../../src/validate/index.js';
import { compileText, hcmOf } from '../edge/support.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const CONF = `events {}
http {
 upstream app { server 10.0.0.1:80; server 10.0.0.2:80 weight=3; server 10.0.0.3:80 down; server 10.0.0.9:80 backup; }
 upstream solo { server 10.0.1.1:80; }
 upstream many { server 10.0.2.1:80; server 10.0.2.2:80 backup; server 10.0.2.3:80 backup; }
 server {
  listen 8080;
  server_name a.test;
  location /app/ { proxy_pass http://app; }
  location /solo/ { proxy_pass http://solo; }
  location /two/ { proxy_pass http://app; proxy_next_upstream_tries 2; }
  location /off/ { proxy_pass http://app; proxy_next_upstream off; }
  location /any/ { proxy_pass http://app; proxy_next_upstream error http_503 http_502 non_idempotent; }
  location /many/ { proxy_pass http://many; }
  location /name/ { proxy_pass http://backend.internal:8000; }
 }
}
`;

const routesOf = (r: CompileResult): Json[] => hcmOf(r.bootstrap, 'listener_0.0.0.0_8080').route_config.virtual_hosts.find((v: Json) => v.domains.includes('a.test')).routes;
const policyAt = (r: CompileResult, prefix: string): Json => routesOf(r).find((x) => x.match.prefix === prefix)?.route.retry_policy;

describe('retry_policy on proxy routes', () => {
  const r = compileText(CONF);

  test('the default: connect failures, each server once (down ones are not servers), backups after the primaries', () => {
    expect(policyAt(r, '/app/')).toEqual({
      retry_on: 'connect-failure',
      num_retries: 2,
      retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
      host_selection_retry_max_attempts: 5,
      retry_priority: { name: 'envoy.retry_priorities.previous_priorities', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig', update_frequency: 2 } },
      retry_back_off: { base_interval: '0.001s', max_interval: '0.001s' },
    });
  });

  test('nothing to retry on, tries, off, statuses', () => {
    expect(policyAt(r, '/solo/')).toBeUndefined();
    expect(policyAt(r, '/off/')).toBeUndefined();
    const two = policyAt(r, '/two/');
    expect(two.num_retries).toBe(1);
    // the backup is out of reach in two tries
    expect(two.retry_priority).toBeUndefined();
    const any = policyAt(r, '/any/');
    expect(any.retry_on).toBe('connect-failure,reset,retriable-status-codes');
    expect(any.retriable_status_codes).toEqual([502, 503]);
    // a DNS name: two addresses assumed
    expect(policyAt(r, '/name/').num_retries).toBe(1);
  });

  test('more backups than primaries is reported', () => {
    expect(r.report.notes.some((n) => n.directive === 'upstream' && /many has more backup servers \(2\) than primary ones \(1\)/.test(n.reason))).toBe(true);
  });

  test('the evaluator: a refused server is stepped over; tries and backups as the policy says', () => {
    const ev = evaluator(r.bootstrap);
    const outcomes = (path: string, refused: string[], method = 'GET'): string[] => {
      const d = ev({ port: 8080, host: 'a.test', path, method, upstream: { refused } });
      return d.upstream!.outcomes.map((o) => (o.kind === 'served' ? o.endpoint : `failed ${o.status}`));
    };
    expect(outcomes('/app/x', ['10.0.0.1:80'], 'POST')).toEqual(['10.0.0.2:80']);
    expect(outcomes('/app/x', ['10.0.0.1:80', '10.0.0.2:80'])).toEqual(['10.0.0.9:80']);
    expect(outcomes('/app/x', ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.9:80'])).toEqual(['failed 502']);
    expect(outcomes('/two/x', ['10.0.0.1:80', '10.0.0.2:80'])).toEqual(['failed 502']);
    expect(outcomes('/off/x', ['10.0.0.1:80']).sort()).toEqual(['10.0.0.2:80', 'failed 502']);
    expect(outcomes('/solo/x', [])).toEqual(['10.0.1.1:80']);
    // a status retried only where the policy lists it
    const statuses = { '10.0.0.1:80': 503 };
    const d = ev({ port: 8080, host: 'a.test', path: '/any/x', upstream: { statuses } });
    expect(d.upstream!.outcomes).toEqual([{ kind: 'served', endpoint: '10.0.0.2:80', status: 200 }]);
    const plain = ev({ port: 8080, host: 'a.test', path: '/app/x', upstream: { statuses } });
    expect(plain.upstream!.outcomes).toEqual([{ kind: 'served', endpoint: '10.0.0.1:80', status: 503 }, { kind: 'served', endpoint: '10.0.0.2:80', status: 200 }]);
    // without request.upstream nothing changes for other callers
    expect(ev({ port: 8080, host: 'a.test', path: '/app/x' }).upstream).toBeUndefined();
  });

  test('the evaluator reads a virtual host\'s policy where the route has none, and a route\'s replaces it', () => {
    const bootstrap = structuredClone(r.bootstrap);
    const vh = hcmOf(bootstrap, 'listener_0.0.0.0_8080').route_config.virtual_hosts.find((v: Json) => v.domains.includes('a.test'));
    vh.retry_policy = { retry_on: 'connect-failure', num_retries: 3 };
    const ev = evaluator(bootstrap);
    const d = ev({ port: 8080, host: 'a.test', path: '/off/x', upstream: { refused: ['10.0.0.1:80'] } });
    // no previous_hosts here: the retry may land on the refused server again, up to 3 times
    expect(d.upstream!.maxTries).toBe(4);
    expect(d.upstream!.outcomes.map((o) => o.kind).sort()).toEqual(['failed', 'served']);
    const own = ev({ port: 8080, host: 'a.test', path: '/two/x', upstream: { refused: ['10.0.0.1:80', '10.0.0.2:80'] } });
    expect(own.upstream!.maxTries).toBe(2);
  });

  test('xDS: the resources validate; the gRPC profile leaves the policy out', () => {
    const x = toXdsResources(r.bootstrap);
    expect(JSON.stringify(x.routes)).toContain('previous_priorities');
    expect(validateXdsResources(x).filter((f: Json) => f.severity === 'error')).toEqual([]);
    const g = grpcProfile(x);
    expect(JSON.stringify(g.routes)).not.toContain('retry_policy');
  });

  test('deterministic: the same input gives the same policies', () => {
    expect(JSON.stringify(compileText(CONF).bootstrap)).toBe(JSON.stringify(r.bootstrap));
  });
});

describe('the policy most forwarding routes share goes to the virtual host', () => {
  const conf = (locations: string): string => `events {}
http {
 upstream app { server 10.0.0.1:80; server 10.0.0.2:80; }
 upstream solo { server 10.0.1.1:80; }
 server {
  listen 8080;
  server_name a.test;
${locations}
 }
}
`;
  const vhostOf = (r: CompileResult): Json => hcmOf(r.bootstrap, 'listener_0.0.0.0_8080').route_config.virtual_hosts.find((v: Json) => v.domains.includes('a.test'));

  test('said once; a route to a single server says it retries nothing; the evaluator reads the same outcomes', () => {
    const r = compileText(conf('  location /a/ { proxy_pass http://app; }\n  location /b/ { proxy_pass http://app; }\n  location /solo/ { proxy_pass http://solo; }\n  location /r/ { return 204; }'));
    const vh = vhostOf(r);
    expect(vh.retry_policy).toMatchObject({ retry_on: 'connect-failure', num_retries: 1 });
    expect(Object.keys(vh).indexOf('retry_policy')).toBeLessThan(Object.keys(vh).indexOf('routes'));
    const route = (prefix: string): Json => vh.routes.find((x: Json) => x.match.prefix === prefix);
    expect(route('/a/').route.retry_policy).toBeUndefined();
    expect(route('/solo/').route.retry_policy).toEqual({});
    expect(route('/r/').route).toBeUndefined();
    const ev = evaluator(r.bootstrap);
    // /a/ retries on the other server under the virtual host's policy; /solo/ has nothing to retry on
    const a = ev({ port: 8080, host: 'a.test', path: '/a/x', upstream: { refused: ['10.0.0.1:80'] } });
    expect(a.upstream!.outcomes.every((o) => o.kind === 'served')).toBe(true);
    const solo = ev({ port: 8080, host: 'a.test', path: '/solo/x', upstream: { refused: ['10.0.1.1:80'] } });
    expect(solo.upstream!.maxTries).toBe(1);
    expect(validateXdsResources(toXdsResources(r.bootstrap)).filter((f: Json) => f.severity === 'error')).toEqual([]);
  });

  test('left on the routes where the routes without one are as many', () => {
    const r = compileText(conf('  location /a/ { proxy_pass http://app; }\n  location /b/ { proxy_pass http://app; }\n  location /s1/ { proxy_pass http://solo; }\n  location /s2/ { proxy_pass http://solo; }'));
    const vh = vhostOf(r);
    expect(vh.retry_policy).toBeUndefined();
    expect(vh.routes.find((x: Json) => x.match.prefix === '/a/').route.retry_policy).toMatchObject({ num_retries: 1 });
    expect(vh.routes.find((x: Json) => x.match.prefix === '/s1/').route.retry_policy).toBeUndefined();
  });
});
