// The benchmark's generated configuration: deterministic, of the promised
// shape and size, accepted by real `nginx -t`, and clean under analysis.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, generateConfig } from '../../bench/generate.mjs';
import { analyze } from '../../src/analyze/index.js';
import { parseText } from '../../src/parse/index.js';
import { nginxAvailable, nginxTest } from '../support/nginx.js';

const text: string = generateConfig();
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('bench/generate.mjs', () => {
  it('is deterministic', () => {
    expect(sha(generateConfig())).toBe(sha(text));
    expect(sha(generateConfig({ seed: DEFAULTS.seed + 1 }))).not.toBe(sha(text));
  });

  it('has the promised shape and size', () => {
    const config = parseText(text, 'bench.conf');
    expect(config.errors).toEqual([]);
    const http = config.root.find((s) => s.kind === 'directive' && s.name === 'http');
    const body = http?.kind === 'directive' ? (http.block ?? []) : [];
    const named = (name: string) => body.filter((s) => s.kind === 'directive' && s.name === name);
    const servers = named('server');
    expect(servers).toHaveLength(2000);
    expect(named('upstream')).toHaveLength(2000);
    const map = named('map')[0];
    expect(map?.kind === 'directive' && map.block!.filter((e) => e.kind === 'directive' && e.name !== 'default' && e.name !== 'hostnames')).toHaveLength(2000);
    for (const server of servers) {
      const locations = server.kind === 'directive' ? server.block!.filter((s) => s.kind === 'directive' && s.name === 'location') : [];
      expect(locations).toHaveLength(10);
    }
    const bytes = Buffer.byteLength(text);
    expect(bytes).toBeGreaterThan(6.5e6);
    expect(bytes).toBeLessThan(7.5e6);
    expect(analyze(config, { strict: true })).toEqual([]);
  });

  it.skipIf(!nginxAvailable())('is accepted by real nginx -t', { timeout: 120_000 }, () => {
    const r = nginxTest(text);
    expect(r.stderr).not.toMatch(/\[(emerg|warn)\]/);
    expect(r.status).toBe(0);
  });
});
