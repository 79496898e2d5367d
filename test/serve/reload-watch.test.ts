// Reload on file changes (src/serve/watcher.ts and the reload in
// src/serve/index.ts): a burst of events (an editor's rename-write, `cp`'s
// truncate-then-write) is one reload of the complete file; an empty file is
// held back while the rest of the write may follow; a write that changes no
// byte loads nothing; a load during which the file changed is never
// installed. Behaviour only: the tests wait on events, never on durations.
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServe, type ReloadOutcome, type ServeHandle } from '../../src/serve/index.js';
import type { Snapshot } from '../../src/serve/snapshot.js';
import { hashInputs } from '../../src/serve/watcher.js';
import { waitForEvent } from './helpers/ads-client.js';

const ROUTES = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';

/** A config with one server per name, each to its own upstream port. */
function conf(names: string[]): string {
  const servers = names.map((n, i) => `    upstream ${n} { server 127.0.0.1:${9000 + i}; }\n    server { listen 8080; server_name ${n}.example.com; location / { proxy_pass http://${n}; } }`);
  return `events {}\nhttp {\n${servers.join('\n')}\n}\n`;
}

/** The server names a snapshot routes (the domains of its route configurations). */
function domains(snapshot: Snapshot | null): string[] {
  const routes = snapshot?.profiles.envoy.get(ROUTES)?.resources.values() ?? [];
  const out: string[] = [];
  for (const r of routes) for (const vh of (r.json['virtual_hosts'] ?? []) as { domains: string[] }[]) out.push(...vh.domains);
  return out.filter((d) => d.endsWith('.example.com')).sort();
}

function tempConf(text: string): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngx2envoy-watch-'));
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, text);
  return { dir, file };
}

/** Records every reload start, outcome and installed snapshot of a handle. */
function record(handle: ServeHandle) {
  const seen = { starts: 0, outcomes: [] as ReloadOutcome[], snapshots: [] as string[][] };
  handle.on('reload-start', () => (seen.starts += 1));
  handle.on('reload', (o: ReloadOutcome) => seen.outcomes.push(o));
  handle.xds.on('snapshot', (s: Snapshot) => seen.snapshots.push(domains(s)));
  return seen;
}

describe('reload on file changes', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function serve(text: string, extra: { partialWriteGraceMs?: number } = {}) {
    const { dir, file } = tempConf(text);
    const handle = await startServe(file, { xdsAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', log: () => {}, ...extra });
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => handle.close());
    return { dir, file, handle, seen: record(handle) };
  }

  it('loads an editor rename-write and a truncate-then-write burst once each, complete', async () => {
    const { dir, file, handle, seen } = await serve(conf(['a']));
    expect(domains(handle.xds.snapshot())).toEqual(['a.example.com']);

    // Write-to-temp and rename over the file (what most editors do), with a backup file on the side.
    const reloaded = waitForEvent<ReloadOutcome>(handle, 'reload');
    fs.writeFileSync(path.join(dir, 'nginx.conf~'), conf(['a']));
    fs.writeFileSync(path.join(dir, '.nginx.conf.swp'), 'x');
    fs.writeFileSync(path.join(dir, 'nginx.conf.tmp'), conf(['a', 'b']));
    fs.renameSync(path.join(dir, 'nginx.conf.tmp'), file);
    expect(await reloaded).toMatchObject({ ok: true, changed: true });
    expect(domains(handle.xds.snapshot())).toEqual(['a.example.com', 'b.example.com']);
    expect(seen.starts).toBe(1);

    // Truncate, then write in pieces (`cp`, `>`): the half-written file is never loaded.
    const again = waitForEvent<ReloadOutcome>(handle, 'reload');
    const text = conf(['a', 'b', 'c']);
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, text.slice(0, text.length >> 1));
    fs.writeSync(fd, text.slice(text.length >> 1));
    fs.closeSync(fd);
    expect(await again).toMatchObject({ ok: true, changed: true });
    expect(seen.starts).toBe(2);
    expect(handle.reloadStatus().failures).toBe(0);
    expect(seen.snapshots).toEqual([
      ['a.example.com', 'b.example.com'],
      ['a.example.com', 'b.example.com', 'c.example.com'],
    ]);
  });

  it('holds back a file left empty while the rest of the write may follow', async () => {
    // A long grace: the test finishes the write as soon as the watcher says it is waiting.
    const { file, handle, seen } = await serve(conf(['a', 'b']), { partialWriteGraceMs: 60_000 });
    const deferred = waitForEvent(handle, 'reload-deferred');
    fs.writeFileSync(file, '');
    await deferred;
    const reloaded = waitForEvent<ReloadOutcome>(handle, 'reload');
    fs.writeFileSync(file, conf(['b']));
    expect(await reloaded).toMatchObject({ ok: true, changed: true });
    expect(seen.starts).toBe(1);
    expect(seen.snapshots).toEqual([['b.example.com']]);
  });

  it('takes an empty file once the grace has passed (the user emptied it)', async () => {
    const { file, handle, seen } = await serve(conf(['a']), { partialWriteGraceMs: 1 });
    const reloaded = waitForEvent<ReloadOutcome>(handle, 'reload');
    fs.writeFileSync(file, '');
    expect(await reloaded).toMatchObject({ ok: true, changed: true });
    expect(seen.snapshots).toEqual([[]]);
  });

  it('loads nothing for a write that changes no byte, and still reloads the next real change', async () => {
    const { dir, file, handle, seen } = await serve(conf(['a']));
    const version = handle.xds.snapshot()!.version;
    const same = waitForEvent<ReloadOutcome>(handle, 'reload');
    fs.writeFileSync(path.join(dir, 'nginx.conf.tmp'), conf(['a']));
    fs.renameSync(path.join(dir, 'nginx.conf.tmp'), file);
    expect(await same).toEqual({ ok: true, changed: false, version, errors: [], inputsUnchanged: true });
    expect(seen.starts).toBe(0);
    expect(seen.snapshots).toEqual([]);

    const changed = waitForEvent<ReloadOutcome>(handle, 'reload');
    fs.writeFileSync(file, conf(['a', 'd']));
    expect(await changed).toMatchObject({ ok: true, changed: true });
    expect(seen.starts).toBe(1);
    expect(domains(handle.xds.snapshot())).toEqual(['a.example.com', 'd.example.com']);
  });

  it('loads a new file a glob include picks up, though no known input changed', async () => {
    const { dir, file } = tempConf('events {}\nhttp {\n    include conf.d/*.conf;\n}\n');
    fs.mkdirSync(path.join(dir, 'conf.d'));
    const site = (n: string) => `server { listen 8080; server_name ${n}.example.com; location / { return 204; } }\n`;
    fs.writeFileSync(path.join(dir, 'conf.d/a.conf'), site('a'));
    const handle = await startServe(file, { xdsAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', log: () => {} });
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => handle.close());
    expect(domains(handle.xds.snapshot())).toEqual(['a.example.com']);
    const added = waitForEvent<ReloadOutcome>(handle, 'reload');
    fs.writeFileSync(path.join(dir, 'conf.d/b.conf'), site('b'));
    expect(await added).toMatchObject({ ok: true, changed: true });
    expect(domains(handle.xds.snapshot())).toEqual(['a.example.com', 'b.example.com']);
  });

  it('never installs a load during which the file was written again', async () => {
    const { file, handle, seen } = await serve(conf(['a']));
    // The load reads a partial file ([a, b]); the rest of the write ([a, b, c]) lands while it runs.
    handle.once('reload-start', () => {
      fs.writeFileSync(file, conf(['a', 'b']));
      setImmediate(() => fs.writeFileSync(file, conf(['a', 'b', 'c'])));
    });
    const reloaded = waitForEvent<ReloadOutcome>(handle, 'reload');
    fs.writeFileSync(file, conf(['a', 'z']));
    expect(await reloaded).toMatchObject({ ok: true, changed: true });
    expect(seen.starts).toBe(2);
    expect(seen.snapshots).toEqual([['a.example.com', 'b.example.com', 'c.example.com']]);
  });

  it('hashes the inputs by content and path', () => {
    const { dir, file } = tempConf('a');
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const other = path.join(dir, 'other.conf');
    const before = hashInputs([file, other]);
    expect(hashInputs([other, file])).toBe(before);
    fs.writeFileSync(other, '');
    expect(hashInputs([file, other])).not.toBe(before); // missing ≠ empty
    fs.writeFileSync(file, 'b');
    expect(hashInputs([file])).not.toBe(hashInputs([other]));
  });
});
