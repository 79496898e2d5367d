// Makes a fixture runnable by the real nginx the tests start: the same routing,
// but every listen on 127.0.0.1:<free port>, every backend an echo server of its
// own, and each server and location tagged with a response header naming its IR
// id. Edits are made at the positions the IR and the report give, so what runs
// is the fixture itself, not a re-rendering of it.
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CompiledConfig, Src } from '../../src/ir/types.js';
import type { ReportEntry } from '../../src/ir/types.js';

export const LOC_HEADER = 'x-ngx2envoy-loc';
export const SERVER_HEADER = 'x-ngx2envoy-server';

export interface Adapted {
  /** The adapted main config path. */
  confPath: string;
  /** IR listener name → the 127.0.0.1 port nginx listens on for it now. */
  ports: Map<string, number>;
  /** Echo port → backend (cluster) name. */
  backendByEcho: Map<number, string>;
}

export type Edit = { offset: number; end: number; text: string };

class Files {
  private texts = new Map<string, string>();
  private edits = new Map<string, Edit[]>();
  constructor(private readonly root: string) {}
  text(file: string): string {
    let t = this.texts.get(file);
    if (t === undefined) {
      t = readFileSync(join(this.root, file), 'utf8');
      this.texts.set(file, t);
    }
    return t;
  }
  offset(at: Src): number {
    const lines = this.text(at.file).split('\n');
    let off = 0;
    for (let i = 0; i < at.line - 1; i++) off += lines[i]!.length + 1;
    return off + at.col - 1;
  }
  edit(file: string, e: Edit): void {
    const list = this.edits.get(file) ?? [];
    list.push(e);
    this.edits.set(file, list);
  }
  flush(): void {
    for (const [file, list] of this.edits) writeFileSync(join(this.root, file), applyEdits(this.text(file), list));
  }
}

/**
 * The text with its edits applied, every offset read against the original text.
 * The same edit may be asked for twice (two locations sharing one proxy_pass: a
 * `try_files … @app` location takes @app's handling): it is made once. An edit
 * inside a span another edit replaces goes with that span (a dropped block takes
 * its inserted headers with it). Insertions at one offset keep their order.
 * A partial overlap is the adapter's own bug: it throws rather than write a
 * config that differs from the fixture in some random, port-length-dependent way.
 */
export function applyEdits(text: string, edits: Edit[]): string {
  const seen = new Set<string>();
  const unique = edits.filter((e) => {
    const key = `${e.offset} ${e.end} ${e.text}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  const ordered = unique
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.offset - b.e.offset || (a.e.end - a.e.offset) - (b.e.end - b.e.offset) || a.i - b.i)
    .map((x) => x.e);
  const spans = ordered.filter((e) => e.end > e.offset);
  // An insertion strictly inside a replaced span, or a replacement within a wider one.
  const inside = (e: Edit) =>
    spans.some((s) =>
      e.end === e.offset
        ? s.offset < e.offset && e.offset < s.end
        : s !== e && s.offset <= e.offset && e.end <= s.end && s.end - s.offset > e.end - e.offset,
    );
  let out = '';
  let pos = 0;
  for (const e of ordered.filter((x) => !inside(x))) {
    if (e.offset < pos) throw new Error(`adapter edits overlap at offset ${e.offset}: ${JSON.stringify(text.slice(e.offset, e.end))}`);
    out += text.slice(pos, e.offset) + e.text;
    pos = e.end;
  }
  return out + text.slice(pos);
}

/** Offset of the first `stop` character at or after `from`, outside quotes and comments. */
function scanTo(text: string, from: number, stop: string): number {
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && /\s/.test(text[i - 1] ?? '\n')) i = text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i);
    else if (c === '$' && text[i + 1] === '{') i = Math.max(i, text.indexOf('}', i)); // `${var}` is part of a word
    else if (stop.includes(c)) return i;
  }
  return -1;
}

/** End offset (exclusive) of the directive starting at `from`: after its `;`, or after its block's `}`. */
function directiveEnd(text: string, from: number): number {
  const stop = scanTo(text, from, ';{');
  if (stop < 0 || text[stop] === ';') return stop + 1;
  let depth = 1;
  let i = stop + 1;
  while (depth > 0) {
    const next = scanTo(text, i, '{}');
    if (next < 0) return text.length;
    depth += text[next] === '{' ? 1 : -1;
    i = next + 1;
  }
  return i;
}

/** The arguments of the directive at `at` (name skipped) as [start, end) offsets of the text before `;`. */
function argsRange(files: Files, at: Src): { start: number; end: number; args: string[] } {
  const text = files.text(at.file);
  const begin = files.offset(at);
  const nameEnd = begin + (/^\S+/.exec(text.slice(begin))?.[0].length ?? 0);
  const end = scanTo(text, nameEnd, ';');
  return { start: nameEnd, end, args: text.slice(nameEnd, end).trim().split(/\s+/) };
}

export interface AdaptInput {
  fixtureDir: string;
  mainFile: string; // relative to fixtureDir
  workDir: string;
  ir: CompiledConfig;
  report: ReportEntry[];
  freePort: () => Promise<number>;
  /** nginx binary for `nginx -t` (to drop what it lacks); none: no check. */
  nginxBin?: string;
}

export async function adaptForNginx(input: AdaptInput): Promise<Adapted> {
  cpSync(input.fixtureDir, input.workDir, { recursive: true });
  const base = dirname(join(input.workDir, input.mainFile));
  const files = new Files(base);
  const { ir, report } = input;

  // Listens: each IR listener (address:port) gets a port of its own on 127.0.0.1, so
  // every listener keeps exactly its own servers; listens on unix sockets go.
  const ports = new Map<string, number>();
  for (const l of ir.listeners) ports.set(l.name, await input.freePort());
  const listenerAt = (e: Src) => ir.listeners.find((l) => l.sources.some((x) => x.file === e.file && x.line === e.line && x.col === e.col));
  const listened = new Set<string>();
  const serverOf = (e: Src) =>
    [...ir.servers].reverse().find((s) => s.source.file === e.file && (s.source.line < e.line || (s.source.line === e.line && s.source.col < e.col)));
  for (const e of report.filter((x) => x.directive === 'listen')) {
    const r = argsRange(files, e);
    const listener = listenerAt(e);
    const server = serverOf(e);
    const key = `${server?.id} ${listener?.name}`;
    if (!listener || listened.has(key)) {
      files.edit(e.file, { offset: files.offset(e), end: r.end + 1, text: '' });
      continue;
    }
    listened.add(key);
    if (server) listened.add(server.id);
    const isDefault = r.args.includes('default_server') || r.args.includes('default');
    files.edit(e.file, { offset: r.start, end: r.end, text: ` 127.0.0.1:${ports.get(listener.name)}${isDefault ? ' default_server' : ''}` });
  }
  // A server without listen is on nginx's default listen (*:80, or *:8000 when not root): say which.
  for (const s of ir.servers) {
    if (listened.has(s.id)) continue;
    const brace = scanTo(files.text(s.source.file), files.offset(s.source), '{');
    const text = s.listenerNames.map((n) => ` listen 127.0.0.1:${ports.get(n)};`).join('');
    files.edit(s.source.file, { offset: brace + 1, end: brace + 1, text });
  }

  // The ssl listens run in plain text here, but `if ($scheme …)` routes: in a server
  // only on ssl listens, the ifs test a variable that says `https`, as $scheme would.
  for (const s of ir.servers) {
    const listeners = ir.listeners.filter((l) => s.listenerNames.includes(l.name));
    if (!listeners.length || !listeners.every((l) => l.ssl)) continue;
    const inServer = (e: ReportEntry) => serverOf(e)?.id === s.id && e.directive === 'if';
    const ifs = report.filter(inServer);
    if (!ifs.length) continue;
    const brace = scanTo(files.text(s.source.file), files.offset(s.source), '{');
    files.edit(s.source.file, { offset: brace + 1, end: brace + 1, text: ' set $ngx2envoy_scheme https;' });
    for (const e of ifs) {
      const text = files.text(e.file);
      const start = files.offset(e);
      const open = scanTo(text, start, '{');
      for (const m of text.slice(start, open).matchAll(/\$scheme\b/g)) {
        files.edit(e.file, { offset: start + m.index, end: start + m.index + '$scheme'.length, text: '$ngx2envoy_scheme' });
      }
    }
  }

  // Backends: each gets an echo port; upstream servers and inline targets point at it.
  const backendByEcho = new Map<number, string>();
  const echoOf = new Map<string, number>();
  for (const b of ir.backends) {
    const port = await input.freePort();
    backendByEcho.set(port, b.name);
    echoOf.set(b.name, port);
    if (b.kind !== 'upstream') continue;
    for (const s of b.servers) {
      const r = argsRange(files, s.source);
      // max_fails=0: a request the echo cannot serve (gRPC to an HTTP/1 echo) must not take the
      // upstream's servers (all this one echo) out for the requests that follow.
      const flags = r.args.slice(1).filter((a) => a !== 'resolve' && !a.startsWith('service=') && !a.startsWith('max_fails='));
      files.edit(s.source.file, { offset: r.start, end: r.end, text: ` 127.0.0.1:${port} ${[...flags, 'max_fails=0'].join(' ')}` });
    }
  }
  const visit = (locs: CompiledConfig['servers'][number]['locations']) => {
    for (const l of locs) {
      if (l.action.kind === 'static' && /proxy_pass/.test(l.action.reason) && l.action.source) {
        // proxy_pass with variables resolves names per request (DNS): answer instead, the location is what is tested.
        const r = argsRange(files, l.action.source);
        files.edit(l.action.source.file, { offset: files.offset(l.action.source), end: r.end + 1, text: 'return 599;' });
      }
      if (l.action.kind === 'proxy') {
        const backend = ir.backends.find((b) => b.name === (l.action as { backend: string }).backend);
        const r = argsRange(files, l.action.source);
        const uri = l.action.uri?.raw ?? '';
        const grpc = l.action.scheme.startsWith('grpc');
        const target =
          backend?.kind === 'inline'
            ? `${grpc ? 'grpc' : 'http'}://127.0.0.1:${echoOf.get(backend.name)}${uri}`
            : r.args[0]!.replace(/^https:/, 'http:').replace(/^grpcs:/, 'grpc:');
        files.edit(l.action.source.file, { offset: r.start, end: r.end, text: ` ${target}` });
      }
      const text = files.text(l.source.file);
      const brace = scanTo(text, files.offset(l.source), '{');
      files.edit(l.source.file, { offset: brace + 1, end: brace + 1, text: ` add_header ${LOC_HEADER} "${l.id}" always;` });
      visit(l.children);
    }
  };
  for (const s of ir.servers) {
    const brace = scanTo(files.text(s.source.file), files.offset(s.source), '{');
    files.edit(s.source.file, { offset: brace + 1, end: brace + 1, text: ` add_header ${SERVER_HEADER} "${s.id}" always;` });
    visit(s.locations);
  }

  // Process-level paths: the test's own prefix, not /var. TLS settings go with the
  // ssl listens (certificates may not exist here; nginx routes by Host, not by them).
  // proxy_ssl_*/grpc_ssl_* go too: https:// targets become http:// echo backends below, and nginx
  // reads some of their files (proxy_ssl_password_file) while parsing.
  const dropped = (d: string) => ['pid', 'error_log', 'access_log', 'user', 'ssl', 'load_module'].includes(d) || d.startsWith('ssl_') || d.startsWith('proxy_ssl_') || d.startsWith('grpc_ssl_');
  for (const e of report.filter((x) => dropped(x.directive))) {
    const r = argsRange(files, e);
    files.edit(e.file, { offset: files.offset(e), end: r.end + 1, text: '' });
  }
  // Files: explain reads try_files as if none of the files exist (it cannot see a disk);
  // a root that does not exist makes nginx see the same, whatever this machine has in /var/www.
  for (const e of report.filter((x) => x.directive === 'root')) {
    const r = argsRange(files, e);
    files.edit(e.file, { offset: r.start, end: r.end, text: ` ${join(input.workDir, 'no-such-root')}` });
  }
  const http = report.find((e) => e.directive === 'http');
  if (http) {
    const brace = scanTo(files.text(http.file), files.offset(http), '{');
    const paths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `${k}_temp_path tmp/${k};`).join(' ');
    files.edit(http.file, { offset: brace + 1, end: brace + 1, text: ` access_log off; ${paths}` });
  }
  const main = input.mainFile;
  files.edit(main, { offset: 0, end: 0, text: `pid nginx.pid; error_log error.log info;${report.some((e) => e.directive === 'events') ? '' : ' events {}'}\n` });
  files.flush();
  const confPath = join(input.workDir, input.mainFile);
  dropWhatThisNginxLacks(input, files, confPath);
  return { confPath, ports, backendByEcho };
}

/**
 * Third-party modules (brotli, geoip…) are not in Debian's nginx: directives it
 * does not know, and directives using variables it does not know, are removed
 * (they do not route), as `nginx -t` names them.
 */
function dropWhatThisNginxLacks(input: AdaptInput, files: Files, confPath: string): void {
  if (!input.nginxBin) return;
  for (let round = 0; round < 8; round++) {
    const r = spawnSync(input.nginxBin, ['-t', '-q', '-p', input.workDir, '-c', confPath, '-e', '/dev/stderr'], { encoding: 'utf8' });
    if (r.status === 0) return;
    const directive = /unknown directive "([^"]+)"/.exec(r.stderr)?.[1];
    const variable = /unknown "([^"]+)" variable/.exec(r.stderr)?.[1];
    if (!directive && !variable) return; // let startNginxAt report it
    for (const e of input.report) {
      const start = files.offset(e);
      const end = directiveEnd(files.text(e.file), start);
      const text = files.text(e.file).slice(start, end);
      // A variable is dropped with the simple directive using it, never with the block around it.
      const stopAt = scanTo(files.text(e.file), start, ';{');
      const simple = stopAt >= 0 && files.text(e.file)[stopAt] === ';';
      if (e.directive === directive || (variable && simple && new RegExp(`\\$\\{?${variable}\\b`).test(text))) {
        files.edit(e.file, { offset: start, end, text: '' });
      }
    }
    files.flush();
  }
}

/** Runs nginx on an adapted config in place (so its relative includes resolve), until stop(). */
export async function startNginxAt(
  workDir: string,
  confPath: string,
  ports: number[],
  bin: string,
): Promise<{ stop(): Promise<void>; errorLog(): string }> {
  const { spawn } = await import('node:child_process');
  const { mkdirSync, readFileSync: read } = await import('node:fs');
  const { connect } = await import('node:net');
  mkdirSync(join(workDir, 'tmp'), { recursive: true });
  const child = spawn(bin, ['-p', workDir, '-c', confPath, '-e', join(workDir, 'error.log'), '-g', 'daemon off; master_process off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  const errorLog = () => {
    try {
      return read(join(workDir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const open = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
  const ready = (async () => {
    for (let i = 0; i < 400; i++) {
      if ((await Promise.all(ports.map(open))).every(Boolean)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`nginx did not open ${ports.join(', ')}`);
  })();
  try {
    await Promise.race([ready, exited.then((code) => Promise.reject(new Error(`nginx exited with ${code}: ${stderr}${errorLog()}`)))]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop, errorLog };
}
