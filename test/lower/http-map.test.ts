// http `map` lowering: what a proxy_pass to a map variable and `if ($v)` become in the
// IR, what stays reported (with the reason), nginx's errors for a bad map.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, type CompileResult } from '../../src/compile.js';
import type { Location } from '../../src/ir/types.js';
import { compileText, reportLines } from '../edge/support.js';

const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-http-map-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function http(body: string): string {
  return `events {}\nhttp {\n${body}\n}\n`;
}

function firstLocation(r: CompileResult): Location {
  return r.ir!.servers[0]!.locations[0]!;
}

function passReason(r: CompileResult): { class: string; reason: string } {
  return reportLines(r, 'proxy_pass')[0]!;
}

describe('proxy_pass to a map variable', () => {
  test('each value is evaluated as nginx evaluates the URL: upstream, address, no resolver (502), no default (500)', () => {
    const r = compileText(
      http(`upstream grp { server 10.0.0.2:80; }
        map $http_x_t $to { a grp; b 10.0.0.3:8080; c nores; }
        server { listen 80; location / { proxy_pass http://$to; } }`),
    );
    const loc = firstLocation(r);
    const actions = Object.fromEntries(loc.dispatch!.actions.map((a) => [a.value, a.action.kind === 'proxy' ? a.action.cluster : `status ${a.action.status}`]));
    expect(actions).toEqual({ '': 'status 500', grp: 'grp', '10.0.0.3:8080': '10.0.0.3_8080', nores: 'status 502' });
    // the location's own action is the default's
    expect(loc.action).toMatchObject({ kind: 'static', status: 500 });
    expect(loc.dispatch!.map.input).toEqual({ kind: 'header', name: 'x-t' });
    expect(passReason(r).class).toBe('approximated');
  });

  test('$host and $request_method maps are translated; keys are read lowercased, `~*` kept caseless', () => {
    const r = compileText(http(`map $host $h { hostnames; .A.test 10.0.0.1:80; ~*^W 10.0.0.2:80; default 10.0.0.3:80; }
      server { listen 80; location / { proxy_pass http://$h; } }`));
    const map = firstLocation(r).dispatch!.map;
    expect(map.keys.map((k) => [k.kind, k.key, k.caseless])).toEqual([
      ['exact', 'a.test', false],
      ['wildcard-prefix', '*.a.test', false],
      ['regex', '^W', true],
    ]);
    expect(passReason(r).class).toBe('translated');
    expect(reportLines(r, 'map')[0]!.class).toBe('translated');
  });

  test('keys brought by an include inside the map are keys', () => {
    const sub = join(dir, 'inc');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'tenants.map'), 'a 10.0.0.1:80;\n~^b 10.0.0.2:80;\n');
    writeFileSync(join(sub, 'nginx.conf'), http(`map $http_x $t { include tenants.map; default 10.0.0.3:80; }\nserver { listen 80; location / { proxy_pass http://$t; } }`));
    const r = compile(join(sub, 'nginx.conf'), {});
    expect(r.ok).toBe(true);
    expect(firstLocation(r).dispatch!.map.keys.map((k) => k.key)).toEqual(['a', '^b']);
  });

  test.each([
    ['map $arg_x $t { a 10.0.0.1:80; }', /nginx finds the first argument of that name ignoring case/],
    ['map $cookie_c $t { a 10.0.0.1:80; }', /first cookie of that name ignoring case/],
    ['map $remote_addr $t { a 10.0.0.1:80; }', /reads \$remote_addr, which Envoy's route matchers cannot test/],
    ['map "$http_a$http_b" $t { a 10.0.0.1:80; }', /not one variable/],
    ['map $http_x $t { a $http_y; }', /its value `\$http_y` holds variables/],
    ['map $http_x $t { hostnames; ~^a 10.0.0.1:80; }', /with `hostnames` nginx tests its regex keys on the header without its trailing dot/],
    ['map $host $t { ~^A 10.0.0.1:80; }', /case-sensitive and names capitals/],
    ['map $http_x $t { ~(?<=a)b 10.0.0.1:80; }', /has no RE2 form/],
  ])('%s: reported, answered 502', (map, why) => {
    const r = compileText(http(`${map}\nserver { listen 80; location / { proxy_pass http://$t; } }`));
    const p = passReason(r);
    expect(p.class).toBe('unsupported');
    expect(p.reason).toMatch(why);
    expect(firstLocation(r).dispatch).toBeUndefined();
    expect(firstLocation(r).action).toMatchObject({ kind: 'static', status: 502 });
    // the map stays reported as before
    expect(reportLines(r, 'map')[0]!.class).toBe('unsupported');
  });

  test('a map variable a `set` of the server writes, or two map variables: reported', () => {
    const set = compileText(http(`map $http_x $t { a 10.0.0.1:80; }
      server { listen 80; location /x/ { set $t 10.0.0.2:80; } location / { proxy_pass http://$t; } }`));
    expect(reportLines(set, 'proxy_pass')[0]!.reason).toMatch(/a `set` in this server writes \$t/);
    const two = compileText(http(`map $http_x $h { a 10.0.0.1; } map $http_y $p { a 80; }
      server { listen 80; location / { proxy_pass http://$h:$p; } }`));
    expect(passReason(two).reason).toMatch(/it uses 2 map variables/);
  });

  test('more key groups than the route limit: reported, as before', () => {
    const keys = Array.from({ length: 70 }, (_, i) => `~^t${i}- 10.0.${i}.1:80;`).join(' ');
    const r = compileText(http(`map $http_x $t { ${keys} }\nserver { listen 80; location / { proxy_pass http://$t; } }`));
    expect(passReason(r).class).toBe('unsupported');
    expect(passReason(r).reason).toMatch(/would take 71 routes, over the limit of 64 per location/);
  });

  test("nginx's errors for a bad map, at file:line:col", () => {
    const sub = join(dir, 'bad');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'nginx.conf'), http(`map $http_x $t {\n a 10.0.0.1:80;\n A 10.0.0.2:80;\n}\nserver { listen 80; location / { proxy_pass http://$t; } }`));
    const r = compile(join(sub, 'nginx.conf'), {});
    expect(r.ok).toBe(false);
    expect(r.diagnostics[0]).toMatchObject({ message: 'conflicting parameter "A"', source: { line: 5, col: 2 } });
  });
});

describe('if on a map variable', () => {
  test('`if ($v)`, `= value`, `!= value` become map conditions; other operators stay reported', () => {
    const r = compileText(http(`map $http_user_agent $bot { default 0; ~*curl 1; }
      server { listen 80;
        if ($bot) { return 403; }
        if ($bot = 1) { return 404; }
        if ($bot != 0) { return 405; }
        if ($bot ~ 1) { return 406; }
        location / { return 200; } }`));
    const steps = r.ir!.servers[0]!.rewrites;
    expect(steps.map((s) => (s.kind === 'if' && s.condition.kind === 'map' ? s.condition.test : s.kind))).toEqual([
      { op: 'truthy' },
      { op: 'equals', value: '1' },
      { op: 'differs', value: '0' },
      'unsupported',
    ]);
    const ifs = reportLines(r, 'if');
    expect(ifs.map((i) => i.class)).toEqual(['approximated', 'approximated', 'approximated', 'unsupported']);
    expect(ifs[3]!.reason).toMatch(/condition `\$bot ~ 1` on the map variable \$bot/);
  });
});
