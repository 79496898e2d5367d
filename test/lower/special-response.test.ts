// nginx's page table against real nginx: `return CODE;` for every status 200..599 (444,
// 408 and 499 close the connection) with server_tokens on and off; the page and the
// Content-Type nginx sends must be what nginxPage gives, and no page where it sends none.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect } from 'node:net';
import { nginxPage, PAGE_STATUSES } from '../../src/lower/special-response.js';
import { freePorts, nginxAvailable, startNginx, testConfig, type NginxInstance } from '../support/nginx.js';

const CLOSING = new Set([408, 444, 499]);
const CODES = Array.from({ length: 400 }, (_, i) => 200 + i).filter((c) => !CLOSING.has(c));

function get(port: number, path: string): Promise<{ statusLine: string; contentType: string | null; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = text.slice(0, end).split('\r\n');
      const type = head.find((l) => /^content-type:/i.test(l));
      resolve({ statusLine: head[0]!, contentType: type ? type.slice(type.indexOf(':') + 1).trim() : null, body: text.slice(end + 4) });
    });
    s.write(`GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
  });
}

describe.skipIf(!nginxAvailable())('nginx special-response pages', () => {
  let nginx: NginxInstance;
  let ports: number[];

  beforeAll(async () => {
    ports = await freePorts(2);
    const locs = CODES.map((c) => `    location = /c${c} { return ${c}; }`).join('\n');
    const body = `  server {\n    listen 127.0.0.1:${ports[0]};\n${locs}\n  }\n  server {\n    listen 127.0.0.1:${ports[1]};\n    server_tokens off;\n${locs}\n  }\n`;
    nginx = await startNginx((prefix) => testConfig(prefix, body), ports);
  });

  afterAll(async () => {
    await nginx?.stop();
  });

  test('every status: the page (or none) and text/html, with server_tokens on and off', async () => {
    const wrong: string[] = [];
    const paged: number[] = [];
    for (const [port, tokens] of [[ports[0]!, 'on'], [ports[1]!, 'off']] as const) {
      for (const c of CODES) {
        const r = await get(port, `/c${c}`);
        // 494..498 are answered with another status line (400, and 498's 404 page): not pages for their own status
        if (c >= 494 && c <= 498) continue;
        const want = nginxPage(c, tokens);
        const body = r.contentType === 'text/html' ? r.body : null;
        if (body !== want) wrong.push(`${tokens} ${c}: nginx ${JSON.stringify(r.body.slice(0, 60))} (${r.contentType}), table ${JSON.stringify(want?.slice(0, 60) ?? null)}`);
        if (want && tokens === 'on') paged.push(c);
      }
    }
    expect(wrong).toEqual([]);
    expect(paged).toEqual([...PAGE_STATUSES]);
  });
});
