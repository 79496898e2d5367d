// The compiler's bootstrap for examples/nginx.conf, read by the evaluator. The
// expected answers are what nginx does with each request (written from nginx's
// documented semantics, not from the compiler): server selection by Host (the
// default_server otherwise), location selection (= exact, ^~ stops the regexes,
// regexes in order before the longest plain prefix), proxy_pass with a URI part
// replacing the location prefix of the normalised URI and without one passing the
// request URI unchanged, Host = $proxy_host unless proxy_set_header Host says
// otherwise, `return` with text or a URL.
import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/compile.js';
import { evaluator, type EnvoyDecision, type EnvoyRequest } from '../../../src/sim/envoy/index.js';

const result = compile('examples/nginx.conf');
const bootstrap = result.bootstrap;
const ev = evaluator(bootstrap);

/** A cluster's endpoints as sorted "ip:port" — clusters are identified by where they send. */
function endpointsOf(cluster: string | undefined): string[] {
  const c = (bootstrap?.static_resources?.clusters ?? []).find((x: any) => x.name === cluster);
  const out: string[] = [];
  for (const group of c?.load_assignment?.endpoints ?? []) {
    for (const lb of group.lb_endpoints ?? []) {
      const sa = lb.endpoint?.address?.socket_address;
      if (sa) out.push(`${sa.address}:${sa.port_value}`);
    }
  }
  return out.sort();
}

function send(req: Partial<EnvoyRequest>): EnvoyDecision {
  return ev({ port: 80, host: 'example.com', path: '/', ...req });
}

const API = ['10.0.0.11:8080', '10.0.0.12:8080'];

describe('examples/nginx.conf compiled, evaluated, compared with nginx', () => {
  it('compiles', () => {
    expect(result.ok).toBe(true);
  });

  it('location = /healthz answers 200 "ok\\n", with or without a query, for any case of the Host', () => {
    for (const req of [{ path: '/healthz' }, { path: '/healthz?x=1' }, { host: 'EXAMPLE.com', path: '/healthz' }]) {
      expect(send(req)).toMatchObject({ kind: 'direct_response', status: 200, body: 'ok\n' });
    }
  });

  it('/healthz is case-sensitive in nginx: /Healthz goes to location /', () => {
    const d = send({ path: '/Healthz' });
    expect(d.kind).toBe('route');
    expect(endpointsOf(d.cluster)).toEqual(API);
    expect(d.upstreamPath).toBe('/Healthz');
  });

  it('location /api/ → upstream api_v1 with /api/ replaced by /v1/, query kept, Host = $host', () => {
    const d = send({ host: 'www.example.com', path: '/api/users?id=1' });
    expect(endpointsOf(d.cluster)).toEqual(API);
    expect(d.upstreamPath).toBe('/v1/users?id=1');
    expect(d.upstreamHost).toBe('www.example.com');
  });

  it('nginx merges slashes and resolves dot segments before choosing the location', () => {
    expect(send({ path: '//api//x' })).toMatchObject({ upstreamPath: '/v1/x' });
    expect(send({ path: '/static/../api/x' })).toMatchObject({ upstreamPath: '/v1/x' });
  });

  it('^~ /static/ stops the regex: /static/logo.png goes to 127.0.0.1:9000 unchanged, Host = $proxy_host', () => {
    const d = send({ path: '/static/logo.png' });
    expect(endpointsOf(d.cluster)).toEqual(['127.0.0.1:9000']);
    expect(d.upstreamPath).toBe('/static/logo.png');
    expect(d.upstreamHost).toBe('127.0.0.1:9000');
  });

  it('the ~* regex beats the plain prefix /api/ and is case-insensitive; the URI passes unchanged', () => {
    const a = send({ path: '/api/logo.png?x=1' });
    expect(endpointsOf(a.cluster)).toEqual(['127.0.0.1:9001']);
    expect(a.upstreamPath).toBe('/api/logo.png?x=1');
    const b = send({ path: '/img/Photo.JPEG' });
    expect(endpointsOf(b.cluster)).toEqual(['127.0.0.1:9001']);
    expect(b.upstreamHost).toBe('127.0.0.1:9001');
  });

  it('location / → api_v1 with the URI unchanged and Host = $proxy_host ("api_v1")', () => {
    const d = send({ path: '/about?lang=en' });
    expect(endpointsOf(d.cluster)).toEqual(API);
    expect(d.upstreamPath).toBe('/about?lang=en');
    expect(d.upstreamHost).toBe('api_v1');
  });

  it('an unknown Host lands on the default_server', () => {
    const d = send({ host: 'unknown.org', path: '/healthz' });
    expect(d).toMatchObject({ kind: 'direct_response', status: 200 });
  });

  it('old.example.com: return 301 http://example.com$request_uri keeps path and query', () => {
    const d = send({ host: 'old.example.com', path: '/a/b?c=1' });
    expect(d).toMatchObject({ kind: 'redirect', status: 301, redirectLocation: 'http://example.com/a/b?c=1' });
  });
});
