// explain --from IP with a method on fixture 57-limit-except: the nginx model and the
// evaluator of the compiled configuration agree for every method and client, and the
// statuses are nginx's (checked against real nginx in test/differential/limit-except.test.ts).
import { describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { compile } from '../../src/compile.js';
import { explainCompiled, explainRequest } from '../../src/review/explain.js';
import { FIXTURES } from '../edge/support.js';

const result = compile(join(FIXTURES, '57-limit-except', 'nginx.conf'), {});
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const CLIENTS = ['10.1.0.5', '10.2.0.1', '10.9.9.9', '192.168.1.1'];
const PATHS = ['/catalog/x', '/orders/1', '/internal/', '/status/', '/admin/', '/admin/public/x'];

function explain(method: string, path: string, from: string) {
  return explainCompiled(result, explainRequest(result.ir!, { method, url: `http://api.example.com${path}`, port: 80, from, headers: {} }));
}

describe('explain with a method and --from on limit_except', () => {
  test('nginx and Envoy agree on every method, client and path', () => {
    const disagree: string[] = [];
    for (const path of PATHS) for (const method of METHODS) for (const from of CLIENTS) {
      const doc = explain(method, path, from);
      if (!doc.agree) disagree.push(`${method} ${path} from ${from}: ${doc.differences.join('; ')}`);
    }
    expect(disagree).toEqual([]);
  });

  test('the answers are the ones nginx gives', () => {
    const status = (method: string, path: string, from: string): string => {
      const o = explain(method, path, from).nginx.outcome;
      return o.kind === 'proxy' ? 'proxied' : String(o.status);
    };
    expect(METHODS.map((m) => status(m, '/catalog/x', '10.9.9.9'))).toEqual(['proxied', 'proxied', '403', '403', '403', '403', '403']);
    expect(['GET', 'POST', 'PUT'].map((m) => status(m, '/orders/1', '10.1.0.5'))).toEqual(['proxied', 'proxied', 'proxied']);
    expect(['GET', 'POST', 'PUT'].map((m) => status(m, '/orders/1', '10.9.9.9'))).toEqual(['proxied', 'proxied', '403']);
    expect(['GET', 'PUT'].map((m) => status(m, '/internal/', '10.9.9.9'))).toEqual(['proxied', 'proxied']);
    expect(['GET', 'PUT'].map((m) => status(m, '/internal/', '192.168.1.1'))).toEqual(['403', '403']);
    expect(['GET', 'HEAD', 'POST'].map((m) => status(m, '/status/', '10.9.9.9'))).toEqual(['200', '200', '403']);
    // auth_basic inside the block, without a users file in effect: nginx asks PUT for nothing, as the model knows.
    expect(explain('PUT', '/admin/', '10.2.0.1').nginx.uncertain).toEqual([]);
    expect(status('PUT', '/admin/', '10.2.0.1')).toBe('proxied');
    expect(explain('GET', '/admin/', '10.2.0.1').nginx.uncertain).toEqual([]);
    expect(['GET', 'PUT'].map((m) => status(m, '/admin/', '10.9.9.9'))).toEqual(['proxied', '403']);
    expect(['PUT', 'DELETE'].map((m) => status(m, '/admin/public/x', '10.9.9.9'))).toEqual(['proxied', 'proxied']);
  });
});
