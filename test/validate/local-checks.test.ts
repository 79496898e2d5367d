// A message's own check (LocalCheck) runs once per message met, after its keys are seen, and
// its findings go before those of the fields beneath it; a check that waits for one of its
// fields (onlyWith) runs only where one is set.
import { describe, expect, it } from 'vitest';
import { envoySchema } from '../../src/validate/schema.js';
import { Walker, type LocalCheck, type Site } from '../../src/validate/walk.js';

const ROUTE = 'envoy.config.route.v3.Route';
const ACTION = 'envoy.config.route.v3.RouteAction';

function walk(checks: Map<string, LocalCheck>, value: unknown): string[] {
  const w = new Walker(envoySchema(), new Set(), checks);
  w.message(ROUTE, value, 'r');
  return w.findings.map((f) => `${f.path}: ${f.message}`);
}

// the site is only valid during the call: what it says is copied out
const saying = (text: string): ((site: Site) => { path: string; message: string; severity: 'error' }[]) => (site) => [{ path: site.path, message: text, severity: 'error' }];

describe('local checks', () => {
  const woken: LocalCheck = Object.assign(saying('route check'), { onlyWith: ['response_headers_to_remove'] });
  const checks = new Map<string, LocalCheck>([
    [ROUTE, woken],
    [ACTION, saying('action check')],
  ]);

  it('findings of a message come before those beneath it, whether the check waited for a field or not', () => {
    const route = { match: { prefix: '/' }, route: { cluster: 'c', bogus: 1 }, response_headers_to_remove: ['x-a'] };
    expect(walk(checks, route)).toEqual(['r: route check', 'r.route: action check', 'r.route.bogus: unknown field "bogus" in envoy.config.route.v3.RouteAction']);
  });

  it('a check waiting for a field does not run where none is set; one that waits for none runs everywhere', () => {
    const route = { match: { prefix: '/' }, route: { cluster: 'c' } };
    expect(walk(checks, route)).toEqual(['r.route: action check']);
  });

  it('each check runs once per message', () => {
    const route = { match: { prefix: '/' }, route: { cluster: 'c' }, request_headers_to_remove: ['a'], response_headers_to_remove: ['x-a'] };
    const woken2: LocalCheck = Object.assign(saying('route check'), { onlyWith: ['request_headers_to_remove', 'response_headers_to_remove'] });
    expect(walk(new Map([[ROUTE, woken2]]), route)).toEqual(['r: route check']);
  });
});
