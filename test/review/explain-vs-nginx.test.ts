// `explain` on the fixtures, held to real nginx: each fixture runs in nginx
// (adapted: loopback ports, echo backends, a header naming each server and
// location), and for every request of a differential set derived from the
// config (each location's path and neighbours, each server name, other hosts,
// case variants, queries, doubled slashes) explain's nginx column must be what
// nginx did (server, location, backend, upstream URI, status), and its verdict
// must be right: AGREE only where the Envoy route it names sends the request to
// the location and backend nginx used.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import type { CompiledConfig, Location } from '../../src/ir/types.js';
import { explainCompiled, explainRequest, type ExplainDocument } from '../../src/review/explain.js';
import { backendOfCluster } from '../../src/lower/upstream.js';
import { probeAddress, probesFor, type Probe } from '../../src/review/probes.js';
import { NGINX_BIN } from '../support/nginx.js';
import { portAllocator } from '../sim/nginx/ports.js';
import { probe, startEchoBackends, type ProbeResponse } from '../support/http-probe.js';
import { adaptForNginx, LOC_HEADER, SERVER_HEADER, startNginxAt } from './nginx-adapt.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAX_REQUESTS = 500;

interface Case {
  name: string;
  dir: string;
  main: string;
}

function cases(): Case[] {
  const out: Case[] = [{ name: 'examples/nginx.conf', dir: join(ROOT, 'examples'), main: 'nginx.conf' }];
  for (const f of ['site.conf', 'site-reordered.conf']) out.push({ name: `test/review/fixtures/${f}`, dir: join(import.meta.dirname, 'fixtures'), main: f });
  const fixtures = join(ROOT, 'fixtures');
  if (existsSync(fixtures)) {
    for (const d of readdirSync(fixtures).sort()) {
      if (existsSync(join(fixtures, d, 'nginx.conf')) && !existsSync(join(fixtures, d, 'error.txt'))) {
        out.push({ name: `fixtures/${d}`, dir: join(fixtures, d), main: 'nginx.conf' });
      }
    }
  }
  return out;
}

/** The differential request set: probes plus doubled slashes and a trailing-dot/port Host. */
function requestSet(probes: Probe[]): Probe[] {
  const extra: Probe[] = [];
  for (const p of probes) {
    if (p.path.length > 1 && p.path.indexOf('/', 1) > 0) extra.push({ ...p, path: p.path.replace(/\/(?=[^/]*$)/, '//') });
  }
  const hosts = [...new Set(probes.map((p) => p.host))].slice(0, 2);
  for (const h of hosts) for (const p of probes.filter((x) => x.host === h).slice(0, 3)) extra.push({ ...p, host: `${h}.` }, { ...p, host: `${h}:${p.port}` });
  const all = [...probes, ...extra];
  // Spread the cap over the whole set, deterministically.
  const step = Math.max(1, Math.ceil(all.length / MAX_REQUESTS));
  return all.filter((_, i) => i % step === 0);
}

/** One request; a closed connection (`return 444`) or no answer within 3 s is status 0. */
async function ask(port: number, host: string, path: string): Promise<ProbeResponse> {
  try {
    return await Promise.race([
      probe(port, host, path),
      new Promise<ProbeResponse>((resolve) => setTimeout(() => resolve({ status: 0, headers: {}, body: '' }), 3000)),
    ]);
  } catch {
    return { status: 0, headers: {}, body: '' };
  }
}

/** What real nginx did, in the terms explain uses. */
interface Observed {
  status: number;
  server: string | null;
  location: string | null;
  backend: string | null;
  upstreamPath: string | null;
  redirect: string | null;
}

function observe(res: ProbeResponse, backendByEcho: Map<number, string>): Observed {
  const location = res.headers[LOC_HEADER] ?? null;
  const backend = backendByEcho.get(Number(res.headers['x-echo-backend'] ?? NaN)) ?? null;
  return {
    status: res.status,
    server: location ? location.split('/')[0]! : (res.headers[SERVER_HEADER] ?? null),
    location,
    backend,
    upstreamPath: backend ? (JSON.parse(res.body) as { path: string }).path : null,
    redirect: res.headers.location ?? null,
  };
}

/** Where explain's nginx column differs from what nginx did (empty: it is right). */
function nginxSideErrors(doc: ExplainDocument, o: Observed, ir: CompiledConfig): string[] {
  const n = doc.nginx;
  const errors: string[] = [];
  if (o.status === 400) return n.outcome.kind === 'error' ? [] : [`nginx answers 400, explain: ${n.outcome.kind}`];
  if (o.status === 0) return n.outcome.kind === 'return' && n.outcome.status === 444 ? [] : ['nginx closes the connection'];
  // Files, try_files and error_page are not modelled (explain says so): nginx may redirect
  // internally to a named location, or (error_page URI) to any location of the server.
  const status = 'status' in n.outcome ? n.outcome.status : 0;
  const internalRedirect =
    o.server === n.server?.id &&
    ((namedLocation(ir, o.location) && (n.outcome.kind === 'static' || takesNamedHandling(n.outcome, ir, o.location))) ||
      (n.uncertain.some((u) => u.startsWith('error_page')) && status >= 400));
  if (((n.location?.id ?? null) !== o.location || n.server?.id !== o.server) && !internalRedirect) {
    errors.push(`nginx ${o.server} ${o.location ?? '(no location)'}, explain ${n.server?.id} ${n.location?.id ?? '(no location)'}`);
  }
  if (n.uncertain.length) return errors; // the model says it cannot tell the outcome here
  const out = n.outcome;
  if (out.kind === 'proxy' && out.scheme.startsWith('grpc')) return errors; // the echo backends speak HTTP/1 only
  if (out.kind === 'proxy') {
    if (o.backend !== out.backend) errors.push(`nginx ${o.backend ? 'proxies to ' + o.backend : 'answers ' + o.status}, explain: proxy to ${out.backend}`);
    else if (o.upstreamPath !== out.upstreamUri) errors.push(`nginx sends ${o.upstreamPath} upstream, explain says ${out.upstreamUri}`);
  } else if (o.backend) errors.push(`nginx proxies to ${o.backend}, explain: ${out.kind}`);
  else if (out.kind !== 'error' && o.status !== (n.reply?.status ?? out.status) && !(out.status === 444 && o.status === 0)) {
    errors.push(`nginx answers ${o.status}, explain: ${out.kind} ${n.reply?.status ?? out.status}`);
  }
  return errors;
}

function locationById(ir: CompiledConfig, id: string | null): Location | undefined {
  const find = (locs: Location[]): Location | undefined => {
    for (const l of locs) {
      if (l.id === id) return l;
      const below = find(l.children);
      if (below) return below;
    }
    return undefined;
  };
  for (const s of ir.servers) {
    const l = find(s.locations);
    if (l) return l;
  }
  return undefined;
}

function namedLocation(ir: CompiledConfig, id: string | null): boolean {
  return locationById(ir, id)?.modifier === 'named';
}

/** explain's outcome is the named location's own action (`try_files … @name` with no files): nginx gets there by internal redirect. */
function takesNamedHandling(outcome: ExplainDocument['nginx']['outcome'], ir: CompiledConfig, id: string | null): boolean {
  const action = locationById(ir, id)?.action;
  const a = action && 'source' in action ? action.source : undefined;
  const b = 'source' in outcome ? (outcome.source as { file: string; line: number; col: number } | undefined) : undefined;
  return !!a && !!b && a.file === b.file && a.line === b.line && a.col === b.col;
}

/** The cluster the IR gives the location behind an Envoy route (`fallback` when the route is no location's proxy). */
function locationCluster(ir: CompiledConfig, routeName: string | undefined, fallback: string): string {
  const id = routeName?.replace(/\/slashes$/, '');
  const find = (ls: Location[]): Location | undefined => {
    for (const l of ls) {
      if (l.id === id) return l;
      const inner = find(l.children);
      if (inner) return inner;
    }
    return undefined;
  };
  const loc = ir.servers.map((s) => find(s.locations)).find((l) => l !== undefined);
  return loc?.action.kind === 'proxy' ? loc.action.cluster : fallback;
}

/** Whether the Envoy decision explain reports takes the request where nginx did (location and cluster). */
function envoyMatches(doc: ExplainDocument, o: Observed, ir: CompiledConfig): boolean {
  const e = doc.envoy;
  // A route that takes a named location's handling (try_files … @name) is where nginx's internal redirect ends.
  const viaNamed = namedLocation(ir, o.location) && takesNamedHandling(doc.nginx.outcome, ir, o.location) && e.routeName === doc.nginx.location?.id;
  // `<location>/slashes`: the location's route repeated for a path of only slashes (`//`).
  const sameLocation = e.routeName === o.location || e.routeName === `${o.location}/slashes`;
  // The echo backends see which upstream nginx used, not over which transport (https:// is adapted to
  // http://): the cluster must be one of that upstream's, the one of the location's own transport.
  if (o.backend) return e.kind === 'route' && e.cluster !== undefined && backendOfCluster(e.cluster) === o.backend && e.cluster === locationCluster(ir, e.routeName, e.cluster) && (!o.location || sameLocation || viaNamed);
  // the status the client gets: local_reply_config may change it (an error_page redirect)
  const status = e.reply?.status ?? e.status;
  if (o.status >= 300 && o.status < 400) return (e.kind === 'redirect' || e.kind === 'direct_response') && status === o.status;
  return e.kind === 'direct_response' && status === o.status;
}

describe.skipIf(!NGINX_BIN)('explain vs real nginx on the fixtures', () => {
  for (const c of cases()) {
    it(`${c.name}: explain names the location and the cluster nginx uses`, async () => {
      const result = compile(join(c.dir, c.main));
      expect(result.ok, result.diagnostics.map((d) => d.message).join('\n')).toBe(true);
      const ir = result.ir!;
      // A stream-only fixture has no HTTP request to ask (test/differential/stream.test.ts compares its connections).
      if (ir.servers.length === 0) {
        expect(ir.stream?.servers.length, 'a fixture without http servers is a stream one').toBeGreaterThan(0);
        return;
      }
      const work = mkdtempSync(join(tmpdir(), 'ngx2envoy-explain-'));
      const adapted = await adaptForNginx({ fixtureDir: c.dir, mainFile: c.main, workDir: join(work, 'conf'), ir, report: result.report.directives, freePort: portAllocator(), nginxBin: NGINX_BIN });
      const echo = await startEchoBackends([...adapted.backendByEcho.keys()]);
      let nginx: Awaited<ReturnType<typeof startNginxAt>> | undefined;
      try {
        nginx = await startNginxAt(work, adapted.confPath, [...adapted.ports.values()], NGINX_BIN!);
        const wrong: string[] = [];
        const envoyGaps: string[] = [];
        const requests = requestSet(probesFor([ir]));
        let answered = 0;
        for (const p of requests) {
          const listener = ir.listeners.find((l) => l.port === p.port && probeAddress(l.address) === p.address)!;
          const res = await ask(adapted.ports.get(listener.name)!, p.host, p.path);
          const doc = explainCompiled(result, explainRequest(ir, { method: 'GET', url: p.path, port: p.port, address: p.address, headers: { Host: p.host } }));
          const where = `GET ${p.host} ${p.path} (listener ${listener.name})`;
          if (res.status === 0 && !(doc.nginx.outcome.kind === 'return' && doc.nginx.outcome.status === 444)) continue; // no answer to compare
          answered++;
          const o = observe(res, adapted.backendByEcho);
          for (const e of nginxSideErrors(doc, o, ir)) wrong.push(`${where}: ${e}`);
          if (o.status === 0 || o.status === 400) continue;
          if (doc.nginx.outcome.kind === 'proxy' && doc.nginx.outcome.scheme.startsWith('grpc')) continue;
          const matches = envoyMatches(doc, o, ir);
          // explain's verdict must be right: AGREE only when Envoy does what nginx did.
          if (doc.agree && !doc.nginx.uncertain.length && !matches) {
            wrong.push(`${where}: explain says AGREE, but nginx ${o.backend ?? o.status} ${o.location ?? ''} and Envoy ${doc.envoy.kind} ${doc.envoy.cluster ?? doc.envoy.status ?? ''} ${doc.envoy.routeName ?? ''}`);
          }
          if (!matches) envoyGaps.push(`${where}: nginx ${o.backend ?? o.status} (${o.location ?? o.server}), Envoy ${doc.envoy.kind} ${doc.envoy.cluster ?? doc.envoy.status ?? ''} (${doc.envoy.routeName ?? '-'}): explain ${doc.agree ? 'AGREE' : 'DISAGREE'}`);
        }
        expect(answered, 'requests nginx answered').toBeGreaterThan(requests.length / 2);
        if (envoyGaps.length) {
          // Where the compiled Envoy config takes a request elsewhere than nginx (the compiler's report
          // says why); explain must and does say DISAGREE for these. Listed for the reader.
          console.log(`${c.name}: ${envoyGaps.length} of ${answered} requests go elsewhere in Envoy:\n  ${envoyGaps.slice(0, 8).join('\n  ')}`);
        }
        expect(wrong.slice(0, 20).join('\n'), `${wrong.length} of ${answered} requests`).toBe('');
      } finally {
        await nginx?.stop();
        await echo.stop();
        rmSync(work, { recursive: true, force: true });
      }
    });
  }
});
